// A monotonic timeout holds its length when CLOCK_REALTIME is stepped, and a
// CLOCK_REALTIME deadline does not.
//
// Time namespaces do not virtualise CLOCK_REALTIME and a test must leave the
// host's clock alone, so the probe (Tests/ClockStepProbe) runs with
// libHinixClockStep.so preloaded (Tests/CClockStep), which steps
// CLOCK_REALTIME as that process sees it. What this shows: a `timeout:` wait
// reads no CLOCK_REALTIME at all (the interposer counts the reads) and lasts
// its length on the monotonic clock while the process's realtime jumps by an
// hour in the middle of it; its kernel wait is poll(2), whose relative
// timeout runs on CLOCK_MONOTONIC. A `deadline:` wait, whose absolute
// CLOCK_REALTIME deadline disagrees with the kernel's clock by the step, is
// stretched by the hour or cut to nothing: what a real step does to it.
import Testing
import ToolTestSupport

#if canImport(Glibc)
  import Glibc
#endif

/// The step library (Tests/CClockStep/clockstep.c), compiled beside the test
/// binary the first time a test needs it.
private func library() throws -> String {
  try preloadLibrary("HinixClockStep", source: "Tests/CClockStep/clockstep.c")
}

/// The probe's `key=value` output.
private func probe(
  _ mode: String, milliseconds: Int, stepSeconds: Int, stepAfterMs: Int, delayMs: Int = 0
) async throws -> [String: String] {
  let libraryPath = try library()
  let result = try await onThread {
    try run(
      "hinix-clock-step-probe", [mode, "\(milliseconds)"], timeout: .seconds(20),
      environment: [
        "LD_PRELOAD": libraryPath, "HINIX_CLOCK_STEP_SECONDS": "\(stepSeconds)",
        "HINIX_CLOCK_STEP_AFTER_MS": "\(stepAfterMs)", "PROBE_DELAY_MS": "\(delayMs)",
      ])
  }
  #expect(result.status == 0, "\(result)")
  var fields: [String: String] = [:]
  for field in result.out.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
    let parts = field.split(separator: "=", maxSplits: 1)
    if parts.count == 2 { fields[String(parts[0])] = String(parts[1]) }
  }
  return fields
}

@Suite("Monotonic timeouts under a stepped CLOCK_REALTIME", .timeLimit(.minutes(1)))
struct ClockStepTests {
  @Test("The step library and probe are built beside the tests")
  func built() throws {
    let path = try library()
    #expect(access(path, R_OK) == 0, "no \(path)")
    #expect(access(toolDirectory + "/hinix-clock-step-probe", X_OK) == 0, "the probe is not built beside the tests")
  }

  @Test("A timeout wait lasts its length while CLOCK_REALTIME jumps an hour ahead in the middle of it")
  func timeoutHoldsForward() async throws {
    // The probe waits 600 ms; 250 ms after it loaded, its realtime jumps +1 h.
    let fields = try await probe("timeout", milliseconds: 600, stepSeconds: 3600, stepAfterMs: 250)
    let monotonic = Int(fields["monotonic_ms"] ?? "") ?? -1
    let realtime = Int(fields["realtime_ms"] ?? "") ?? -1
    #expect(fields["outcome"] == "ETIMEDOUT", "\(fields)")
    #expect(monotonic >= 600 && monotonic < 2000, "\(fields)")
    #expect(realtime >= 3_600_000, "the step did not happen during the wait: \(fields)")
    // Counted between the probe's own reads before and after: the wait made none.
    #expect(fields["realtime_reads"] == "0", "\(fields)")
  }

  @Test("A timeout wait lasts its length when CLOCK_REALTIME was stepped back an hour")
  func timeoutHoldsBackward() async throws {
    let fields = try await probe("timeout", milliseconds: 400, stepSeconds: -3600, stepAfterMs: 0)
    let monotonic = Int(fields["monotonic_ms"] ?? "") ?? -1
    #expect(fields["outcome"] == "ETIMEDOUT", "\(fields)")
    #expect(monotonic >= 400 && monotonic < 2000, "\(fields)")
  }

  @Test("A CLOCK_REALTIME deadline an hour off is stretched past 3 s or cut to nothing")
  func deadlineDoesNot() async throws {
    let ahead = try await probe(
      "deadline", milliseconds: 600, stepSeconds: 3600, stepAfterMs: 50, delayMs: 100)
    #expect(ahead["outcome"] == "still-waiting", "\(ahead)")
    #expect((Int(ahead["monotonic_ms"] ?? "") ?? 0) >= 2900, "\(ahead)")
    let behind = try await probe(
      "deadline", milliseconds: 600, stepSeconds: -3600, stepAfterMs: 50, delayMs: 100)
    #expect(behind["outcome"] == "ETIMEDOUT", "\(behind)")
    #expect((Int(behind["monotonic_ms"] ?? "") ?? 9999) < 300, "\(behind)")
  }
}
