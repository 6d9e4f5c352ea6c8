// Issue 11, section 2: a "fail" verdict means the kernel broke a clause.
// Resources used by others, the user's deadline, a busy machine and harness
// faults are skips, timeouts or errors, and the exit status tells them apart.

import CHinix
import Foundation
import HinixConformance
import Testing
import ToolTestSupport

#if canImport(Glibc)
  import Glibc
#endif

private let isRoot = geteuid() == 0
private let hinixPath = toolDirectory + "/hinix"

/// Decodes the JSON report a run printed.
private func report(_ result: ToolResult) throws -> ConformanceReport {
  try JSONDecoder().decode(ConformanceReport.self, from: Data(result.stdout))
}

/// Whether process `pid` is gone (or a zombie waiting to be reaped).
private func isGone(_ pid: pid_t) -> Bool {
  guard kill(pid, 0) == 0 else { return true }
  let text = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
  return text.split(separator: ")").last?.split(separator: " ").first == "Z"
}

/// Runs `hinix` with `arguments` and standard output on /dev/full.
private func runToFullDisk(_ arguments: [String]) async throws -> ToolResult {
  try await onThread {
    try runExecutable("/bin/sh", ["-c", "exec \"$0\" \"$@\" >/dev/full", hinixPath] + arguments)
  }
}

/// Runs `hinix` with `arguments` as the user nobody (65534).
private func runAsNobody(_ arguments: [String], timeout: Duration = .seconds(60)) async throws -> ToolResult {
  try await onThread {
    try runExecutable(
      "/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", hinixPath] + arguments, timeout: timeout)
  }
}

@Suite("hinix conform verdicts: fail only when the kernel broke a clause", .timeLimit(.minutes(5)))
struct VerdictTests {
  @Test("Self-test checks, which fail by design, run only when named exactly: no prefix or glob selects them")
  func selfTestsOnlyByName() {
    for filter in ["*", "S", "SELF", "SELFTEST-", "SELFTEST-*", "*HANG", "?ELFTEST-HANG", ""] {
      let names = Registry.checks(matching: filter).map(\.name)
      #expect(!names.contains { $0.hasPrefix("SELFTEST-") }, "--filter \(filter.debugDescription) selects \(names.filter { $0.hasPrefix("SELFTEST-") })")
    }
    #expect(Registry.checks(matching: "SELFTEST-HANG").map(\.name) == ["SELFTEST-HANG"])
    #expect(Registry.checks(matching: "SELFTEST-HOLD").map(\.name) == ["SELFTEST-HOLD"])
  }

  @Test(
    "A check that cannot get the queue it needs (RLIMIT_MSGQUEUE used up) is skipped with the limit, not failed",
    .enabled(if: isRoot, "needs root for the private namespaces"),
    arguments: ["MQ-OV-MSG_DEFAULT", "MQ-FS-MOUNT"])
  func resourceShortageIsSkip(_ check: String) async throws {
    // 20,000 bytes: too few for a queue of the default 10 × 8192, which the
    // check needs, as when the user's other queues hold most of 819,200.
    let result = try await onThread {
      try runExecutable(
        "/usr/bin/prlimit", ["--msgqueue=20000", hinixPath, "conform", "--filter", check, "--format", "json", "--quiet"])
    }
    #expect(result.status == 0, "\(result)")
    let results = try report(result).results
    #expect(results.map(\.verdict) == ["skip"], "\(results)")
    #expect(results.first?.detail?.contains("RLIMIT_MSGQUEUE") == true, "\(results)")
    #expect(results.first?.detail?.contains("bytes are left") == true, "\(results)")
  }

  @Test("A deadline too short to judge anything gives timeouts and exit status 2, never a fail", .enabled(if: isRoot))
  func timeoutIsNotFailure() async throws {
    let result = try await run("hinix", ["conform", "--filter", "MQ-SEND", "--timeout", "0.001", "--format", "json", "--quiet"])
    #expect(result.status == 2, "\(result)")
    let decoded = try report(result)
    #expect(decoded.summary.fail == 0 && decoded.summary.timeout > 0, "\(decoded.summary)")
    #expect(decoded.results.allSatisfy { $0.verdict == "timeout" || $0.verdict == "pass" })
    #expect(decoded.results.filter { $0.verdict == "timeout" }.allSatisfy { $0.detail?.contains("--timeout") == true })
  }

  @Test("An --output that cannot be written is said before the run, in one line, with exit status 2")
  func unwritableOutputBeforeRun() async throws {
    // Progress lines ("[1/161] …") would show any check that ran first.
    let result = try await run("hinix", ["conform", "--output", "/nonexistent/dir/report.json"])
    #expect(result.status == 2, "\(result)")
    #expect(result.errorLines.count == 1 && result.err.contains("/nonexistent/dir/report.json"), "\(result)")
    #expect(!result.err.contains("[1/"), "checks ran before the output was tried: \(result)")
  }

  @Test(
    "A report, listing or help that cannot be written (a full disk) fails the command in one line",
    arguments: [["conform", "--filter", "MQ-SEND-OK", "--format", "json", "--quiet"], ["conform", "--list"], ["conform", "--help"]])
  func writeErrorsFail(_ arguments: [String]) async throws {
    let result = try await runToFullDisk(arguments)
    #expect(result.status != 0, "\(result)")
    #expect(result.errorLines.count == 1 && result.err.contains("No space left on device"), "\(result)")
  }

  @Test("A process a check leaves running is killed with the check's group when the check ends")
  func leftHelperIsKilled() async throws {
    let result = try await run("hinix", ["conform", "--filter", "SELFTEST-ORPHAN", "--quiet"])
    #expect(result.status == 0, "\(result)")
    let line = try #require(result.err.split(separator: "\n").first { $0.hasPrefix("SELFTEST-ORPHAN left ") })
    let pid = try #require(pid_t(line.dropFirst("SELFTEST-ORPHAN left ".count)))
    for _ in 0..<100 where !isGone(pid) { usleep(20_000) }
    #expect(isGone(pid), "the helper \(pid) outlived its check")
    if !isGone(pid) { kill(pid, SIGKILL) }
  }

  @Test(
    "Unprivileged, a run killed mid-check leaves a queue, and the next run removes it and says so",
    .enabled(if: isRoot && access("/usr/bin/setpriv", X_OK) == 0, "needs root to run as nobody"))
  func unprivilegedLeftoversAreSwept() async throws {
    // The runner kills the run with SIGKILL after 3 s, while SELFTEST-HOLD holds its queue.
    let killed = try await runAsNobody(["conform", "--filter", "SELFTEST-HOLD"], timeout: .seconds(3))
    #expect(killed.timedOut)
    let line = try #require(killed.err.split(separator: "\n").first { $0.hasPrefix("SELFTEST-HOLD holding ") }, "\(killed)")
    let held = String(line.dropFirst("SELFTEST-HOLD holding ".count))
    let next = try await runAsNobody(["conform", "--filter", "MQ-SEND-OK", "--quiet"])
    #expect(next.status == 0, "\(next)")
    #expect(next.err.contains("removed") && next.err.contains(held), "\(next)")
    // The queue is gone.
    let unlinked = CHinix_mq_unlink(held)
    #expect(unlinked == -1 && errno == ENOENT, "\(held) is still there")
  }

  @Test(
    "EINTR and SA_RESTART checks never fail at --jobs 8 beside busy processes",
    .enabled(if: isRoot, "needs root for the private namespaces"))
  func interruptsAtJobs8() async throws {
    var hogs: [pid_t] = []
    for _ in 0..<2 {
      var pid: pid_t = 0
      var argv: [UnsafeMutablePointer<CChar>?] = ["/bin/sh", "-c", "while :; do :; done"].map { (word: String) in strdup(word) }
      argv.append(nil)
      if posix_spawn(&pid, "/bin/sh", nil, nil, argv, environ) == 0 { hogs.append(pid) }
      argv.forEach { free($0) }
    }
    defer {
      for pid in hogs {
        kill(pid, SIGKILL)
        waitpid(pid, nil, 0)
      }
    }
    for filter in ["*-EINTR", "*-SA_RESTART", "*-EINTR", "*-SA_RESTART", "*-EINTR"] {
      let result = try await run("hinix", ["conform", "--filter", filter, "--jobs", "8", "--format", "json", "--quiet"], timeout: .seconds(60))
      let decoded = try report(result)
      let bad = decoded.results.filter { $0.verdict != "pass" }
      #expect(result.status == 0 && bad.isEmpty, "\(bad.map { "\($0.ids[0]) \($0.verdict): \($0.detail ?? "")" })")
    }
  }
}
