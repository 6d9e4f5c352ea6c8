// The conformance bench's vocabulary: checks, verdicts, and what a check needs.

import Hinix

/// What a check found.
public enum Verdict: Sendable, Hashable {
  /// The kernel behaved as the clause says.
  case pass
  /// The kernel did not: the detail says what was expected and what happened.
  case fail(String)
  /// The check could not run here: the detail says why (a missing privilege, say).
  case skip(String)
  /// The harness itself failed (a worker that could not start, or died).
  case error(String)
  /// The check was still running at its deadline and its process group was
  /// killed. This is not evidence against the kernel: the deadline may be too
  /// short for this machine or its load. A check whose purpose is to see a
  /// blocked call woken waits with a bound of its own, well within its
  /// deadline, and fails when the wake-up does not come in time.
  case timeout(String)

  /// `pass`, `fail`, `skip`, `error` or `timeout`.
  public var name: String {
    switch self {
    case .pass: "pass"
    case .fail: "fail"
    case .skip: "skip"
    case .error: "error"
    case .timeout: "timeout"
    }
  }

  /// The reason, for anything but a pass.
  public var detail: String? {
    switch self {
    case .pass: nil
    case .fail(let text), .skip(let text), .error(let text), .timeout(let text): text
    }
  }
}

/// What a check needs beyond one unprivileged process, as the catalog's
/// "Needs" column says.
public enum Need: String, Sendable, Hashable, CaseIterable, Codable {
  /// Several processes.
  case processes = "MP"
  /// Signal handlers.
  case signals = "SIG"
  /// A private IPC namespace (to change /proc/sys/fs/mqueue).
  case ipcNamespace = "NS"
  /// A second uid (real root, to switch).
  case secondUID = "UID2"
  /// CAP_SYS_RESOURCE in the initial user namespace.
  case sysResource = "CAP"
}

/// Thrown by a check when the kernel did not behave as the clause says.
public struct CheckFailure: Error, Sendable, CustomStringConvertible {
  /// What was expected and what happened.
  public var description: String
  /// Creates a failure.
  public init(_ description: String) { self.description = description }
}

/// Thrown by a check that cannot run here.
public struct CheckSkipped: Error, Sendable, CustomStringConvertible {
  /// Why.
  public var description: String
  /// Creates a skip.
  public init(_ description: String) { self.description = description }
}

/// One conformance check: code that exercises the kernel and compares what
/// happened with a clause of the man pages.
public struct Check: Sendable {
  /// The catalog IDs the check covers, such as `MQ-SEND-PRIO-ORDER`.
  public var ids: [String]
  /// Where the behaviour is specified, such as `mq_send(3) DESCRIPTION`.
  public var source: String
  /// The clause, in the check's own words.
  public var clause: String
  /// Whether Linux differs from, or goes beyond, the 6.03 man pages here (⚠):
  /// the check expects the kernel's behaviour, and the report says so.
  public var kernelDiffers: Bool
  /// What the check needs.
  public var needs: Set<Need>
  /// The longest the check may take before its process group is killed.
  public var deadline: Duration
  /// The check itself. It returns normally for a pass and throws
  /// ``CheckFailure`` or ``CheckSkipped``; any other error is a failure too,
  /// since the clause expected the call to succeed.
  public var body: @Sendable (CheckContext) throws -> Void
  /// Helper processes the check can start with ``CheckContext/spawn(_:arguments:)``,
  /// by role name.
  public var roles: [String: @Sendable (RoleContext) throws -> Void]

  /// The check's name: its first ID.
  public var name: String { ids[0] }

  /// Creates a check.
  public init(
    _ ids: String..., source: String, clause: String, kernelDiffers: Bool = false,
    needs: Set<Need> = [], deadline: Duration = .seconds(10),
    roles: [String: @Sendable (RoleContext) throws -> Void] = [:],
    body: @escaping @Sendable (CheckContext) throws -> Void
  ) {
    precondition(!ids.isEmpty, "a check covers at least one catalog ID")
    self.ids = ids
    self.source = source
    self.clause = clause
    self.kernelDiffers = kernelDiffers
    self.needs = needs
    self.deadline = deadline
    self.roles = roles
    self.body = body
  }
}

// MARK: - Expectations

/// Fails the check with `message` unless `condition` holds.
public func expect(
  _ condition: @autoclosure () throws -> Bool, _ message: @autoclosure () -> String
) throws {
  guard try condition() else { throw CheckFailure(message()) }
}

/// Fails the check unless `body` throws a ``HinixError`` with `errno`; returns the error.
@discardableResult
public func expectErrno(
  _ errno: Errno, _ what: String, _ body: () throws -> Void
) throws -> HinixError {
  do {
    try body()
  } catch let error as HinixError {
    guard error.errno == errno else {
      throw CheckFailure("\(what): expected \(errno.symbolicName), got \(error.errno.symbolicName) (\(error))")
    }
    return error
  }
  throw CheckFailure("\(what): expected \(errno.symbolicName), but the call succeeded")
}

/// Fails the check unless a raw C call returned -1 with `errno`.
public func expectCErrno(_ expected: CInt, _ what: String, _ result: Int) throws {
  let actual = systemErrno
  guard result == -1 else {
    throw CheckFailure("\(what): expected \(Errno(rawValue: expected).symbolicName), but the call returned \(result)")
  }
  guard actual == expected else {
    throw CheckFailure("\(what): expected \(Errno(rawValue: expected).symbolicName), got \(Errno(rawValue: actual).symbolicName)")
  }
}
