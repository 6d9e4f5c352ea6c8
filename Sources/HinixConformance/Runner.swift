// The harness: runs each check in a worker process, with a deadline.

import FoundationEssentials
import Hinix

#if canImport(Glibc)
  import Glibc
#endif

/// One check's outcome.
public struct CheckResult: Sendable, Codable, Hashable {
  /// The catalog IDs the check covers.
  public var ids: [String]
  /// Where the behaviour is specified.
  public var source: String
  /// The clause, in the check's words.
  public var clause: String
  /// Whether Linux differs from the 6.03 man pages here.
  public var kernelDiffers: Bool
  /// `pass`, `fail`, `skip`, `error` or `timeout`.
  public var verdict: String
  /// The reason, for anything but a pass.
  public var detail: String?
  /// How long the check took, in seconds.
  public var seconds: Double

  init(check: Check, verdict: Verdict, seconds: Double) {
    ids = check.ids
    source = check.source
    clause = check.clause
    kernelDiffers = check.kernelDiffers
    self.verdict = verdict.name
    detail = verdict.detail
    self.seconds = seconds
  }
}

/// Runs checks, each in a worker process in a process group of its own, up
/// to `jobs` at a time. A worker that outlives its check's deadline has its
/// whole group killed, and the check's verdict is `timeout`: the run could
/// not judge it.
public struct ConformanceRunner: Sendable {
  /// The checks to run, in order.
  public var checks: [Check]
  /// How many checks may run at once.
  public var jobs: Int
  /// A deadline for every check, instead of each check's own.
  public var timeout: Duration?

  /// Creates a runner.
  public init(checks: [Check], jobs: Int = 1, timeout: Duration? = nil) {
    self.checks = checks
    self.jobs = max(1, jobs)
    self.timeout = timeout
  }

  private struct Running {
    var index: Int
    var child: Child
    var started: ContinuousClock.Instant
    var deadline: ContinuousClock.Instant
  }

  /// Runs the checks, calling `progress` as each one ends.
  ///
  /// - Returns: The results, in the order of ``checks``.
  public func run(progress: (CheckResult, _ done: Int, _ total: Int) -> Void = { _, _, _ in }) -> [CheckResult] {
    let clock = ContinuousClock()
    var results = [CheckResult?](repeating: nil, count: checks.count)
    var next = 0
    var running: [Running] = []
    var done = 0
    func finish(_ index: Int, _ verdict: Verdict, since start: ContinuousClock.Instant) {
      let elapsed = start.duration(to: clock.now)
      let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
      let result = CheckResult(check: checks[index], verdict: verdict, seconds: seconds)
      results[index] = result
      done += 1
      progress(result, done, checks.count)
    }
    while next < checks.count || !running.isEmpty {
      while running.count < jobs && next < checks.count {
        let check = checks[next]
        let start = clock.now
        do {
          let child = try Child.spawnSelf(["__conform-worker", check.name], newGroup: true)
          running.append(
            Running(index: next, child: child, started: start, deadline: start + (timeout ?? check.deadline)))
        } catch {
          finish(next, .error("could not start the worker: \(error)"), since: start)
        }
        next += 1
      }
      var stillRunning: [Running] = []
      for item in running {
        if item.child.hasExited() {
          // Helpers the check left behind die with their group, which is
          // killed before the worker is reaped so that its ID cannot be reused.
          item.child.kill(group: true)
          let status = item.child.wait(timeout: .seconds(5)) ?? -1
          let output = item.child.readAll(timeout: .seconds(1)) ?? []
          finish(item.index, verdict(from: output, status: status), since: item.started)
        } else if clock.now >= item.deadline {
          item.child.kill(group: true)
          let limit = timeout ?? checks[item.index].deadline
          let whose = timeout == nil ? "the check's own deadline" : "the deadline set with --timeout"
          finish(
            item.index,
            .timeout(
              "timed out after \(limit) (\(whose)): the check's process group was killed; not evidence against the kernel (the deadline may be too short for this machine or its load)"
            ), since: item.started)
        } else {
          stillRunning.append(item)
        }
      }
      running = stillRunning
      if !running.isEmpty { usleep(1_000) }
    }
    return results.map { $0! }
  }

  private func verdict(from output: [UInt8], status: CInt) -> Verdict {
    let line = output.split(separator: UInt8(ascii: "\n")).last.map(Array.init) ?? []
    guard let decoded = try? JSONDecoder().decode(WorkerVerdict.self, from: Data(line)) else {
      return .error("the worker exited with status \(status) without a verdict")
    }
    return decoded.value
  }
}
