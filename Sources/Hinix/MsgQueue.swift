import CHinix
import Synchronization
import SystemPackage

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// A POSIX message queue: an open descriptor for a named, kernel-persistent
/// queue of prioritised messages that processes on one host share.
///
/// ```swift
/// let queue = try MsgQueue.create("/jobs", maxMessages: 8, messageSize: 256)
/// defer { try? MsgQueue.unlink("/jobs") }
/// try queue.send("build", priority: 5)
/// let message = try queue.receive()          // bytes and priority
/// ```
///
/// A `MsgQueue` owns its descriptor and closes it exactly once: when you call
/// ``close()``, or when the object is deinitialised. The descriptor is
/// opened close-on-exec unless you pass ``Options/inheritable``, and new
/// queues get owner-only permissions (0600) unless you ask for others.
///
/// ## Thread safety
///
/// `MsgQueue` is `Sendable`: any number of threads and tasks may send and
/// receive on one queue at once, and the kernel serialises the messages.
/// ``close()`` is safe at any time: later calls fail with `EBADF`, and the
/// descriptor itself is closed only when the calls already in flight return, so
/// no call can reach a descriptor number that was reused. A blocked call is
/// not woken by ``close()``; wake it with a message, a timeout or a signal.
/// A call through ``async`` suspends its task instead of blocking, and
/// ``close()`` ends its wait with `EBADF`.
///
/// ## Notification
///
/// A process can register for notification with ``requestNotification(_:)``.
/// The kernel drops the registration when the process closes *any* descriptor
/// of the queue, including a second `MsgQueue` for the same name: keep one
/// object per queue per process while you rely on notification.
///
/// See `mq_overview(7)`.
public final class MsgQueue: Sendable {
  /// The name the queue was opened with.
  public let name: MsgQueueName
  /// How the queue was opened.
  public let access: AccessMode
  /// The largest message the queue holds, in bytes, as read back from the
  /// kernel when the queue was opened. It never changes during a queue's life.
  public let messageSize: Int
  /// The most messages the queue holds, as read back from the kernel when the
  /// queue was opened. It never changes during a queue's life.
  public let maxMessages: Int

  let guarded: GuardedDescriptor

  /// What to do when ``close()`` is first called: each live ``Arrivals``
  /// sequence ends its pending step. Taken (emptied) by the first close.
  let closeObservers = Mutex<[ObjectIdentifier: @Sendable () -> Void]>([:])

  /// The highest message priority plus one: priorities are `0 ..< 32768` on Linux.
  ///
  /// Linux's `MQ_PRIO_MAX`, written as a literal so that reading it costs
  /// nothing (a test checks it against the C header's value).
  public static let priorityLimit: UInt32 = 32_768

  // MARK: Opening

  /// Opens, and optionally creates, the queue called `name`.
  ///
  /// - Parameters:
  ///   - name: The queue's name.
  ///   - access: Whether this descriptor receives, sends, or both.
  ///   - options: ``Options/create`` to create the queue if it does not exist,
  ///     ``Options/exclusive`` to fail with `EEXIST` if it does, and
  ///     ``Options/nonBlocking`` for a descriptor whose calls never block.
  ///   - permissions: The new queue's mode, filtered by the umask; ignored
  ///     when the queue exists. Owner read and write by default.
  ///   - capacity: The new queue's message count and size, or `nil` for the
  ///     system defaults (`msg_default` and `msgsize_default`). Ignored when
  ///     the queue exists: read ``maxMessages`` and ``messageSize`` instead.
  /// - Throws: ``HinixError``. When `mq_open` fails with `EINVAL`, `ENOSPC`
  ///   or `EMFILE`, its ``HinixError/limit`` names the limit that was hit.
  ///
  /// The corresponding C function is `mq_open`; then `fcntl` for ``Options/inheritable``.
  public init(
    _ name: MsgQueueName, access: AccessMode = .readWrite, options: Options = [],
    permissions: FilePermissions = .ownerReadWrite, capacity: Capacity? = nil
  ) throws(HinixError) {
    var flags = access.rawValue | O_CLOEXEC
    let creating = options.contains(.create) || options.contains(.exclusive)
    if creating { flags |= O_CREAT }
    if options.contains(.exclusive) { flags |= O_EXCL }
    if options.contains(.nonBlocking) { flags |= O_NONBLOCK }
    let fd: mqd_t
    if creating, let capacity {
      fd = name.withCString {
        CHinix_mq_open_attr(
          $0, flags, mode_t(permissions.rawValue), capacity.maxMessages, capacity.messageSize)
      }
    } else {
      fd = name.withCString { CHinix_mq_open($0, flags, mode_t(permissions.rawValue), nil) }
    }
    guard fd != -1 else {
      throw Self.openError(name: name, creating: creating, capacity: capacity)
    }
    var attributes = mq_attr()
    guard CHinix_mq_getattr(fd, &attributes) == 0 else {
      let error = HinixError.current(.mqGetAttr, queueName: name.description)
      CHinix_mq_close(fd)
      throw error
    }
    // glibc's mq_open always adds O_CLOEXEC (POSIX closes queues on exec); Linux lets it be cleared.
    if options.contains(.inheritable) && fcntl(fd, F_SETFD, 0) == -1 {
      let error = HinixError.current(.fcntl, queueName: name.description)
      CHinix_mq_close(fd)
      throw error
    }
    self.name = name
    self.access = access
    self.messageSize = attributes.mq_msgsize
    self.maxMessages = attributes.mq_maxmsg
    self.guarded = GuardedDescriptor(fd, label: name.description) { CHinix_mq_close($0) }
  }

  /// Takes ownership of an open queue descriptor whose attributes were read.
  init(owning fd: mqd_t, name: MsgQueueName, access: AccessMode, attributes: mq_attr) {
    self.name = name
    self.access = access
    self.messageSize = attributes.mq_msgsize
    self.maxMessages = attributes.mq_maxmsg
    self.guarded = GuardedDescriptor(fd, label: name.description) { CHinix_mq_close($0) }
  }

  /// Opens, and optionally creates, the queue called `name` after validating it.
  ///
  /// - Throws: ``HinixError``: `EINVAL` or `ENAMETOOLONG` for an invalid name,
  ///   otherwise as ``init(_:access:options:permissions:capacity:)-(MsgQueueName,_,_,_,_)``.
  public convenience init(
    _ name: String, access: AccessMode = .readWrite, options: Options = [],
    permissions: FilePermissions = .ownerReadWrite, capacity: Capacity? = nil
  ) throws(HinixError) {
    try self.init(
      MsgQueueName(name), access: access, options: options, permissions: permissions,
      capacity: capacity)
  }

  /// Creates the queue, or opens it if it exists, for sending and receiving.
  ///
  /// An existing queue keeps its own attributes: check ``maxMessages`` and
  /// ``messageSize`` on the result.
  ///
  /// - Parameters:
  ///   - name: The queue's name.
  ///   - maxMessages: The most messages the new queue holds.
  ///   - messageSize: The largest message the new queue holds, in bytes.
  ///   - permissions: The new queue's mode; owner read and write by default.
  /// - Returns: The open queue.
  /// - Throws: ``HinixError``, naming the limit that was hit if any.
  public static func create(
    _ name: String, maxMessages: Int, messageSize: Int,
    permissions: FilePermissions = .ownerReadWrite
  ) throws(HinixError) -> MsgQueue {
    try MsgQueue(
      name, options: .create, permissions: permissions,
      capacity: Capacity(maxMessages: maxMessages, messageSize: messageSize))
  }

  /// Creates a new queue for sending and receiving, failing with `EEXIST` if
  /// one with that name exists already.
  ///
  /// - Parameters: As ``create(_:maxMessages:messageSize:permissions:)``.
  /// - Returns: The open queue.
  /// - Throws: ``HinixError``: `EEXIST` if the name is taken.
  public static func createExclusive(
    _ name: String, maxMessages: Int, messageSize: Int,
    permissions: FilePermissions = .ownerReadWrite
  ) throws(HinixError) -> MsgQueue {
    try MsgQueue(
      name, options: [.create, .exclusive], permissions: permissions,
      capacity: Capacity(maxMessages: maxMessages, messageSize: messageSize))
  }

  /// Opens an existing queue.
  ///
  /// - Parameters:
  ///   - name: The queue's name.
  ///   - access: Whether this descriptor receives, sends, or both.
  ///   - options: ``Options/nonBlocking`` for a descriptor whose calls never block.
  /// - Returns: The open queue.
  /// - Throws: ``HinixError``: `ENOENT` if there is no such queue.
  public static func open(
    _ name: String, access: AccessMode = .readWrite, options: Options = []
  ) throws(HinixError) -> MsgQueue {
    try MsgQueue(name, access: access, options: options)
  }

  /// Removes the queue's name. The queue itself lives on until every process
  /// that has it open closes it.
  ///
  /// - Parameter name: The queue's name.
  /// - Throws: ``HinixError``: `ENOENT` if there is no such queue, `EACCES`
  ///   if the caller may not remove it.
  ///
  /// The corresponding C function is `mq_unlink`.
  public static func unlink(_ name: MsgQueueName) throws(HinixError) {
    guard name.withCString({ CHinix_mq_unlink($0) }) == 0 else {
      throw HinixError.current(.mqUnlink, queueName: name.description)
    }
  }

  /// Validates `name` and removes the queue's name.
  ///
  /// - Throws: ``HinixError`` as ``unlink(_:)-(MsgQueueName)``, or for an invalid name.
  public static func unlink(_ name: String) throws(HinixError) {
    try unlink(MsgQueueName(name))
  }

  /// Closes the descriptor, now or, if other threads are in calls on it, when
  /// they return. Later calls fail with `EBADF`; closing again does nothing.
  ///
  /// Closing drops this process's notification registration on the queue.
  ///
  /// - Throws: ``HinixError`` if the kernel reported an error.
  ///
  /// The corresponding C function is `mq_close`.
  public func close() throws(HinixError) {
    defer {
      // The registration is gone with the descriptor: end the arrivals
      // sequences' pending steps rather than leave them waiting forever.
      let observers = closeObservers.withLock { observers in
        defer { observers = [:] }
        return observers
      }
      for observer in observers.values { observer() }
    }
    try guarded.close(.mqClose)
  }

  /// Whether ``close()`` has been called.
  public var isClosed: Bool { guarded.isClosed }

  /// The queue's descriptor, for `poll`, `select` or `epoll`: readable when
  /// the queue holds a message, writable when it has room.
  ///
  /// The descriptor belongs to this object and is valid only while it is
  /// alive and not closed. Swift may end an object's life after its last use,
  /// so either keep using the queue after the descriptor (for example with
  /// `withExtendedLifetime(queue)`) or use ``withDescriptor(_:)``.
  public var descriptor: FileDescriptor { FileDescriptor(rawValue: guarded.rawValue) }

  /// Calls `body` with the queue's descriptor, which stays open until `body` returns.
  ///
  /// - Throws: ``HinixError`` with `EBADF` if the queue was closed, or what `body` throws.
  ///   Untyped, because `body` may throw any error.
  public func withDescriptor<R>(_ body: (FileDescriptor) throws -> R) throws -> R {
    try guarded.withDescriptor(.withDescriptor) { (fd) throws(HinixError) in
      Result { try body(FileDescriptor(rawValue: fd)) }
    }.get()
  }

  static func openError(name: MsgQueueName, creating: Bool, capacity: Capacity?) -> HinixError {
    let code = systemErrno
    let explained = SystemLimits.current().explainOpenFailure(
      errno: code, creating: creating, capacity: capacity, probe: true)
    var detail = explained.detail
    if detail == nil && explained.limit == nil {
      switch code {
      case ENOENT: detail = "no queue has this name; create it first (O_CREAT)"
      case EEXIST: detail = "a queue with this name exists already"
      case EACCES: detail = "the queue's permissions do not allow this access"
      default: break
      }
    }
    return HinixError(
      Errno(rawValue: code), operation: .mqOpen, queueName: name.description,
      limit: explained.limit, detail: detail)
  }
}

// MARK: - Types

extension MsgQueue {
  /// Whether a descriptor receives, sends, or both.
  public struct AccessMode: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    /// The `O_RDONLY`, `O_WRONLY` or `O_RDWR` flag.
    public let rawValue: CInt
    /// Creates an access mode from its `O_*` flag.
    public init(rawValue: CInt) { self.rawValue = rawValue }

    /// Receive only (`O_RDONLY`): sending fails with `EBADF`.
    public static let readOnly = AccessMode(rawValue: O_RDONLY)
    /// Send only (`O_WRONLY`): receiving fails with `EBADF`.
    public static let writeOnly = AccessMode(rawValue: O_WRONLY)
    /// Send and receive (`O_RDWR`).
    public static let readWrite = AccessMode(rawValue: O_RDWR)

    /// `O_RDONLY`, `O_WRONLY`, `O_RDWR`, or the number.
    public var description: String {
      switch self {
      case .readOnly: "O_RDONLY"
      case .writeOnly: "O_WRONLY"
      case .readWrite: "O_RDWR"
      default: "access mode \(rawValue)"
      }
    }
  }

  /// How to open a queue.
  public struct Options: OptionSet, Sendable, Hashable {
    /// The option bits (Hinix's own, not `O_*` values).
    public let rawValue: Int
    /// Creates options from their bits.
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// Create the queue if it does not exist (`O_CREAT`).
    public static let create = Options(rawValue: 1 << 0)
    /// Fail with `EEXIST` if the queue exists (`O_CREAT | O_EXCL`); implies ``create``.
    public static let exclusive = Options(rawValue: 1 << 1)
    /// Calls on this descriptor fail with `EAGAIN` instead of blocking (`O_NONBLOCK`).
    /// The flag is shared by every copy of the descriptor, also across `fork`.
    public static let nonBlocking = Options(rawValue: 1 << 2)
  }

  /// The size of a new queue: how many messages it holds and how large each may be.
  public struct Capacity: Sendable, Hashable {
    /// The most messages the queue holds (`mq_maxmsg`).
    public var maxMessages: Int
    /// The largest message, in bytes (`mq_msgsize`).
    public var messageSize: Int
    /// Creates a capacity.
    public init(maxMessages: Int, messageSize: Int) {
      self.maxMessages = maxMessages
      self.messageSize = messageSize
    }
  }

  /// A queue's attributes as the kernel reports them (`struct mq_attr`).
  public struct Attributes: Sendable, Hashable {
    /// The most messages the queue holds (`mq_maxmsg`).
    public var maxMessages: Int
    /// The largest message, in bytes (`mq_msgsize`).
    public var messageSize: Int
    /// How many messages are queued now (`mq_curmsgs`).
    public var currentMessages: Int
    /// Whether this descriptor's calls fail instead of blocking (`O_NONBLOCK` in `mq_flags`).
    public var isNonBlocking: Bool
  }

  /// A received message.
  public struct Message: Sendable, Hashable {
    /// The message's bytes.
    public var bytes: [UInt8]
    /// The message's priority.
    public var priority: UInt32

    /// Creates a message.
    public init(bytes: [UInt8], priority: UInt32 = 0) {
      self.bytes = bytes
      self.priority = priority
    }
    /// The bytes decoded as UTF-8, with any invalid sequence replaced by U+FFFD.
    public var text: String { String(decoding: bytes, as: UTF8.self) }
  }

  /// What a receive into a caller's buffer got: the message's length and priority.
  public struct Received: Sendable, Hashable {
    /// The message's length in bytes, at the start of the buffer.
    public var count: Int
    /// The message's priority.
    public var priority: UInt32
  }

  /// How a call waits when the queue is full (send) or empty (receive).
  enum Wait {
    /// Until it can go on (or the descriptor is non-blocking).
    case blocking
    /// Until the deadline, then `ETIMEDOUT`.
    case deadline(Deadline)
    /// Not at all: report "would block".
    case never
  }
}
