import CHinix

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

// MARK: - Attributes and status

extension MsgQueue {
  /// Reads the queue's attributes from the kernel: its capacity, how many
  /// messages it holds now, and whether this descriptor is non-blocking.
  ///
  /// - Throws: ``HinixError``.
  ///
  /// The corresponding C function is `mq_getattr`.
  public func attributes() throws(HinixError) -> Attributes {
    try guarded.withDescriptor(.mqGetAttr) { (fd) throws(HinixError) in
      var attributes = mq_attr()
      guard CHinix_mq_getattr(fd, &attributes) == 0 else {
        throw HinixError.current(.mqGetAttr, queueName: name.description)
      }
      return Attributes(attributes)
    }
  }

  /// Makes this descriptor's calls fail with `EAGAIN` instead of blocking, or
  /// block again.
  ///
  /// The flag belongs to the open file description, which every copy of the
  /// descriptor shares, across `fork` too. To avoid waiting in one call only,
  /// use the `try` calls, which leave the flag alone.
  ///
  /// - Parameter nonBlocking: Whether calls should fail instead of blocking.
  /// - Returns: Whether the descriptor was non-blocking before.
  /// - Throws: ``HinixError``.
  ///
  /// The corresponding C function is `mq_setattr`.
  @discardableResult
  public func setNonBlocking(_ nonBlocking: Bool) throws(HinixError) -> Bool {
    try guarded.withDescriptor(.mqSetAttr) { (fd) throws(HinixError) in
      var new = mq_attr()
      new.mq_flags = nonBlocking ? Int(O_NONBLOCK) : 0
      var old = mq_attr()
      guard CHinix_mq_setattr(fd, &new, &old) == 0 else {
        throw HinixError.current(.mqSetAttr, queueName: name.description)
      }
      return old.mq_flags & Int(O_NONBLOCK) != 0
    }
  }

  /// Reads the kernel's status line for the queue: the bytes queued and who
  /// is registered for notification.
  ///
  /// Linux answers `read(2)` on a queue descriptor with the same line that a
  /// file in a mounted mqueue file system shows, so this works without
  /// `/dev/mqueue` being mounted.
  ///
  /// - Throws: ``HinixError``, or `EINVAL` if the line cannot be parsed.
  public func status() throws(HinixError) -> Status {
    try guarded.withDescriptor(.read) { (fd) throws(HinixError) in
      var buffer = [UInt8](repeating: 0, count: 128)
      let count = buffer.withUnsafeMutableBytes { bytes in
        retrying(true) { pread(fd, bytes.baseAddress, bytes.count, 0) }
      }
      guard count >= 0 else { throw HinixError.current(.read, queueName: name.description) }
      let line = String(decoding: buffer[..<count], as: UTF8.self)
      guard let status = Status(parsing: line) else {
        throw HinixError(
          .invalidArgument, operation: .read, queueName: name.description,
          detail: "unexpected status line \(line.debugDescription)")
      }
      return status
    }
  }

  /// The kernel's status line for a queue, as a mounted mqueue file system or
  /// `read(2)` on a queue descriptor shows it:
  /// `QSIZE:8          NOTIFY:0     SIGNO:10    NOTIFY_PID:1234  `.
  ///
  /// See `mq_overview(7)`, section "Mounting the message queue filesystem".
  public struct Status: Sendable, Hashable {
    /// The bytes of all queued messages together (not a count of messages).
    public var queuedBytes: Int
    /// The registered notification's `sigev_notify`: 0 for `SIGEV_SIGNAL`,
    /// 1 for `SIGEV_NONE`, 2 for `SIGEV_THREAD`; 0 also when nobody is registered.
    public var notify: Int
    /// The signal of a `SIGEV_SIGNAL` registration, otherwise 0.
    public var signal: Int
    /// The process registered for notification, or 0 if none is.
    public var notifyPID: Int

    /// Parses a status line; `nil` if it is not one.
    public init?(parsing line: String) {
      var fields: [String: Int] = [:]
      for field in line.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
        let parts = field.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, let value = Int(parts[1]) else { return nil }
        fields[String(parts[0])] = value
      }
      guard let queuedBytes = fields["QSIZE"], let notify = fields["NOTIFY"],
        let signal = fields["SIGNO"], let notifyPID = fields["NOTIFY_PID"]
      else { return nil }
      self.queuedBytes = queuedBytes
      self.notify = notify
      self.signal = signal
      self.notifyPID = notifyPID
    }
  }
}

extension MsgQueue.Attributes {
  init(_ attributes: mq_attr) {
    self.init(
      maxMessages: attributes.mq_maxmsg, messageSize: attributes.mq_msgsize,
      currentMessages: attributes.mq_curmsgs,
      isNonBlocking: attributes.mq_flags & Int(O_NONBLOCK) != 0)
  }
}

// MARK: - Notification

extension MsgQueue {
  /// How the kernel tells a registered process that an empty queue received a message.
  public enum Notification: Sendable, Hashable {
    /// Send `signal` to the process, with `value` as the signal's `sival_int`
    /// (`SIGEV_SIGNAL`). The signal's `si_code` is `SI_MESGQ`.
    case signal(CInt, value: Int32 = 0)
    /// Tell nobody (`SIGEV_NONE`): the registration only claims the queue, so
    /// that no other process can register.
    case withoutSignal
  }

  /// Registers this process to be notified when a message arrives on the
  /// empty queue.
  ///
  /// The semantics are the kernel's (`mq_notify(3)`):
  /// - Only one process can be registered for a queue; another's attempt
  ///   fails with `EBUSY`.
  /// - Notification happens once: after it, the registration is gone, and
  ///   the process must register again (before draining the queue, or it may
  ///   miss a message that arrived in between).
  /// - A process blocked in a receive takes the message instead; no
  ///   notification is sent then.
  /// - Closing *any* descriptor of the queue in this process, including
  ///   another `MsgQueue` for the same name, drops the registration.
  ///
  /// - Parameter notification: How to be told.
  /// - Throws: ``HinixError``: `EBUSY` if another process is registered (the
  ///   error's detail names it), `EINVAL` for an invalid signal.
  ///
  /// The corresponding C function is `mq_notify`.
  public func requestNotification(_ notification: Notification) throws(HinixError) {
    try guarded.withDescriptor(.mqNotify) { (fd) throws(HinixError) in
      let result =
        switch notification {
        case .signal(let signal, let value): CHinix_mq_notify_signal(fd, signal, value)
        case .withoutSignal: CHinix_mq_notify_none(fd)
        }
      guard result == 0 else { throw notifyError() }
    }
  }

  /// Removes this process's notification registration, if it has one.
  ///
  /// - Throws: ``HinixError``.
  ///
  /// The corresponding C function is `mq_notify` with a null `sigevent`.
  public func cancelNotification() throws(HinixError) {
    try guarded.withDescriptor(.mqNotify) { (fd) throws(HinixError) in
      guard CHinix_mq_notify_cancel(fd) == 0 else {
        throw HinixError.current(.mqNotify, queueName: name.description)
      }
    }
  }
}
