// The worker: one check (or one of its helper roles) in a process of its own.

import CHinix
import FoundationEssentials
import Hinix

#if canImport(Glibc)
  import Glibc
#endif

/// What a worker tells the harness: one JSON line on standard output.
struct WorkerVerdict: Codable {
  var verdict: String
  var detail: String?

  var value: Verdict {
    switch verdict {
    case "pass": .pass
    case "fail": .fail(detail ?? "")
    case "skip": .skip(detail ?? "")
    default: .error(detail ?? "")
    }
  }
}

/// Runs inside the hidden `hinix __conform-worker` subcommand.
public enum ConformanceWorker {
  /// Set by `hinix conform` for its workers, which refuse to run without it:
  /// a worker started by hand would run outside the harness's namespaces and deadlines.
  public static let harnessVariable = "HINIX_CONFORM_HARNESS"

  /// Runs the check called `name`, or its helper `role`, and exits: a check
  /// prints its verdict as one JSON line and exits 0; a role exits 0 when its
  /// body returned and 1 when it threw.
  public static func main(check name: String, role: String?, arguments: [String]) -> Never {
    // Die with the harness: a killed run leaves no worker behind, and with the
    // last process of the run's IPC namespace gone, no queue either.
    let parent = getppid()
    _ = CHinix_set_parent_death_signal(SIGKILL)
    if getppid() != parent || parent == 1 { exit(3) }
    guard let check = Registry.check(named: name) else {
      emit(WorkerVerdict(verdict: "error", detail: "no check is called \(name)"))
      exit(2)
    }
    if let role {
      guard let body = check.roles[role] else { exit(2) }
      do {
        try body(RoleContext(arguments: arguments))
        exit(0)
      } catch {
        let text = Array("role \(role): \(error)\n".utf8)
        _ = text.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        exit(1)
      }
    }
    let context = CheckContext(check: check)
    let verdict: WorkerVerdict
    do {
      try check.body(context)
      verdict = WorkerVerdict(verdict: "pass")
    } catch let failure as CheckFailure {
      verdict = WorkerVerdict(verdict: "fail", detail: failure.description)
    } catch let skipped as CheckSkipped {
      verdict = WorkerVerdict(verdict: "skip", detail: skipped.description)
    } catch let harness as HarnessError {
      verdict = WorkerVerdict(verdict: "error", detail: harness.description)
    } catch let error as HinixError where error.limit != nil && isResourceShortage(error.errno.rawValue) {
      // A queue or descriptor the check needed could not be had: a limit is
      // used up (by this user's other queues, say), which says nothing about the clause.
      verdict = WorkerVerdict(
        verdict: "skip",
        detail: "could not get the resources the check needs, which is no evidence against the kernel: \(error)")
    } catch {
      // The clause expected the call to succeed.
      verdict = WorkerVerdict(verdict: "fail", detail: "unexpected error: \(error)")
    }
    context.finish()
    QueueJournal.removeOwn()
    emit(verdict)
    exit(0)
  }

  private static func emit(_ verdict: WorkerVerdict) {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    let bytes = Array((try? encoder.encode(verdict)) ?? Data()) + [UInt8(ascii: "\n")]
    _ = bytes.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
  }
}
