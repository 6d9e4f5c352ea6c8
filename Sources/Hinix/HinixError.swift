import SystemPackage

/// An error from a Hinix operation: the `Errno` the kernel (or Hinix's own
/// validation) reported, with the operation, the queue and, where one applies,
/// the system limit that was hit.
///
/// Every throwing call in Hinix throws only `HinixError` (the `async` calls
/// can also throw `CancellationError`), and says so with typed throws, so a
/// `catch` needs no cast. Match on ``errno`` to handle a particular condition:
///
/// ```swift
/// do {
///   let queue = try MsgQueue.createExclusive("/jobs", maxMessages: 8, messageSize: 256)
/// } catch where error.errno == .fileExists {
///   // someone else created it first
/// } catch {
///   throw error  // a HinixError, with the limit that was hit if any
/// }
/// ```
///
/// The ``description`` is a complete sentence meant for a person, for example
/// `mq_open("/jobs"): Too many open files (EMFILE): RLIMIT_MSGQUEUE: the queue needs 2,144 bytes, about 1,100 of the 819,200 are left for this user`.
///
/// An error is a value: its fields do not change. ``withDetail(_:)`` makes a
/// copy with another explanation, for a caller that knows more.
public struct HinixError: Error, Sendable, Hashable, CustomStringConvertible {
  /// The error number reported by the kernel, or chosen by Hinix for an
  /// argument it rejected before making a system call.
  public let errno: Errno

  /// The C function that failed (for example ``Operation/mqOpen``), or
  /// ``Operation/validation`` when Hinix rejected an argument before calling
  /// the kernel.
  public let operation: Operation

  /// The queue's name, when the operation concerns a named queue, as
  /// ``MsgQueueName/description`` shows it: printable, with `\\` and `\xNN`
  /// escapes for bytes that are not printable UTF-8.
  public let queueName: String?

  /// The system limit that caused the failure, when Hinix could tell.
  public let limit: Limit?

  /// A plain explanation of what was wrong and what to do about it, when
  /// there is more to say than the errno's own text.
  public let detail: String?

  /// Creates an error.
  ///
  /// - Parameters:
  ///   - errno: The error number.
  ///   - operation: The C function that failed, or ``Operation/validation``.
  ///   - queueName: The queue's name, if the operation concerns one.
  ///   - limit: The system limit that caused the failure, if known.
  ///   - detail: What was wrong, in words.
  public init(
    _ errno: Errno, operation: Operation, queueName: String? = nil, limit: Limit? = nil,
    detail: String? = nil
  ) {
    self.errno = errno
    self.operation = operation
    self.queueName = queueName
    self.limit = limit
    self.detail = detail
  }

  /// A copy of the error with another explanation.
  ///
  /// - Parameter detail: The new ``detail``, or `nil` for none.
  /// - Returns: The same error, with `detail` in place of the old one.
  public func withDetail(_ detail: String?) -> HinixError {
    HinixError(errno, operation: operation, queueName: queueName, limit: limit, detail: detail)
  }

  /// A one-line description: operation, queue, errno text and name, and the
  /// explanation of the limit or argument at fault.
  public var description: String {
    var text: String
    if operation == .validation {
      text = queueName.map { "invalid argument \"\($0)\"" } ?? "invalid argument"
    } else {
      text = operation.rawValue
      if let queueName { text += "(\"\(queueName)\")" }
    }
    text += ": \(errno.plainDescription) (\(errno.symbolicName))"
    if let limit { text += ": \(limit.description)" }
    if let detail { text += ": \(detail)" }
    return text
  }
}

extension HinixError {
  /// What failed: the C function Hinix called, or ``validation`` for an
  /// argument Hinix rejected before any system call.
  ///
  /// The ``rawValue`` and ``description`` are the C function's name, such
  /// as `mq_open`. Code outside Hinix that reports its own failures as
  /// ``HinixError`` can name other operations with ``init(rawValue:)``.
  public struct Operation: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    /// The C function's name, or `"validation"`.
    public let rawValue: String

    /// Creates an operation from its name.
    ///
    /// - Parameter rawValue: The C function's name, such as `"mq_open"`.
    public init(rawValue: String) { self.rawValue = rawValue }

    /// The C function's name, or `validation`.
    public var description: String { rawValue }

    /// An argument Hinix rejected before any system call.
    public static let validation = Operation(rawValue: "validation")

    /// `mq_open(3)`.
    public static let mqOpen = Operation(rawValue: "mq_open")
    /// `mq_close(3)`.
    public static let mqClose = Operation(rawValue: "mq_close")
    /// `mq_unlink(3)`.
    public static let mqUnlink = Operation(rawValue: "mq_unlink")
    /// `mq_send(3)`.
    public static let mqSend = Operation(rawValue: "mq_send")
    /// `mq_timedsend(3)`, also behind the `try` and `timeout:` sends.
    public static let mqTimedSend = Operation(rawValue: "mq_timedsend")
    /// `mq_receive(3)`.
    public static let mqReceive = Operation(rawValue: "mq_receive")
    /// `mq_timedreceive(3)`, also behind the `try` and `timeout:` receives.
    public static let mqTimedReceive = Operation(rawValue: "mq_timedreceive")
    /// `mq_getattr(3)`.
    public static let mqGetAttr = Operation(rawValue: "mq_getattr")
    /// `mq_setattr(3)`.
    public static let mqSetAttr = Operation(rawValue: "mq_setattr")
    /// `mq_notify(3)`.
    public static let mqNotify = Operation(rawValue: "mq_notify")
    /// `eventfd(2)`.
    public static let eventfd = Operation(rawValue: "eventfd")
    /// `pipe2(2)`.
    public static let pipe2 = Operation(rawValue: "pipe2")
    /// `read(2)`.
    public static let read = Operation(rawValue: "read")
    /// `preadv2(2)`.
    public static let preadv2 = Operation(rawValue: "preadv2")
    /// `write(2)`.
    public static let write = Operation(rawValue: "write")
    /// `close(2)`.
    public static let close = Operation(rawValue: "close")
    /// `poll(2)`.
    public static let poll = Operation(rawValue: "poll")
    /// `fcntl(2)`.
    public static let fcntl = Operation(rawValue: "fcntl")
    /// `readlink(2)`.
    public static let readlink = Operation(rawValue: "readlink")
    /// `epoll_create1(2)`, when Hinix's reactor starts.
    public static let epollCreate1 = Operation(rawValue: "epoll_create1")
    /// `epoll_ctl(2)`.
    public static let epollCtl = Operation(rawValue: "epoll_ctl")
    /// `epoll_wait(2)`.
    public static let epollWait = Operation(rawValue: "epoll_wait")
    /// `pthread_create(3)`, when Hinix's reactor starts its thread.
    public static let pthreadCreate = Operation(rawValue: "pthread_create")
    /// Handing the descriptor to the caller (``MsgQueue/takeDescriptor()``): no
    /// system call, but it fails like one while calls are in flight.
    public static let takeDescriptor = Operation(rawValue: "takeDescriptor")
    /// `pwritev2(2)`, for ``EventFd/tryWrite(_:)``.
    public static let pwritev2 = Operation(rawValue: "pwritev2")
    /// `fstat(2)`.
    public static let fstat = Operation(rawValue: "fstat")
    /// `fstatat(2)`, reading a queue's owner in ``MsgQueue/list(readingAttributes:)``.
    public static let fstatat = Operation(rawValue: "fstatat")
    /// `openat(2)`, in ``MsgQueue/list(readingAttributes:)``.
    public static let openat = Operation(rawValue: "openat")
    /// `fdopendir(3)`, in ``MsgQueue/list(readingAttributes:)``.
    public static let fdopendir = Operation(rawValue: "fdopendir")
    /// `readdir(3)`, in ``MsgQueue/list(readingAttributes:)``.
    public static let readdir = Operation(rawValue: "readdir")
    /// `fsopen(2)`, for a detached mqueue mount in ``MsgQueue/list(readingAttributes:)``.
    public static let fsopen = Operation(rawValue: "fsopen")
    /// `fsconfig(2)`, for a detached mqueue mount.
    public static let fsconfig = Operation(rawValue: "fsconfig")
    /// `fsmount(2)`, for a detached mqueue mount.
    public static let fsmount = Operation(rawValue: "fsmount")

    /// `withDescriptor`: a borrow of a descriptor that was closed.
    static let withDescriptor = Operation(rawValue: "withDescriptor")
  }
}

extension HinixError {
  /// Whether the error is "would block" (`EAGAIN`) or a timed call's expiry
  /// (`ETIMEDOUT`).
  public var isTimeoutOrWouldBlock: Bool {
    errno == .resourceTemporarilyUnavailable || errno == .timedOut
  }

  /// The error the kernel left in `errno` for `operation`.
  package static func current(
    _ operation: Operation, queueName: String? = nil, limit: Limit? = nil, detail: String? = nil
  ) -> HinixError {
    HinixError(
      Errno(rawValue: systemErrno), operation: operation, queueName: queueName, limit: limit,
      detail: detail)
  }

  /// The error the kernel left in `errno` for a call that opens a
  /// descriptor, with the ``Limit/descriptors(limit:)`` limit for `EMFILE`.
  static func currentOpening(_ operation: Operation, detail: String? = nil) -> HinixError {
    let code = Errno(rawValue: systemErrno)
    let limit: Limit? =
      code == .tooManyOpenFiles
      ? SystemLimits.current().descriptorLimit.map { .descriptors(limit: $0) } : nil
    return HinixError(code, operation: operation, limit: limit, detail: detail)
  }

  /// An argument rejected before any system call.
  static func invalid(
    _ detail: String, queueName: String? = nil, errno: Errno = .invalidArgument,
    limit: Limit? = nil
  ) -> HinixError {
    HinixError(errno, operation: .validation, queueName: queueName, limit: limit, detail: detail)
  }

  /// An operation on a descriptor that was already closed through this object.
  static func closed(_ operation: Operation, queueName: String?) -> HinixError {
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
