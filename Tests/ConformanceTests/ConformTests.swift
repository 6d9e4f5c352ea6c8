import CHinix
import Foundation
import FoundationXML
import Hinix
import HinixConformance
import Testing
import ToolTestSupport

#if canImport(Glibc)
  import Glibc
#endif

private let isRoot = geteuid() == 0

/// The repository's root, from this file's path.
private let repositoryRoot: String = {
  var parts = String(#filePath).split(separator: "/", omittingEmptySubsequences: false)
  parts.removeLast(3)  // Tests/ConformanceTests/ConformTests.swift
  return parts.joined(separator: "/")
}()

/// The names of the queues on the host whose names start with `prefix`, read
/// through `hinix mq ls --json` (which mounts the mqueue file system privately).
private func hostQueues(prefix: String) throws -> Set<String> {
  struct Entry: Decodable { var name: String }
  let result = try run("hinix", ["mq", "ls", "--json"])
  guard result.status == 0 else { throw ToolRunError(message: "hinix mq ls: \(result)") }
  let entries = try JSONDecoder().decode([Entry].self, from: Data(result.stdout))
  return Set(entries.map(\.name).filter { $0.hasPrefix(prefix) })
}

/// The values of /proc/sys/fs/mqueue/*, by name.
private func mqueueSysctls() -> [String: String] {
  var values: [String: String] = [:]
  for name in ["msg_max", "msgsize_max", "msg_default", "msgsize_default", "queues_max"] {
    let fd = open("/proc/sys/fs/mqueue/" + name, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { continue }
    var buffer = [UInt8](repeating: 0, count: 64)
    let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    close(fd)
    values[name] = String(decoding: buffer[..<max(count, 0)], as: UTF8.self)
  }
  return values
}

/// Processes whose command line contains all of `words`.
private func processes(containing words: [String]) -> [Int32] {
  guard let directory = opendir("/proc") else { return [] }
  defer { closedir(directory) }
  var found: [Int32] = []
  while let entry = readdir(directory) {
    let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    guard let pid = Int32(name) else { continue }
    let fd = open("/proc/\(pid)/cmdline", O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { continue }
    var buffer = [UInt8](repeating: 0, count: 4096)
    let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    close(fd)
    let line = String(decoding: buffer[..<max(count, 0)].map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
    if words.allSatisfy(line.contains) { found.append(pid) }
  }
  return found
}

private struct Listing: Decodable {
  struct Entry: Decodable { var ids: [String]; var source: String; var clause: String }
  var checks: [Entry]
  var uncovered: [CatalogRow]
}

@Suite("hinix conform", .timeLimit(.minutes(3)))
struct ConformTests {
  @Test("--list --format json covers the catalog: every check cites catalog IDs and a clause; the other rows are listed as not covered")
  func listCoversCatalog() async throws {
    let result = try await run("hinix", ["conform", "--list", "--format", "json"])
    #expect(result.status == 0, "\(result)")
    let listing = try JSONDecoder().decode(Listing.self, from: Data(result.stdout))
    let catalog = Set(catalogRows.map(\.id))
    #expect(catalog.count == 190)
    let covered = Set(listing.checks.flatMap(\.ids).filter { !$0.hasPrefix("STRESS-") && !$0.hasPrefix("SELFTEST-") })
    #expect(covered.isSubset(of: catalog), "IDs not in the catalog: \(covered.subtracting(catalog).sorted())")
    #expect(covered.union(listing.uncovered.map(\.id)) == catalog)
    #expect(covered.isDisjoint(with: listing.uncovered.map(\.id)))
    #expect(listing.checks.allSatisfy { !$0.clause.isEmpty && !$0.source.isEmpty })
    // Every catalog row has a check; a few skip where this machine cannot check them.
    #expect(covered.count >= 175, "only \(covered.count) catalog IDs have a check")
  }

  @Test(
    "A full run passes or skips every check, in private namespaces, leaving the host's queues and sysctls as they were",
    .enabled(if: isRoot, "needs root for the private namespaces"),
    .disabled(if: underThreadSanitizer, Comment(rawValue: "its SIGEV_THREAD checks (MQ-NOTIFY-THREAD…) run in the sanitized hinix: " + sigevThreadUnderTSan)))
  func fullRun() async throws {
    let sysctls = mqueueSysctls()
    let path = "/tmp/hinix-conform-full-\(getpid()).json"
    defer { unlink(path) }
    let result = try await run("hinix", ["conform", "--format", "json", "--quiet", "--output", path], timeout: .seconds(150))
    let json = try #require(FileManager.default.contents(atPath: path))
    let report = try JSONDecoder().decode(ConformanceReport.self, from: json)
    let failures = report.results.filter { $0.verdict == "fail" || $0.verdict == "error" }
    #expect(failures.isEmpty, "\(failures.map { "\($0.ids[0]): \($0.detail ?? "")" })")
    #expect(result.status == 0, "\(result.err)")
    #expect(report.host.namespaced)
    #expect(report.results.count == Registry.checks(matching: nil).count)
    #expect(report.results.allSatisfy { $0.verdict != "skip" || !($0.detail ?? "").isEmpty })
    #expect(report.summary.pass + report.summary.skip == report.results.count)
    #expect(!report.host.kernelRelease.isEmpty && report.host.cores > 0 && report.host.mqueue["msg_max"] != nil)
    #expect(try hostQueues(prefix: "/hxc-").isEmpty)
    #expect(mqueueSysctls() == sysctls)
    // The report validates against the schema committed in results/.
    let validation = try runExecutable(
      "/usr/bin/env",
      ["python3", "-c", """
        import json, sys, jsonschema
        schema = json.load(open(sys.argv[1]))
        jsonschema.Draft202012Validator.check_schema(schema)
        jsonschema.validate(json.load(open(sys.argv[2])), schema, cls=jsonschema.Draft202012Validator)
        """, repositoryRoot + "/results/conform-report.schema.json", path],
      environment: ProcessInfo.processInfo.environment.filter { ["PATH", "HOME", "PYENV_ROOT"].contains($0.key) })
    #expect(validation.status == 0, "the report does not validate: \(validation.err)")
  }

  @Test("A check that hangs is killed with its helpers at its deadline, with the verdict timeout and exit status 2", .enabled(if: isRoot))
  func hangTimesOut() async throws {
    let clock = ContinuousClock()
    let start = clock.now
    let result = try await run("hinix", ["conform", "--filter", "SELFTEST-HANG", "--format", "json", "--quiet"])
    let elapsed = start.duration(to: clock.now)
    #expect(result.status == 2, "\(result)")
    let report = try JSONDecoder().decode(ConformanceReport.self, from: Data(result.stdout))
    #expect(report.results.map(\.verdict) == ["timeout"])
    #expect(report.results.first?.detail?.contains("timed out") == true)
    // Killed at its 1-second deadline: the check's own time says so; the whole
    // run (namespaces, a worker, the kill) must end long before the 20-second
    // limit of `run`, even on a machine busy with other tests.
    #expect(!result.timedOut)
    #expect((report.results.first?.seconds ?? .infinity) < 5, "\(report.results)")
    #expect(elapsed < .seconds(19))
    #expect(processes(containing: ["__conform-worker", "SELFTEST-HANG"]).isEmpty)
  }

  @Test(
    "A run killed with SIGKILL while a check holds a queue and a changed sysctl leaves no queue, no worker and the sysctls unchanged",
    .enabled(if: isRoot, "needs root for the private namespaces"))
  func killedRunLeavesNothing() async throws {
    let sysctls = mqueueSysctls()
    // The runner kills hinix with SIGKILL when its timeout passes, mid-check.
    let result = try await run("hinix", ["conform", "--filter", "SELFTEST-HOLD"], timeout: .seconds(3))
    #expect(result.timedOut)
    let line = try #require(result.err.split(separator: "\n").first { $0.hasPrefix("SELFTEST-HOLD holding ") })
    let held = String(line.dropFirst("SELFTEST-HOLD holding ".count))
    // The worker dies with the harness (PR_SET_PDEATHSIG); give the kernel a moment.
    for _ in 0..<100 where !processes(containing: ["__conform-worker", "SELFTEST-HOLD"]).isEmpty { usleep(20_000) }
    #expect(processes(containing: ["__conform-worker", "SELFTEST-HOLD"]).isEmpty)
    #expect(try !hostQueues(prefix: "/hxc-").contains(held))
    #expect(mqueueSysctls() == sysctls)
  }

  @Test("TAP and JUnit: one entry per check; the JUnit output parses as XML", .enabled(if: isRoot))
  func formats() async throws {
    let tap = try await run("hinix", ["conform", "--filter", "MQ-SEND", "--format", "tap", "--quiet"])
    #expect(tap.status == 0, "\(tap)")
    let lines = tap.out.split(separator: "\n")
    let count = Registry.checks(matching: "MQ-SEND").count
    #expect(lines.first == "TAP version 13")
    #expect(lines.contains("1..\(count)"))
    #expect(lines.filter { $0.hasPrefix("ok ") || $0.hasPrefix("not ok ") }.count == count)

    let junit = try await run("hinix", ["conform", "--filter", "MQ-SEND", "--format", "junit", "--quiet"])
    #expect(junit.status == 0, "\(junit)")
    final class Counter: NSObject, XMLParserDelegate {
      var testcases = 0
      func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
        if name == "testcase" { testcases += 1 }
      }
    }
    let parser = XMLParser(data: Data(junit.stdout))
    let counter = Counter()
    parser.delegate = counter
    #expect(parser.parse(), "\(String(describing: parser.parserError))")
    #expect(counter.testcases == count)
  }

  @Test("--output writes the report to a file; an unwritable one fails in one line", .enabled(if: isRoot))
  func output() async throws {
    let path = "/tmp/hinix-conform-\(getpid())-\(UInt32.random(in: 0 ... .max)).json"
    defer { unlink(path) }
    let result = try await run("hinix", ["conform", "--filter", "MQ-OPEN-EEXIST", "--format", "json", "--output", path, "--quiet"])
    #expect(result.status == 0 && result.stdout.isEmpty, "\(result)")
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    defer { close(fd) }
    var buffer = [UInt8](repeating: 0, count: 1 << 20)
    let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    let report = try JSONDecoder().decode(ConformanceReport.self, from: Data(buffer[..<max(count, 0)]))
    #expect(report.results.map(\.verdict) == ["pass"])
    let bad = try await run("hinix", ["conform", "--filter", "MQ-OPEN-EEXIST", "--output", "/nonexistent/dir/r.txt", "--quiet"])
    #expect(bad.status == 2 && bad.errorLines.count == 1, "\(bad)")
  }

  @Test(
    "Bad options are usage errors, in one line, with exit status 64",
    arguments: [["--jobs", "0"], ["--jobs", "x"], ["--filter", "NO-SUCH-CHECK"], ["--format", "xml"], ["--timeout", "-1"]])
  func badOptions(_ options: [String]) async throws {
    let result = try await run("hinix", ["conform"] + options)
    #expect(result.status == 64, "\(result)")
    #expect(result.errorLines.count == 1, "\(result)")
    #expect(result.err.hasPrefix("hinix conform: "))
  }

  @Test("The worker subcommand refuses to run outside the harness")
  func workerOutsideHarness() async throws {
    let result = try await run("hinix", ["__conform-worker", "MQ-SEND-OK"])
    #expect(result.status == 64, "\(result)")
    #expect(result.err.contains("internal to hinix conform"))
  }
}
