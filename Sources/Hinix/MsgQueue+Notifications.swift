import CHinix
import Synchronization

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

// MARK: - SIGEV_THREAD

/// Handlers of pending `SIGEV_THREAD` registrations, by the number passed as
/// the notification's `sival_ptr`. A handler leaves the table when it runs
/// or its registration is cancelled, so a late notification finds nothing and
/// no pointer to freed memory ever reaches the kernel or glibc.
private let threadHandlers = Mutex<(next: UInt, handlers: [UInt: @Sendable () -> Void])>(
  (1, [:]))

/// What glibc calls on its notification thread.
private let threadTrampoline: @convention(c) (sigval) -> Void = { value in
  let key = UInt(bitPattern: value.sival_ptr)
  let handler = threadHandlers.withLock { $0.handlers.removeValue(forKey: key) }
  handler?()
}

extension MsgQueue {
  /// Registers this process to have `handler` called, once, on a new thread
  /// when a message arrives on the empty queue (`SIGEV_THREAD`).
  ///
  /// The kernel's rules are those of ``requestNotification(_:)``:
  /// one registration per queue across all processes (`EBUSY`, naming the
  /// holder), once only, none while a receiver is blocked in a receive, and
  /// dropped when this process closes any descriptor of the queue. Register
  /// again, from the handler or after draining, for the next message.
  ///
  /// - Parameter handler: Called on a thread glibc creates for it; it may block.
  /// - Throws: ``HinixError``: `EBUSY` if a process, this one included, is registered.
  ///
  /// The corresponding C function is `mq_notify` with `SIGEV_THREAD`.
  public func requestNotification(onThread handler: @escaping @Sendable () -> Void) throws(HinixError) {
    let key = threadHandlers.withLock { table in
      defer { table.next += 1 }
      table.handlers[table.next] = handler
      return table.next
    }
    do {
      try registerThreadNotification(key)
    } catch {
      _ = threadHandlers.withLock { $0.handlers.removeValue(forKey: key) }
      throw error
    }
  }

  fileprivate func registerThreadNotification(_ key: UInt) throws(HinixError) {
    try guarded.withDescriptor(.mqNotify) { (fd) throws(HinixError) in
      guard CHinix_mq_notify_thread(fd, threadTrampoline, UnsafeMutableRawPointer(bitPattern: key)) == 0
      else { throw notifyError() }
    }
  }

  /// The error for a failed `mq_notify`, naming the holder of the registration on `EBUSY`.
  func notifyError() -> HinixError {
    let error = HinixError.current(.mqNotify, queueName: name.description)
    guard error.errno == .resourceBusy else { return error }
    let holder = (try? status()).map { "process \($0.notifyPID)" } ?? "another process"
    return error.withDetail("\(holder) is registered for notification on this queue")
  }

  // MARK: Stream

  /// "The queue became non-empty" events as an asynchronous sequence, from
  /// `mq_notify` registrations that the sequence renews itself.
  ///
  /// ```swift
  /// let events = try queue.arrivals()
  /// for await _ in events {
  ///   while let message = try queue.tryReceive() { handle(message) }  // drain
  /// }
  /// ```
  ///
  /// Each step of the loop registers again if the last registration fired,
  /// then reads the queue's message count (`mq_getattr`): if messages are
  /// queued, it returns at once, because a message that arrived after the
  /// previous drain and before the registration made no notification.
  /// Otherwise it waits for the kernel's notification, which glibc delivers
  /// on a thread (`SIGEV_THREAD`).
  ///
  /// **Promised:** if you drain the queue (receive until ``tryReceive()``
  /// returns `nil`) after each event, no message is left waiting without an
  /// event to come: every message that arrives is received by the drains.
  ///
  /// **Not promised:**
  /// - One event per message: an event means "at least one message arrived
  ///   since the queue was last seen empty". Events may also be spurious (the
  ///   messages already taken by another receiver): drain with `tryReceive`.
  /// - Events while a thread of any process is blocked in a receive on the
  ///   queue: the kernel gives the message to that receiver instead.
  /// - Events after this process closes *any* descriptor of the queue, which
  ///   drops the registration. Closing this ``MsgQueue`` ends the sequence,
  ///   a pending step included; closing *another* descriptor of the same
  ///   queue (a second `MsgQueue` for the name) does not: call
  ///   ``Arrivals/finish()`` or cancel the task then.
  ///
  /// Only one process can be registered for a queue: while the sequence
  /// lives, other registrations fail with `EBUSY`, and so does this call if
  /// another process or sequence is registered. The sequence supports one
  /// consumer. It ends when its task is cancelled, ``Arrivals/finish()`` is
  /// called or this ``MsgQueue`` is closed, and cancels its registration then and when it is deinitialised.
  ///
  /// - Returns: The sequence, already registered.
  /// - Throws: ``HinixError``: `EBUSY` naming the process that holds the registration.
  public func arrivals() throws(HinixError) -> Arrivals {
    let arrivals = Arrivals(queue: self)
    try arrivals.arm()
    let key = ObjectIdentifier(arrivals)
    closeObservers.withLock { $0[key] = { [weak arrivals] in arrivals?.finish() } }
    return arrivals
  }

  /// "Became non-empty" events; see ``MsgQueue/arrivals()``.
  public final class Arrivals: AsyncSequence, Sendable {
    public typealias Element = Void
    public typealias Failure = Never

    /// The queue.
    public let queue: MsgQueue
    private let stream: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation
    /// The key of the armed registration's handler, or nil when none is armed.
    private let armedKey = Mutex<UInt?>(nil)
    /// Whether ``finish()`` was called: no step registers again.
    private let finished = Atomic<Bool>(false)

    init(queue: MsgQueue) {
      self.queue = queue
      (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Registers for the next notification unless a registration is armed.
    fileprivate func arm() throws(HinixError) {
      try armedKey.withLock { (armed) throws(HinixError) in
        guard armed == nil, !finished.load(ordering: .acquiring) else { return }
        let continuation = self.continuation
        let key = threadHandlers.withLock { table in
          defer { table.next += 1 }
          let key = table.next
          table.handlers[key] = { [weak self] in
            self?.armedKey.withLock { if $0 == key { $0 = nil } }
            continuation.yield()
          }
          return key
        }
        do throws(HinixError) {
          try queue.registerThreadNotification(key)
          armed = key
        } catch {
          _ = threadHandlers.withLock { $0.handlers.removeValue(forKey: key) }
          throw error
        }
      }
    }

    /// Ends the sequence and cancels its registration. Later steps return
    /// `nil`, also when an event was still buffered.
    public func finish() {
      finished.store(true, ordering: .releasing)
      disarm()
      continuation.finish()
    }

    var isFinished: Bool { finished.load(ordering: .acquiring) }

    private func disarm() {
      armedKey.withLock { armed in
        guard let key = armed else { return }
        try? queue.cancelNotification()
        _ = threadHandlers.withLock { $0.handlers.removeValue(forKey: key) }
        armed = nil
      }
    }

    deinit {
      _ = queue.closeObservers.withLock { $0.removeValue(forKey: ObjectIdentifier(self)) }
      disarm()
      continuation.finish()
    }

    /// Creates the iterator.
    public func makeAsyncIterator() -> Iterator { Iterator(arrivals: self) }

    /// Waits for the next event.
    public struct Iterator: AsyncIteratorProtocol {
      let arrivals: Arrivals
      var events: AsyncStream<Void>.Iterator

      init(arrivals: Arrivals) {
        self.arrivals = arrivals
        self.events = arrivals.stream.makeAsyncIterator()
      }

      /// The next event, or `nil` once the sequence was finished, the task
      /// cancelled, or the queue closed.
      public mutating func next() async -> Void? {
        if Task.isCancelled || arrivals.queue.isClosed || arrivals.isFinished {
          arrivals.finish()
          return nil
        }
        // Re-arm, then look: a message that came while unarmed made no notification.
        do {
          try arrivals.arm()
          if try arrivals.queue.attributes().currentMessages > 0 { return () }
        } catch {
          arrivals.finish()
          return nil
        }
        guard await events.next() != nil, !arrivals.isFinished else {
          arrivals.disarm()
          return nil
        }
        return ()
      }
    }
  }
}
