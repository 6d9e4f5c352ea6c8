import CHinix
import SystemPackage

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// An eventfd: a 64-bit counter in the kernel that threads and processes can
/// add to and wait on, usable with `poll` and `epoll`.
///
/// ```swift
/// let event = try EventFd()
/// try event.write(3)
/// try event.write(4)
/// let total = try event.read()     // 7, and the counter is 0 again
/// ```
///
/// In the default *counter* mode, a read returns the whole count and resets
/// it to zero. In *semaphore* mode (``Options/semaphore``), a read returns 1
/// and decrements the count by one. A read of a zero counter waits; a write
/// that would take the counter past `0xfffffffffffffffe` waits for a read.
///
/// The descriptor is opened close-on-exec unless you pass
/// ``Options/inheritable``, and closed exactly once, by ``close()`` or when the
/// object is deinitialised. `EventFd` is `Sendable` and safe to use from many
/// threads at once, with the same close semantics as ``MsgQueue``.
///
/// See `eventfd(2)`.
public final class EventFd: Sendable {
  /// The options the eventfd was created with.
  public let options: Options
  let guarded: GuardedDescriptor

  /// The largest value the counter can hold: `0xfffffffffffffffe`.
  ///
  /// A literal so that reading it costs nothing (a test checks it against
  /// the C shim's `CHinix_EVENTFD_MAX`).
  public static let maximumValue: UInt64 = 0xffff_ffff_ffff_fffe

  /// How to create an eventfd.
  public struct Options: OptionSet, Sendable, Hashable {
    /// The option bits (Hinix's own, not `EFD_*` values).
    public let rawValue: Int
    /// Creates options from their bits.
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// Reads return 1 and decrement the counter (`EFD_SEMAPHORE`).
    public static let semaphore = Options(rawValue: 1 << 0)
    /// Reads of a zero counter and writes that would overflow fail with
    /// `EAGAIN` instead of blocking (`EFD_NONBLOCK`).
    public static let nonBlocking = Options(rawValue: 1 << 1)
    /// Leave the descriptor open across `exec` (no `EFD_CLOEXEC`).
    public static let inheritable = Options(rawValue: 1 << 2)

    var flags: CInt {
      var flags: CInt = 0
      if contains(.semaphore) { flags |= CHinix_EFD_SEMAPHORE }
      if contains(.nonBlocking) { flags |= CHinix_EFD_NONBLOCK }
      if !contains(.inheritable) { flags |= CHinix_EFD_CLOEXEC }
      return flags
    }
  }

  /// Creates an eventfd.
  ///
  /// - Parameters:
  ///   - initialValue: The counter's starting value. The kernel takes an
  ///     `unsigned int`, so it is a `UInt32` (hinix truncates wider values silently).
  ///   - options: Semaphore mode, non-blocking, inheritable.
  /// - Throws: ``HinixError``: `EMFILE` or `ENFILE` when descriptors run out.
  ///
  /// The corresponding C function is `eventfd`.
  public init(initialValue: UInt32 = 0, options: Options = []) throws(HinixError) {
    let fd = CHinix_eventfd(initialValue, options.flags)
    guard fd != -1 else {
      throw HinixError.currentOpening(.eventfd)
    }
    self.options = options
    self.guarded = GuardedDescriptor(fd, label: nil) { Glibc.close($0) }
  }

  init(adopting fd: CInt, options: Options) {
    self.options = options
    self.guarded = GuardedDescriptor(fd, label: nil) { Glibc.close($0) }
  }

  /// Creates an eventfd in semaphore mode.
  ///
  /// - Parameters:
  ///   - initialValue: How many reads can succeed before one waits.
  ///   - options: More options; ``Options/semaphore`` is added.
  /// - Returns: The eventfd.
  /// - Throws: As ``init(initialValue:options:)``.
  public static func semaphore(initialValue: UInt32 = 0, options: Options = []) throws(HinixError) -> EventFd {
    try EventFd(initialValue: initialValue, options: options.union(.semaphore))
  }

  // MARK: Reading

  /// Reads the counter, waiting while it is zero.
  ///
  /// - Parameter retryOnInterrupt: Whether to go on waiting when a signal
  ///   interrupts the call (`EINTR`).
  /// - Returns: In counter mode, the count, which is reset to zero; in
  ///   semaphore mode, 1, and the count is decremented.
  /// - Throws: ``HinixError``: `EAGAIN` if the eventfd is non-blocking and the
  ///   counter is zero.
  ///
  /// The corresponding C function is `read`.
  public func read(retryOnInterrupt: Bool = true) throws(HinixError) -> UInt64 {
    try guarded.withDescriptor(.read) { (fd) throws(HinixError) in
      var value: UInt64 = 0
      if retrying(retryOnInterrupt, { CHinix_eventfd_read(fd, &value) }) != 0 {
        try throwCurrentError(.read)
      }
      return value
    }
  }

  @inline(never)
  func throwCurrentError(_ operation: HinixError.Operation) throws(HinixError) -> Never {
    throw HinixError.current(operation)
  }

  /// Reads the counter if it is not zero, without waiting and without
  /// changing the descriptor's shared `O_NONBLOCK` flag.
  ///
  /// - Returns: The value, as ``read(retryOnInterrupt:)``, or `nil` if the counter is zero.
  /// - Throws: ``HinixError``.
  ///
  /// The corresponding C function is `preadv2` with `RWF_NOWAIT`; on kernels
  /// whose eventfd lacks it, `poll` then `read`, in which case a thread
  /// that reads between the two can make this call wait.
  public func tryRead() throws(HinixError) -> UInt64? {
    try guarded.withDescriptor(.read) { (fd) throws(HinixError) in try tryRead(fd) }
  }

  private func tryRead(_ fd: CInt) throws(HinixError) -> UInt64? {
    var value: UInt64 = 0
    if retrying(true, { CHinix_eventfd_read_nowait(fd, &value) }) == 0 { return value }
    switch systemErrno {
    case EAGAIN: return nil
    case EOPNOTSUPP, EINVAL:
      guard try pollReady(fd, events: Int16(POLLIN), timeout: .zero, operation: .poll, label: nil)
      else { return nil }
      guard retrying(true, { CHinix_eventfd_read(fd, &value) }) == 0 else {
        if systemErrno == EAGAIN { return nil }
        throw HinixError.current(.read)
      }
      return value
    default:
      throw HinixError.current(.preadv2)
    }
  }

  /// Reads the counter, waiting at most `timeout` while it is zero.
  ///
  /// The wait uses `poll` on the monotonic clock, so changing the system
  /// time neither stretches nor cuts it short. When another reader takes the
  /// count first, the call waits again for the time that is left.
  ///
  /// - Parameter timeout: The longest wait. Zero or less tries once without
  ///   waiting; more than 2^62 seconds (146 billion years) waits as long as it takes.
  /// - Returns: The value, as ``read(retryOnInterrupt:)``.
  /// - Throws: ``HinixError``: `ETIMEDOUT` if the counter stayed zero.
  public func read(timeout: Duration) throws(HinixError) -> UInt64 {
    try guarded.withDescriptor(.read) { (fd) throws(HinixError) in
      let clock = SuspendingClock()
      let deadline = clock.deadline(after: timeout)
      while true {
        if let value = try tryRead(fd) { return value }
        let left = deadline.map { clock.now.duration(to: $0) }
        guard left.map({ $0 > .zero }) ?? true,
          try pollReady(fd, events: Int16(POLLIN), timeout: left, operation: .poll, label: nil)
        else {
          throw HinixError(
            .timedOut, operation: .read, detail: "the counter stayed zero for \(timeout)")
        }
      }
    }
  }

  /// Waits until the counter is not zero, without reading it.
  ///
  /// - Parameter timeout: The longest wait, on the monotonic clock, or `nil`
  ///   to wait as long as it takes. Zero or less looks once without waiting;
  ///   more than 2^62 seconds (146 billion years) is the same as `nil`.
  /// - Returns: `true` if the counter is not zero, `false` if the time ran out.
  /// - Throws: ``HinixError``.
  ///
  /// The corresponding C function is `poll`.
  public func waitUntilReadable(timeout: Duration? = nil) throws(HinixError) -> Bool {
    try guarded.withDescriptor(.poll) { (fd) throws(HinixError) in
      try pollReady(fd, events: Int16(POLLIN), timeout: timeout, operation: .poll, label: nil)
    }
  }

  // MARK: Writing

  /// Adds `value` to the counter, waiting while that would take it past
  /// ``maximumValue``.
  ///
  /// - Parameters:
  ///   - value: What to add, at most ``maximumValue``.
  ///   - retryOnInterrupt: Whether to go on waiting when a signal interrupts the call.
  /// - Throws: ``HinixError``: `EINVAL` for `0xffffffffffffffff`, `EAGAIN` if
  ///   the eventfd is non-blocking and the counter would overflow.
  ///
  /// The corresponding C function is `write`.
  public func write(_ value: UInt64 = 1, retryOnInterrupt: Bool = true) throws(HinixError) {
    try guarded.withDescriptor(.write) { (fd) throws(HinixError) in
      if retrying(retryOnInterrupt, { CHinix_eventfd_write(fd, value) }) != 0 {
        try throwWriteError(value)
      }
    }
  }

  @inline(never)
  func throwWriteError(_ value: UInt64) throws(HinixError) -> Never {
    let detail: String? =
      switch systemErrno {
      case EINVAL: "an eventfd counter holds at most 0xfffffffffffffffe"
      case EAGAIN: "adding \(value) would take the counter past 0xfffffffffffffffe"
      default: nil
      }
    throw HinixError.current(.write, detail: detail)
  }

  // MARK: Descriptor

  /// Opens a second descriptor for the same eventfd (close-on-exec). The two
  /// share the counter and the non-blocking flag; each closes on its own.
  ///
  /// - Returns: The new `EventFd`.
  /// - Throws: ``HinixError``: `EMFILE` when descriptors run out.
  ///
  /// The corresponding C function is `fcntl` with `F_DUPFD_CLOEXEC`.
  public func duplicate() throws(HinixError) -> EventFd {
    try guarded.withDescriptor(.fcntl) { (fd) throws(HinixError) in
      let copy = fcntl(fd, F_DUPFD_CLOEXEC, 0)
      guard copy != -1 else { throw HinixError.current(.fcntl) }
      return EventFd(adopting: copy, options: options.subtracting(.inheritable))
    }
  }

  /// The eventfd's descriptor, for `poll`, `select` or `epoll`: readable when
  /// the counter is not zero, writable when at least 1 can be added.
  ///
  /// Valid only while this object is alive and not closed; see
  /// ``MsgQueue/descriptor`` for how to keep it so, or use ``withDescriptor(_:)``.
  public var descriptor: FileDescriptor { FileDescriptor(rawValue: guarded.rawValue) }

  /// Calls `body` with the descriptor, which stays open until `body` returns.
  ///
  /// - Throws: ``HinixError`` with `EBADF` if the eventfd was closed, or what `body` throws.
  ///   Untyped, because `body` may throw any error.
  public func withDescriptor<R>(_ body: (FileDescriptor) throws -> R) throws -> R {
    try guarded.withDescriptor(.withDescriptor) { (fd) throws(HinixError) in
      Result { try body(FileDescriptor(rawValue: fd)) }
    }.get()
  }

  /// Closes the descriptor, now or when the calls in flight return; closing
  /// again does nothing.
  ///
  /// - Throws: ``HinixError`` if the kernel reported an error.
  public func close() throws(HinixError) {
    try guarded.close(.close)
  }

  /// Whether ``close()`` has been called.
  public var isClosed: Bool { guarded.isClosed }
}
