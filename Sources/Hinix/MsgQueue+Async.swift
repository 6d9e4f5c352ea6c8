import CHinix

// MARK: - async

extension MsgQueue {
  /// The queue's `async` calls, which suspend the task instead of blocking
  /// its thread: `try await queue.async.receive()`.
  ///
  /// They are a separate view rather than `async` overloads of ``send(_:priority:retryOnInterrupt:)-(UnsafeRawBufferPointer,_,_)``
  /// and ``receive(retryOnInterrupt:)``, because Swift prefers an `async`
  /// overload inside `async` code: every blocking call already written there
  /// would stop compiling, or change meaning once `await` was added.
  public var async: AsyncCalls { AsyncCalls(queue: self) }

  /// Sending and receiving that suspend the task, not the thread, while the
  /// queue is full or empty. Get one from ``MsgQueue/async``.
  ///
  /// Each call tries the non-waiting call first (``MsgQueue/tryReceive(into:)``,
  /// ``MsgQueue/trySend(_:priority:)-(UnsafeRawBufferPointer,_)``). When it
  /// would wait, the task registers with Hinix's reactor, one thread that
  /// waits in `epoll_wait` for every suspended call in the process, and is
  /// resumed when the descriptor is readable (receive) or writable (send); it
  /// then tries again, and waits again if another receiver or sender won.
  /// No thread blocks and nothing spins.
  ///
  /// - Cancellation: a cancelled task stops waiting at once and the call
  ///   throws `CancellationError`. A receive that throws it has not dequeued
  ///   a message: the message stays for the next receiver. A call that finds
  ///   the queue ready returns its result even if the task was cancelled.
  /// - Closing: ``MsgQueue/close()`` while a call waits resumes it with
  ///   ``HinixError`` `EBADF`; the descriptor is closed once it has left the
  ///   reactor.
  /// - A descriptor opened with ``Options/nonBlocking`` works the same way.
  /// - Errors: each call throws ``HinixError``, or `CancellationError` when
  ///   its task is cancelled. Two types, so their `throws` is untyped (the
  ///   synchronous calls declare `throws(HinixError)`); the reactor that they
  ///   wait in starts with the first call that waits, and if it cannot (out of
  ///   descriptors or threads) that call throws `EMFILE` or `EAGAIN` and a
  ///   later one tries again.
  public struct AsyncCalls: Sendable {
    /// The queue.
    public let queue: MsgQueue

    /// Receives the oldest message of the highest priority into `buffer`,
    /// suspending the task while the queue is empty.
    ///
    /// - Parameter buffer: At least ``MsgQueue/messageSize`` bytes.
    /// - Returns: The message's length, at the start of `buffer`, and its priority.
    /// - Throws: `CancellationError`, or ``HinixError`` as
    ///   ``MsgQueue/receive(into:retryOnInterrupt:)``.
    ///
    /// The corresponding C functions are `mq_timedreceive`, with a deadline
    /// that has passed, and `epoll_wait` on the reactor's thread.
    public func receive(into buffer: UnsafeMutableRawBufferPointer) async throws -> Received {
      while true {
        if let received = try queue.tryReceive(into: buffer) { return received }
        try await queue.guarded.waitUntilReady(CHinix_EPOLLIN, .mqTimedReceive)
      }
    }

    /// Receives the next message, suspending the task while the queue is empty.
    ///
    /// - Returns: The message's bytes and priority.
    /// - Throws: As ``receive(into:)``.
    public func receive() async throws -> Message {
      while true {
        if let message = try queue.tryReceive() { return message }
        try await queue.guarded.waitUntilReady(CHinix_EPOLLIN, .mqTimedReceive)
      }
    }

    /// Receives the next message as UTF-8 text (invalid sequences replaced
    /// by U+FFFD), suspending the task while the queue is empty.
    ///
    /// - Throws: As ``receive(into:)``.
    public func receiveString() async throws -> String {
      try await receive().text
    }

    /// Sends a message, suspending the task while the queue is full.
    ///
    /// - Parameters:
    ///   - message: At most ``MsgQueue/messageSize`` bytes.
    ///   - priority: `0 ..< 32768`; higher is received first.
    /// - Throws: `CancellationError` (the message was not sent), or
    ///   ``HinixError`` as ``MsgQueue/send(_:priority:retryOnInterrupt:)-(UnsafeRawBufferPointer,_,_)``.
    ///
    /// The corresponding C functions are `mq_timedsend`, with a deadline
    /// that has passed, and `epoll_wait` on the reactor's thread.
    public func send(_ message: UnsafeRawBufferPointer, priority: UInt32 = 0) async throws {
      while try !queue.trySend(message, priority: priority) {
        try await queue.guarded.waitUntilReady(CHinix_EPOLLOUT, .mqTimedSend)
      }
    }

    /// Sends the bytes of a collection, suspending the task while the queue is full.
    ///
    /// - Throws: As ``send(_:priority:)-(UnsafeRawBufferPointer,_)``.
    public func send(_ message: some Collection<UInt8>, priority: UInt32 = 0) async throws {
      while try !queue.trySend(message, priority: priority) {
        try await queue.guarded.waitUntilReady(CHinix_EPOLLOUT, .mqTimedSend)
      }
    }

    /// Sends a string's UTF-8 bytes, suspending the task while the queue is full.
    ///
    /// - Throws: As ``send(_:priority:)-(UnsafeRawBufferPointer,_)``.
    public func send(_ text: String, priority: UInt32 = 0) async throws {
      try await send(text.utf8, priority: priority)
    }

    /// Suspends the task until the queue holds a message, without receiving it.
    ///
    /// - Throws: `CancellationError`, or ``HinixError`` `EBADF` if the queue is closed.
    public func waitUntilReadable() async throws {
      try await queue.guarded.waitUntilReady(CHinix_EPOLLIN, .epollWait)
    }

    /// Suspends the task until the queue has room for a message.
    ///
    /// - Throws: `CancellationError`, or ``HinixError`` `EBADF` if the queue is closed.
    public func waitUntilWritable() async throws {
      try await queue.guarded.waitUntilReady(CHinix_EPOLLOUT, .epollWait)
    }
  }

  /// The queue's messages as they arrive, as an asynchronous sequence.
  ///
  /// ```swift
  /// for try await message in queue.messages {
  ///   handle(message)
  /// }
  /// ```
  ///
  /// Each step is ``AsyncCalls/receive()``: it suspends the task while the
  /// queue is empty. The sequence ends (returns `nil`) when the queue is
  /// closed through this object or the task is cancelled; other errors are
  /// thrown. Several loops over one queue share its messages: each message
  /// goes to one of them.
  public var messages: Messages { Messages(queue: self) }

  /// An asynchronous sequence of received messages; see ``MsgQueue/messages``.
  public struct Messages: AsyncSequence, Sendable {
    /// What the sequence throws: only ``HinixError``.
    public typealias Failure = HinixError

    /// The queue.
    public let queue: MsgQueue

    /// Creates the iterator.
    public func makeAsyncIterator() -> Iterator { Iterator(queue: queue) }

    /// Receives the next message on each step.
    public struct Iterator: AsyncIteratorProtocol {
      /// What a step throws: cancellation and closing end the sequence instead.
      public typealias Failure = HinixError

      let queue: MsgQueue

      /// The next message, or `nil` once the queue is closed or the task cancelled.
      ///
      /// - Throws: ``HinixError`` for any failure but the queue's closing;
      ///   cancellation ends the sequence rather than throwing.
      public mutating func next() async throws(HinixError) -> Message? {
        while true {
          if let message = try queue.tryReceive() { return message }
          do {
            try await queue.guarded.waitUntilReady(CHinix_EPOLLIN, .mqTimedReceive)
          } catch is CancellationError {
            return nil
          } catch let error as HinixError {
            if error.errno == .badFileDescriptor && queue.isClosed { return nil }
            throw error
          } catch {
            return nil  // waitUntilReady throws nothing else
          }
        }
      }
    }
  }
}

// MARK: - EventFd

extension EventFd {
  /// The eventfd's `async` calls, which suspend the task instead of
  /// blocking its thread: `try await event.async.read()`. See
  /// ``MsgQueue/AsyncCalls`` for how they wait, are cancelled and end on close.
  public var async: AsyncCalls { AsyncCalls(event: self) }

  /// Reading and waiting that suspend the task, not the thread. Get one from ``EventFd/async``.
  ///
  /// Each call throws ``HinixError``, or `CancellationError` when its task
  /// is cancelled, so their `throws` is untyped; see ``MsgQueue/AsyncCalls``.
  public struct AsyncCalls: Sendable {
    /// The eventfd.
    public let event: EventFd

    /// Reads the counter, suspending the task while it is zero.
    ///
    /// - Returns: As ``EventFd/read(retryOnInterrupt:)``.
    /// - Throws: `CancellationError` (nothing was read), or ``HinixError``.
    ///
    /// The corresponding C functions are `preadv2` with `RWF_NOWAIT` and
    /// `epoll_wait` on the reactor's thread.
    public func read() async throws -> UInt64 {
      while true {
        if let value = try event.tryRead() { return value }
        try await event.guarded.waitUntilReady(CHinix_EPOLLIN, .read)
      }
    }

    /// Suspends the task until the counter is not zero, without reading it.
    ///
    /// - Throws: `CancellationError`, or ``HinixError`` `EBADF` if the eventfd is closed.
    public func wait() async throws {
      try await event.guarded.waitUntilReady(CHinix_EPOLLIN, .epollWait)
    }
  }
}
