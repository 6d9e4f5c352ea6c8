import CHinix
import SystemPackage

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

// MARK: - Sending

extension MsgQueue {
  /// Sends a message, waiting while the queue is full.
  ///
  /// Messages leave the queue highest priority first, and in the order they
  /// were sent within one priority.
  ///
  /// - Parameters:
  ///   - message: The message's bytes: at most ``messageSize`` of them.
  ///   - priority: `0 ..< 32768`; higher is received first.
  ///   - retryOnInterrupt: Whether to go on waiting when a signal interrupts
  ///     the call (`EINTR`).
  /// - Throws: ``HinixError``: `EMSGSIZE` if the message is too long, `EBADF`
  ///   if the queue was opened read-only, `EAGAIN` if the descriptor is
  ///   non-blocking and the queue is full, `EINVAL` for a priority out of range.
  ///
  /// The corresponding C function is `mq_send`. Sending from a buffer makes
  /// no heap allocation.
  public func send(
    _ message: UnsafeRawBufferPointer, priority: UInt32 = 0, retryOnInterrupt: Bool = true
  ) throws(HinixError) {
    _ = try send(message, priority: priority, wait: .blocking, retryOnInterrupt: retryOnInterrupt)
  }

  /// Sends a message if the queue has room, without waiting and without
  /// changing the descriptor's shared `O_NONBLOCK` flag.
  ///
  /// - Parameters: As ``send(_:priority:retryOnInterrupt:)-(UnsafeRawBufferPointer,_,_)``.
  /// - Returns: `false` if the queue is full.
  /// - Throws: ``HinixError`` for any other failure.
  ///
  /// The corresponding C function is `mq_timedsend`, with a deadline that has passed.
  public func trySend(_ message: UnsafeRawBufferPointer, priority: UInt32 = 0) throws(HinixError) -> Bool {
    try send(message, priority: priority, wait: .never, retryOnInterrupt: true)
  }

  /// Sends a message, waiting at most `timeout` while the queue is full.
  ///
  /// The timeout is elapsed time on the monotonic clock, so setting the
  /// system time neither stretches nor cuts the wait: the call tries a
  /// send that does not wait, then waits with `poll` for the time left, and
  /// tries again; when another sender fills the room first, it waits again for
  /// what is left. The time left is measured on `SuspendingClock`
  /// (`CLOCK_MONOTONIC`), the clock of `poll`'s own timeout. Use
  /// ``send(_:priority:deadline:retryOnInterrupt:)-(UnsafeRawBufferPointer,_,_,_)``
  /// for a wall-clock deadline.
  ///
  /// - Parameters:
  ///   - message: The message's bytes: at most ``messageSize`` of them.
  ///   - priority: `0 ..< 32768`; higher is received first.
  ///   - timeout: The longest wait, measured on the monotonic clock. Zero or
  ///     less tries once without waiting; more than 2^62 seconds (146 billion
  ///     years) waits as long as it takes.
  /// - Throws: ``HinixError``: `ETIMEDOUT` if the queue stayed full, and as
  ///   ``send(_:priority:retryOnInterrupt:)-(UnsafeRawBufferPointer,_,_)``.
  ///
  /// The corresponding C functions are `mq_timedsend`, with a deadline that
  /// has passed, and `poll`. It makes no heap allocation.
  public func send(
    _ message: UnsafeRawBufferPointer, priority: UInt32 = 0, timeout: Duration
  ) throws(HinixError) {
    let clock = SuspendingClock()
    let deadline = clock.deadline(after: timeout)
    while try !send(message, priority: priority, wait: .never, retryOnInterrupt: true) {
      try waitReady(Int16(POLLOUT), until: deadline, clock: clock, sending: true)
    }
  }

  /// Sends a message, waiting until `deadline` (on `CLOCK_REALTIME`) while the queue is full.
  ///
  /// A deadline that has passed, including one before the Unix epoch, tries
  /// once without waiting.
  ///
  /// - Throws: ``HinixError``: `ETIMEDOUT` if the queue stayed full, `EINVAL`
  ///   if the queue is full and the deadline's nanoseconds are out of range.
  ///
  /// The corresponding C function is `mq_timedsend`.
  public func send(
    _ message: UnsafeRawBufferPointer, priority: UInt32 = 0, deadline: Deadline,
    retryOnInterrupt: Bool = true
  ) throws(HinixError) {
    _ = try send(
      message, priority: priority, wait: .deadline(deadline), retryOnInterrupt: retryOnInterrupt)
  }

  /// Sends the bytes of any sequence, waiting while the queue is full.
  ///
  /// A contiguous collection such as `[UInt8]`, `ArraySlice<UInt8>` or
  /// `String.UTF8View` is sent from its own storage; any other sequence is
  /// first copied into an array.
  ///
  /// - Throws: As ``send(_:priority:retryOnInterrupt:)-(UnsafeRawBufferPointer,_,_)``.
  public func send(
    _ message: some Sequence<UInt8>, priority: UInt32 = 0, retryOnInterrupt: Bool = true
  ) throws(HinixError) {
    try withBytes(message) { (buffer) throws(HinixError) in try send(buffer, priority: priority, retryOnInterrupt: retryOnInterrupt) }
  }

  /// Sends the bytes of any sequence if the queue has room, without waiting.
  ///
  /// - Returns: `false` if the queue is full.
  /// - Throws: As ``trySend(_:priority:)-(UnsafeRawBufferPointer,_)``.
  public func trySend(_ message: some Sequence<UInt8>, priority: UInt32 = 0) throws(HinixError) -> Bool {
    try withBytes(message) { (buffer) throws(HinixError) in try trySend(buffer, priority: priority) }
  }

  /// Sends the bytes of any sequence, waiting at most `timeout` while the queue is full.
  ///
  /// - Throws: As ``send(_:priority:timeout:)-(UnsafeRawBufferPointer,_,_)``.
  public func send(
    _ message: some Sequence<UInt8>, priority: UInt32 = 0, timeout: Duration
  ) throws(HinixError) {
    try withBytes(message) { (buffer) throws(HinixError) in
      try send(buffer, priority: priority, timeout: timeout)
    }
  }

  /// Sends the bytes of any sequence, waiting until `deadline` while the queue is full.
  ///
  /// - Throws: As ``send(_:priority:deadline:retryOnInterrupt:)-(UnsafeRawBufferPointer,_,_,_)``.
  public func send(
    _ message: some Sequence<UInt8>, priority: UInt32 = 0, deadline: Deadline,
    retryOnInterrupt: Bool = true
  ) throws(HinixError) {
    try withBytes(message) { (buffer) throws(HinixError) in
      try send(buffer, priority: priority, deadline: deadline, retryOnInterrupt: retryOnInterrupt)
    }
  }

  /// Sends a string's UTF-8 bytes, waiting while the queue is full.
  ///
  /// - Throws: As ``send(_:priority:retryOnInterrupt:)-(UnsafeRawBufferPointer,_,_)``.
  public func send(_ text: String, priority: UInt32 = 0, retryOnInterrupt: Bool = true) throws(HinixError) {
    try send(text.utf8, priority: priority, retryOnInterrupt: retryOnInterrupt)
  }

  /// Sends a string's UTF-8 bytes if the queue has room, without waiting.
  ///
  /// - Returns: `false` if the queue is full.
  /// - Throws: As ``trySend(_:priority:)-(UnsafeRawBufferPointer,_)``.
  public func trySend(_ text: String, priority: UInt32 = 0) throws(HinixError) -> Bool {
    try trySend(text.utf8, priority: priority)
  }

  /// Sends a string's UTF-8 bytes, waiting at most `timeout` while the queue is full.
  ///
  /// - Throws: As ``send(_:priority:timeout:)-(UnsafeRawBufferPointer,_,_)``.
  public func send(
    _ text: String, priority: UInt32 = 0, timeout: Duration
  ) throws(HinixError) {
    try send(text.utf8, priority: priority, timeout: timeout)
  }

  /// Sends a string's UTF-8 bytes, waiting until `deadline` while the queue is full.
  ///
  /// - Throws: As ``send(_:priority:deadline:retryOnInterrupt:)-(UnsafeRawBufferPointer,_,_,_)``.
  public func send(
    _ text: String, priority: UInt32 = 0, deadline: Deadline, retryOnInterrupt: Bool = true
  ) throws(HinixError) {
    try send(text.utf8, priority: priority, deadline: deadline, retryOnInterrupt: retryOnInterrupt)
  }

  /// The one send path: validates the priority, calls the kernel, explains
  /// the error. Inlined into each public send, so the `wait` switch folds
  /// away; the error paths are out of line.
  @inline(__always)
  func send(
    _ message: UnsafeRawBufferPointer, priority: UInt32, wait: Wait, retryOnInterrupt: Bool
  ) throws(HinixError) -> Bool {
    if priority >= Self.priorityLimit { try throwInvalidPriority(priority) }
    let operation: HinixError.Operation = if case .blocking = wait { .mqSend } else { .mqTimedSend }
    return try guarded.withDescriptor(operation) { (fd) throws(HinixError) in
      let base = message.baseAddress ?? UnsafeRawPointer(danglingPointer)
      let result: CInt
      switch wait {
      case .blocking:
        result = retrying(retryOnInterrupt) { CHinix_mq_send(fd, base, message.count, priority) }
      case .deadline(let deadline):
        var time = deadline.kernelTimespec
        result = retrying(retryOnInterrupt) {
          CHinix_mq_timedsend(fd, base, message.count, priority, &time)
        }
      case .never:
        var time = timespec(tv_sec: 0, tv_nsec: 0)  // Deadline.expired
        result = retrying(true) { CHinix_mq_timedsend(fd, base, message.count, priority, &time) }
      }
      if result == 0 { return true }
      return try transferFailed(operation, wait: wait, bytes: message.count, sending: true)
    }
  }

  @inline(never)
  func throwInvalidPriority(_ priority: UInt32) throws(HinixError) -> Never {
    throw HinixError.invalid(
      "priorities run from 0 to \(Self.priorityLimit - 1)", queueName: name.description,
      limit: .priority(requested: UInt(priority), maximum: Int(Self.priorityLimit)))
  }

  /// After a failed send or receive: `false` if a call that must not wait
  /// would have waited, else throws the explained error.
  @inline(never)
  func transferFailed(_ operation: HinixError.Operation, wait: Wait, bytes: Int, sending: Bool) throws(HinixError) -> Bool {
    let code = systemErrno
    if case .never = wait, code == EAGAIN || code == ETIMEDOUT { return false }
    throw transferError(operation, code: code, bytes: bytes, sending: sending)
  }

  /// An error from a send or receive, with what the caller needs to know.
  func transferError(_ operation: HinixError.Operation, code: CInt, bytes: Int, sending: Bool) -> HinixError {
    let detail: String?
    switch code {
    case EMSGSIZE where sending:
      detail =
        "the message is \(grouped(bytes)) bytes and the queue's message size is \(grouped(messageSize))"
    case EMSGSIZE:
      detail =
        "the buffer is \(grouped(bytes)) bytes, smaller than the queue's message size of \(grouped(messageSize))"
    case EBADF where !guarded.isClosed:
      detail =
        sending && access == .readOnly
        ? "the queue was opened read-only (O_RDONLY)"
        : (!sending && access == .writeOnly ? "the queue was opened write-only (O_WRONLY)" : nil)
    case EAGAIN:
      detail = sending ? "the queue is full" : "the queue is empty"
    case ETIMEDOUT:
      detail = sending ? "the queue stayed full until the deadline" : "no message came before the deadline"
    default:
      detail = nil
    }
    return HinixError(
      Errno(rawValue: code), operation: operation, queueName: name.description, detail: detail)
  }
}

/// Calls `body` with the bytes of `sequence`, from its own storage when it is contiguous.
@inline(__always)
func withBytes<R>(
  _ sequence: some Sequence<UInt8>, _ body: (UnsafeRawBufferPointer) throws(HinixError) -> R
) throws(HinixError) -> R {
  // Both are `rethrows`, which loses the error's type: carry it in a Result.
  if let result = sequence.withContiguousStorageIfAvailable({ buffer in
    Result { () throws(HinixError) in try body(UnsafeRawBufferPointer(buffer)) }
  }) {
    return try result.get()
  }
  return try Array(sequence).withUnsafeBytes { buffer in
    Result { () throws(HinixError) in try body(buffer) }
  }.get()
}
