import SystemPackage

/// An error from a Hinix operation: the `Errno` the kernel (or Hinix's own
/// validation) reported, with the operation, the queue and, where one applies,
/// the system limit that was hit.
///
/// Match on ``errno`` to handle a particular condition:
///
/// ```swift
/// do {
///   let queue = try MsgQueue.createExclusive("/jobs", maxMessages: 8, messageSize: 256)
/// } catch let error as HinixError where error.errno == .fileExists {
///   // someone else created it first
/// }
/// ```
///
/// The ``description`` is a complete sentence meant for a person, for example
/// `mq_open("/jobs"): Too many open files (EMFILE): RLIMIT_MSGQUEUE: the queue needs 2,144 bytes, about 1,100 of the 819,200 are left for this user`.
public struct HinixError: Error, Sendable, Hashable, CustomStringConvertible {
  /// The error number reported by the kernel, or chosen by Hinix for an
  /// argument it rejected before making a system call.
  public var errno: Errno

  /// The C function that failed (for example `"mq_open"`), or `"validation"`
  /// when Hinix rejected an argument before calling the kernel.
  public var operation: String

  /// The queue's name, when the operation concerns a named queue, as
  /// ``MsgQueueName/description`` shows it: printable, with `\\` and `\xNN`
  /// escapes for bytes that are not printable UTF-8.
  public var queueName: String?

  /// The system limit that caused the failure, when Hinix could tell.
  public var limit: Limit?

  /// A plain explanation of what was wrong and what to do about it, when
  /// there is more to say than the errno's own text.
  public var detail: String?

  /// Creates an error.
  public init(
    _ errno: Errno, operation: String, queueName: String? = nil, limit: Limit? = nil,
    detail: String? = nil
  ) {
    self.errno = errno
    self.operation = operation
    self.queueName = queueName
    self.limit = limit
    self.detail = detail
  }

  /// A one-line description: operation, queue, errno text and name, and the
  /// explanation of the limit or argument at fault.
  public var description: String {
    var text: String
    if operation == "validation" {
      text = queueName.map { "invalid argument \"\($0)\"" } ?? "invalid argument"
    } else {
      text = operation
      if let queueName { text += "(\"\(queueName)\")" }
    }
    text += ": \(errno.plainDescription) (\(errno.symbolicName))"
    if let limit { text += ": \(limit.description)" }
    if let detail { text += ": \(detail)" }
    return text
  }
}

extension HinixError {
  /// Whether the error is "would block" (`EAGAIN`) or a timed call's expiry
  /// (`ETIMEDOUT`).
  public var isTimeoutOrWouldBlock: Bool {
    errno == .resourceTemporarilyUnavailable || errno == .timedOut
  }

  /// The error the kernel left in `errno` for `operation`.
  package static func current(_ operation: String, queueName: String? = nil) -> HinixError {
    HinixError(Errno(rawValue: systemErrno), operation: operation, queueName: queueName)
  }

  /// An argument rejected before any system call.
  static func invalid(
    _ detail: String, queueName: String? = nil, errno: Errno = .invalidArgument,
    limit: Limit? = nil
  ) -> HinixError {
    HinixError(errno, operation: "validation", queueName: queueName, limit: limit, detail: detail)
  }

  /// An operation on a descriptor that was already closed through this object.
  static func closed(_ operation: String, queueName: String?) -> HinixError {
    HinixError(
      .badFileDescriptor, operation: operation, queueName: queueName,
      detail: "the descriptor was closed through this object")
  }
}

extension Errno {
  /// `strerror`'s text, except where it misleads outside networking:
  /// `ETIMEDOUT` is "Timed out", not "Connection timed out".
  var plainDescription: String {
    self == .timedOut ? "Timed out" : description
  }

  /// The C macro name of the error number, such as `"EAGAIN"`.
  public var symbolicName: String {
    switch self {
    case .permissionDenied: "EACCES"
    case .resourceTemporarilyUnavailable: "EAGAIN"
    case .badFileDescriptor: "EBADF"
    case .resourceBusy: "EBUSY"
    case .fileExists: "EEXIST"
    case .interrupted: "EINTR"
    case .invalidArgument: "EINVAL"
    case .tooManyOpenFiles: "EMFILE"
    case .messageTooLong: "EMSGSIZE"
    case .fileNameTooLong: "ENAMETOOLONG"
    case .tooManyOpenFilesInSystem: "ENFILE"
    case .noSuchFileOrDirectory: "ENOENT"
    case .noMemory: "ENOMEM"
    case .noSpace: "ENOSPC"
    case .notSupported: "EOPNOTSUPP"
    case .timedOut: "ETIMEDOUT"
    case .notPermitted: "EPERM"
    case .noSuchProcess: "ESRCH"
    case .badAddress: "EFAULT"
    case .brokenPipe: "EPIPE"
    case .isDirectory: "EISDIR"
    case .notDirectory: "ENOTDIR"
    case .ioError: "EIO"
    case .noFunction: "ENOSYS"
    case .readOnlyFileSystem: "EROFS"
    case .operationNotSupportedByDevice: "ENODEV"
    case .illegalSeek: "ESPIPE"
    case .argListTooLong: "E2BIG"
    case .noSuchAddressOrDevice: "ENXIO"
    case .noChildProcess: "ECHILD"
    case .deadlock: "EDEADLK"
    case .outOfRange: "ERANGE"
    case .overflow: "EOVERFLOW"
    default: "errno \(rawValue)"
    }
  }
}
