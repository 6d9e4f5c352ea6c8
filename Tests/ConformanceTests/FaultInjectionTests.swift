// Fault injection: `hinix conform` run with libHinixFaults.so preloaded, which
// breaks one documented behaviour of libc's mq_* or eventfd entry points (see
// Tests/CHinixFaults/faults.c). The bench must notice every fault: the run
// fails, and a failing check covers a clause the fault breaks.

import Foundation
import HinixConformance
import Testing
import ToolTestSupport

#if canImport(Glibc)
  import Glibc
#endif

/// The fault library (Tests/CHinixFaults/faults.c), compiled beside the test
/// binary the first time a test needs it.
private func faultLibrary() throws -> String {
  try preloadLibrary("HinixFaults", source: "Tests/CHinixFaults/faults.c")
}

/// Each fault, and the check IDs of which at least one must fail under it.
private let faults: [(name: String, caughtBy: Set<String>)] = [
  ("priorities-ignored", ["MQ-SEND-PRIO-ORDER", "MQ-OV-PRIO-FIRST", "STRESS-MQ-EXACTLY-ONCE"]),
  ("fifo-broken", ["MQ-SEND-FIFO-SAME-PRIO", "MQ-RECV-ORDER", "MQ-OV-PRIO-FIRST"]),
  ("nonblock-ignored", ["MQ-OPEN-NONBLOCK", "MQ-RECV-EAGAIN", "MQ-SEND-EAGAIN"]),
  ("wrong-errno", ["MQ-SEND-EMSGSIZE", "MQ-RECV-EMSGSIZE"]),
  ("emsgsize-missing", ["MQ-SEND-EMSGSIZE"]),
  ("drop-rare", ["STRESS-MQ-EXACTLY-ONCE"]),
  ("duplicate-rare", ["STRESS-MQ-EXACTLY-ONCE"]),
  ("corrupt-rare", ["STRESS-MQ-EXACTLY-ONCE"]),
  ("notify-never", ["MQ-NOTIFY-REGISTER", "MQ-NOTIFY-SIGNAL", "MQ-NOTIFY-EBUSY", "MQ-NOTIFY-EMPTY-TRANSITION"]),
  ("semaphore-ignored", ["EFD-SEMAPHORE-FLAG", "EFD-READ-SEMAPHORE"]),
]

/// Runs the whole bench with the fault library preloaded and `fault` (if any) active.
private func conform(fault: String?) async throws -> (ToolResult, ConformanceReport?) {
  var environment = ["LD_PRELOAD": try faultLibrary()]
  if let fault { environment["HINIX_FAULT"] = fault }
  let result = try await run(
    "hinix", ["conform", "--jobs", "2", "--format", "json", "--quiet"], timeout: .seconds(150),
    environment: environment)
  return (result, try? JSONDecoder().decode(ConformanceReport.self, from: Data(result.stdout)))
}

@Suite(
  "hinix conform under injected faults", .serialized, .timeLimit(.minutes(5)),
  .enabled(if: geteuid() == 0, "needs root for the private namespaces"),
  .disabled(if: underThreadSanitizer, Comment(rawValue: "each test runs the whole bench, whose SIGEV_THREAD checks (MQ-NOTIFY-THREAD…) run in the sanitized hinix: " + sigevThreadUnderTSan)))
struct FaultInjectionTests {
  @Test("The fault library compiles from Tests/CHinixFaults/faults.c and is readable")
  func libraryIsBuilt() throws {
    let path = try faultLibrary()
    #expect(access(path, R_OK) == 0, "no \(path)")
  }

  @Test("With the fault library preloaded and no fault chosen, the run passes")
  func control() async throws {
    let (result, report) = try await conform(fault: nil)
    #expect(!result.timedOut)
    let failures = report?.results.filter { $0.verdict == "fail" || $0.verdict == "error" } ?? []
    #expect(result.status == 0, "\(failures.map { "\($0.ids[0]): \($0.detail ?? "")" }) \(result.err)")
    #expect(report != nil && failures.isEmpty)
  }

  @Test("Every injected fault fails the run, in a check that covers the broken clause", arguments: faults.map(\.name))
  func faultIsCaught(_ fault: String) async throws {
    let expected = try #require(faults.first { $0.name == fault }?.caughtBy)
    let (result, decoded) = try await conform(fault: fault)
    #expect(!result.timedOut, "the run hung: \(result.err)")
    #expect(result.status == 1, "\(result.err)")
    let report = try #require(decoded, "no JSON report: \(result)")
    let failing = report.results.filter { $0.verdict == "fail" || $0.verdict == "error" }
    #expect(!failing.isEmpty, "no check failed under \(fault)")
    let failingIDs = Set(failing.flatMap(\.ids))
    #expect(
      !failingIDs.isDisjoint(with: expected),
      "under \(fault), none of \(expected.sorted()) failed; the failures were \(failing.map { "\($0.ids[0]): \($0.detail ?? "")" })")
  }
}
