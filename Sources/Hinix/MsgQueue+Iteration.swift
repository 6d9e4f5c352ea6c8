import CHinix
import Synchronization

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

// MARK: - Waiting without receiving

extension MsgQueue {
  /// Waits until the queue holds a message, without receiving it.
  ///
  /// Another receiver may take the message before you do: follow with
  /// ``tryReceive()`` and wait again if it returns `nil`.
  ///
  /// - Parameter timeout: The longest wait, on the monotonic clock, or `nil`
  ///   to wait as long as it takes. A signal does not end the wait early.
  /// - Returns: `true` if the queue holds a message, `false` if the time ran out.
  /// - Throws: ``HinixError``: `EBADF` if the queue was closed.
  ///
  /// The corresponding C function is `poll`, with `POLLIN`.
  public func waitUntilReadable(timeout: Duration? = nil) throws(HinixError) -> Bool {
    try waitUntil(Int16(POLLIN), timeout: timeout)
  }

  /// Waits until the queue has room for a message, without sending one.
  ///
  /// Another sender may fill the room before you send: follow with
  /// ``trySend(_:priority:)-(UnsafeRawBufferPointer,_)`` and wait again if it
  /// returns `false`.
  ///
  /// - Parameter timeout: The longest wait, on the monotonic clock, or `nil`
  ///   to wait as long as it takes. A signal does not end the wait early.
  /// - Returns: `true` if the queue has room, `false` if the time ran out.
  /// - Throws: ``HinixError``: `EBADF` if the queue was closed.
  ///
  /// The corresponding C function is `poll`, with `POLLOUT`.
  public func waitUntilWritable(timeout: Duration? = nil) throws(HinixError) -> Bool {
    try waitUntil(Int16(POLLOUT), timeout: timeout)
  }

  private func waitUntil(_ events: Int16, timeout: Duration?) throws(HinixError) -> Bool {
    try guarded.withDescriptor(.poll) { (fd) throws(HinixError) in
      try pollReady(fd, events: events, timeout: timeout, operation: .poll, label: name.description)
    }
  }
}

// MARK: - Iterating

extension MsgQueue {
  /// The queue's messages as they arrive, as a `Sequence` whose steps block
  /// the calling thread: the synchronous counterpart of ``messages``.
  ///
  /// ```swift
  /// let incoming = queue.incoming
  /// for message in incoming {
  ///   handle(message)
  /// }
  /// if let error = incoming.error { throw error }   // nil when the queue was closed
  /// ```
  ///
  /// Each step is ``receive(retryOnInterrupt:)``, retried after `EINTR`. The
  /// sequence ends when the queue has been closed through this object (the
  /// receive fails with `EBADF`), which is not an error, and at the first
  /// other failure, which it keeps in ``Incoming/error``; use
  /// ``Incoming/Iterator/nextMessage()`` in a `while` loop to have such
  /// failures thrown instead. A receive that is already blocked is not woken
  /// by ``close()``: the loop ends at its next step, after a message arrives
  /// (send one to stop it, or close it from inside the loop).
  ///
  /// Several loops over one queue share its messages: each message goes to
  /// one of them. Don't run it on Swift's cooperative thread pool; use
  /// ``messages`` in `async` code.
  public var incoming: Incoming { Incoming(queue: self) }

  /// A sequence of received messages whose steps block; see ``MsgQueue/incoming``.
  public struct Incoming: Sequence, Sendable {
    /// The queue.
    public let queue: MsgQueue
    private let failure = Failure()

    init(queue: MsgQueue) { self.queue = queue }

    /// The failure that ended the last iteration of this sequence (or of a
    /// copy of it), or `nil` if none did: the iteration is still going, or
    /// ended because the queue was closed.
    public var error: HinixError? { failure.error.withLock { $0 } }

    /// Creates the iterator.
    public func makeIterator() -> Iterator { Iterator(queue: queue, failure: failure) }

    /// Receives the next message on each step, blocking while the queue is empty.
    public struct Iterator: IteratorProtocol {
      /// The queue.
      public let queue: MsgQueue
      let failure: Failure
      private var finished = false

      init(queue: MsgQueue, failure: Failure) {
        self.queue = queue
        self.failure = failure
      }

      /// The next message, or `nil` once the queue is closed or a receive
      /// failed; the failure is then in ``MsgQueue/Incoming/error``.
      public mutating func next() -> Message? {
        do {
          return try nextMessage()
        } catch {
          failure.error.withLock { $0 = error }
          return nil
        }
      }

      /// The next message, or `nil` once the queue is closed through its
      /// object; other failures are thrown.
      ///
      /// ```swift
      /// var messages = queue.incoming.makeIterator()
      /// while let message = try messages.nextMessage() { handle(message) }
      /// ```
      ///
      /// - Returns: The message, or `nil` if the queue was closed.
      /// - Throws: ``HinixError`` as ``MsgQueue/receive(retryOnInterrupt:)``,
      ///   except `EBADF` after ``MsgQueue/close()``. After it threw, the
      ///   iteration is over and later calls return `nil`.
      ///
      /// The corresponding C function is `mq_receive`.
      public mutating func nextMessage() throws(HinixError) -> Message? {
        guard !finished else { return nil }
        do {
          return try queue.receive()
        } catch let error where error.errno == .badFileDescriptor && queue.isClosed {
          finished = true
          return nil
        } catch {
          finished = true
          throw error
        }
      }
    }

    /// Where an iteration leaves the error that ended it.
    final class Failure: Sendable {
      let error = Mutex<HinixError?>(nil)
    }
  }
}
