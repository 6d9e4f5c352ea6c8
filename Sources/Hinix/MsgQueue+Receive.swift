import CHinix

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

// MARK: - Receiving

extension MsgQueue {
  /// Receives the oldest message of the highest priority into `buffer`,
  /// waiting while the queue is empty.
  ///
  /// - Parameters:
  ///   - buffer: Where to put the message: at least ``messageSize`` bytes.
  ///   - retryOnInterrupt: Whether to go on waiting when a signal interrupts
  ///     the call (`EINTR`).
  /// - Returns: The message's length, at the start of `buffer`, and its priority.
  /// - Throws: ``HinixError``: `EMSGSIZE` if `buffer` is smaller than
  ///   ``messageSize`` (the message stays queued), `EBADF` if the queue was
  ///   opened write-only, `EAGAIN` if the descriptor is non-blocking and the
  ///   queue is empty.
  ///
  /// The corresponding C function is `mq_receive`. It makes no heap allocation.
  public func receive(
    into buffer: UnsafeMutableRawBufferPointer, retryOnInterrupt: Bool = true
  ) throws(HinixError) -> Received {
    try receive(into: buffer, wait: .blocking, retryOnInterrupt: retryOnInterrupt)!
  }

  /// Receives a message into `buffer` if one is queued, without waiting and
  /// without changing the descriptor's shared `O_NONBLOCK` flag.
  ///
  /// - Returns: The message's length and priority, or `nil` if the queue is empty.
  /// - Throws: ``HinixError`` for any other failure.
  ///
  /// The corresponding C function is `mq_timedreceive`, with a deadline that has passed.
  public func tryReceive(into buffer: UnsafeMutableRawBufferPointer) throws(HinixError) -> Received? {
    try receive(into: buffer, wait: .never, retryOnInterrupt: true)
  }

  /// Receives a message into `buffer`, waiting at most `timeout` while the queue is empty.
  ///
  /// The timeout is elapsed time on the monotonic clock, so setting the
  /// system time neither stretches nor cuts the wait: the call tries a
  /// receive that does not wait, then waits with `poll` for the time left, and
  /// tries again; when another receiver takes the message first, it waits again for
  /// what is left. The time left is measured on `SuspendingClock`
  /// (`CLOCK_MONOTONIC`), the clock of `poll`'s own timeout. Use
  /// ``receive(into:deadline:retryOnInterrupt:)``
  /// for a wall-clock deadline.
  ///
  /// Waiting in `poll` is not being blocked in a receive, as the kernel
  /// sees it: a `mq_notify` registration is notified of a message that
  /// arrives while only timed receivers wait, and they are not served in the
  /// order they began waiting. The blocking and `deadline:` forms wait in
  /// the kernel's receive.
  ///
  /// - Parameters:
  ///   - buffer: Where to put the message: at least ``messageSize`` bytes.
  ///   - timeout: The longest wait, measured on the monotonic clock. Zero or
  ///     less tries once without waiting; more than 2^62 seconds (146 billion
  ///     years) waits as long as it takes.
  /// - Returns: The message's length, at the start of `buffer`, and its priority.
  /// - Throws: ``HinixError``: `ETIMEDOUT` if no message came, and as
  ///   ``receive(into:retryOnInterrupt:)``.
  ///
  /// The corresponding C functions are `mq_timedreceive`, with a deadline
  /// that has passed, and `poll`. It makes no heap allocation.
  public func receive(
    into buffer: UnsafeMutableRawBufferPointer, timeout: Duration
  ) throws(HinixError) -> Received {
    let clock = SuspendingClock()
    let deadline = clock.deadline(after: timeout)
    while true {
      if let received = try receive(into: buffer, wait: .never, retryOnInterrupt: true) {
        return received
      }
      try waitReady(Int16(POLLIN), until: deadline, clock: clock, sending: false)
    }
  }

  /// Receives a message into `buffer`, waiting until `deadline` (on
  /// `CLOCK_REALTIME`) while the queue is empty.
  ///
  /// A deadline that has passed, including one before the Unix epoch, tries
  /// once without waiting.
  ///
  /// - Throws: ``HinixError``: `ETIMEDOUT` if no message came, and as
  ///   ``receive(into:retryOnInterrupt:)``.
  ///
  /// The corresponding C function is `mq_timedreceive`.
  public func receive(
    into buffer: UnsafeMutableRawBufferPointer, deadline: Deadline, retryOnInterrupt: Bool = true
  ) throws(HinixError) -> Received {
    try receive(into: buffer, wait: .deadline(deadline), retryOnInterrupt: retryOnInterrupt)!
  }

  /// Receives the next message, waiting while the queue is empty.
  ///
  /// The buffer is sized from the queue's real message size as the kernel
  /// reported it when the queue was opened.
  ///
  /// - Returns: The message's bytes and priority.
  /// - Throws: As ``receive(into:retryOnInterrupt:)``.
  public func receive(retryOnInterrupt: Bool = true) throws(HinixError) -> Message {
    try receiveMessage { (buffer) throws(HinixError) in try receive(into: buffer, wait: .blocking, retryOnInterrupt: retryOnInterrupt) }!
  }

  /// Receives the next message if one is queued, without waiting.
  ///
  /// - Returns: The message, or `nil` if the queue is empty.
  /// - Throws: As ``tryReceive(into:)``.
  public func tryReceive() throws(HinixError) -> Message? {
    try receiveMessage { (buffer) throws(HinixError) in try receive(into: buffer, wait: .never, retryOnInterrupt: true) }
  }

  /// Receives the next message, waiting at most `timeout` while the queue is empty.
  ///
  /// The timeout is measured on the monotonic clock, as in
  /// ``receive(into:timeout:)``; a change of the system time does not move it.
  ///
  /// - Throws: ``HinixError``: `ETIMEDOUT` if no message came.
  public func receive(timeout: Duration) throws(HinixError) -> Message {
    try receiveMessage { buffer throws(HinixError) in try receive(into: buffer, timeout: timeout) }!
  }

  /// Receives the next message, waiting until `deadline` while the queue is empty.
  ///
  /// - Throws: ``HinixError``: `ETIMEDOUT` if no message came.
  public func receive(deadline: Deadline, retryOnInterrupt: Bool = true) throws(HinixError) -> Message {
    try receiveMessage { (buffer) throws(HinixError) in
      try receive(into: buffer, wait: .deadline(deadline), retryOnInterrupt: retryOnInterrupt)
    }!
  }

  /// Receives the next message as text, waiting while the queue is empty.
  ///
  /// - Returns: The message decoded as UTF-8, with invalid sequences replaced
  ///   by U+FFFD; use ``receive(retryOnInterrupt:)`` for the exact bytes.
  /// - Throws: As ``receive(into:retryOnInterrupt:)``.
  public func receiveString(retryOnInterrupt: Bool = true) throws(HinixError) -> String {
    try receive(retryOnInterrupt: retryOnInterrupt).text
  }

  /// A `Message` sized from the kernel's message size, filled by `receiveInto`
  /// (one of the buffer receives); `nil` if it received nothing.
  func receiveMessage(
    _ receiveInto: (UnsafeMutableRawBufferPointer) throws(HinixError) -> Received?
  ) throws(HinixError) -> Message? {
    var priority: UInt32 = 0
    var received = false
    let bytes = try [UInt8](unsafeUninitializedCapacity: messageSize) {
      (buffer, count) throws(HinixError) in
      count = 0
      guard let got = try receiveInto(UnsafeMutableRawBufferPointer(buffer)) else { return }
      count = got.count
      priority = got.priority
      received = true
    }
    return received ? Message(bytes: bytes, priority: priority) : nil
  }

  /// The one receive path. Returns `nil` only for `.never` on an empty queue.
  /// Inlined into each public receive, so the `wait` switch folds away.
  @inline(__always)
  func receive(
    into buffer: UnsafeMutableRawBufferPointer, wait: Wait, retryOnInterrupt: Bool
  ) throws(HinixError) -> Received? {
    let operation: HinixError.Operation = if case .blocking = wait { .mqReceive } else { .mqTimedReceive }
    return try guarded.withDescriptor(operation) { (fd) throws(HinixError) in
      var priority: UInt32 = 0
      let base = buffer.baseAddress ?? danglingPointer
      let count: Int
      switch wait {
      case .blocking:
        count = retrying(retryOnInterrupt) { CHinix_mq_receive(fd, base, buffer.count, &priority) }
      case .deadline(let deadline):
        var time = deadline.kernelTimespec
        count = retrying(retryOnInterrupt) {
          CHinix_mq_timedreceive(fd, base, buffer.count, &priority, &time)
        }
      case .never:
        var time = timespec(tv_sec: 0, tv_nsec: 0)  // Deadline.expired
        count = retrying(true) { CHinix_mq_timedreceive(fd, base, buffer.count, &priority, &time) }
      }
      if count >= 0 { return Received(count: count, priority: priority) }
      _ = try transferFailed(operation, wait: wait, bytes: buffer.count, sending: false)
      return nil
    }
  }
}

extension MsgQueue {
  /// Waits with `poll` until the descriptor has `events` or `deadline` on
  /// `clock` passes (`nil`: no deadline); then throws `ETIMEDOUT`. The slow
  /// half of the `timeout:` calls, out of line.
  @inline(never)
  func waitReady(
    _ events: Int16, until deadline: SuspendingClock.Instant?, clock: SuspendingClock,
    sending: Bool
  ) throws(HinixError) {
    let left = deadline.map { clock.now.duration(to: $0) }  // nil: no limit
    var ready = false
    if left.map({ $0 > .zero }) ?? true {
      ready = try guarded.withDescriptor(.poll) { (fd) throws(HinixError) in
        try pollReady(fd, events: events, timeout: left, operation: .poll, label: name.description)
      }
    }
    guard ready else {
      throw transferError(
        sending ? .mqTimedSend : .mqTimedReceive, code: ETIMEDOUT, bytes: 0, sending: sending)
    }
  }
}
