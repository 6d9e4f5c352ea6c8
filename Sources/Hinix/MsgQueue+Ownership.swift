import CHinix
import SystemPackage

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

// MARK: - Giving ownership back, and inheritance across exec

extension MsgQueue.Options {
  /// Leave the descriptor open across `exec`, for handing it to a program
  /// started with `posix_spawn` or `execve`, which adopts it with
  /// ``MsgQueue/init(adopting:)``. Without it, queues are opened
  /// close-on-exec, as POSIX wants and glibc's `mq_open` always does; with
  /// it, Hinix clears `FD_CLOEXEC` (`fcntl`) right after opening, as
  /// posixmq's `set_cloexec(false)` does. Every program this process starts
  /// from then on inherits it, including those other threads start. See
  /// also ``MsgQueue/setInheritable(_:)``.
  public static let inheritable = MsgQueue.Options(rawValue: 1 << 3)
}

extension MsgQueue {
  /// Gives up ownership of the descriptor and returns it: the caller must
  /// close it (with `mq_close` or `close`), or hand it on.
  ///
  /// Afterwards the object behaves as closed without having closed the
  /// descriptor: later calls fail with `EBADF`, ``isClosed`` is `true`, and
  /// neither ``close()`` nor `deinit` closes it. Rust calls this `into_raw_fd`.
  ///
  /// The descriptor is handed out only while no call uses it, so that no
  /// call in flight on another thread can end up on a descriptor that its
  /// new owner has closed, and whose number may be reused. If calls are in
  /// flight, including `async` calls suspended while they wait, it throws
  /// `EBUSY` and changes nothing; take it when they have returned. (Unlike
  /// ``close()``, it cannot wait for them: it must return the descriptor
  /// now, and a blocked receive may never return.)
  ///
  /// This process's `mq_notify` registration, if any, stays with the
  /// descriptor; ``arrivals()`` sequences end as on ``close()``.
  ///
  /// - Returns: The open descriptor, with its flags (close-on-exec,
  ///   non-blocking) as they were.
  /// - Throws: ``HinixError``: `EBADF` if the queue was closed or its
  ///   descriptor taken already, `EBUSY` if calls are in flight.
  public func takeDescriptor() throws(HinixError) -> FileDescriptor {
    let fd = try guarded.take(.takeDescriptor)
    let observers = closeObservers.withLock { observers in
      defer { observers = [:] }
      return observers
    }
    for observer in observers.values { observer() }
    return FileDescriptor(rawValue: fd)
  }

  /// Sets whether the descriptor stays open across `exec`.
  ///
  /// Unlike `O_NONBLOCK`, close-on-exec belongs to this descriptor only, not
  /// to copies made by `dup` or inherited by `fork`. Between this call and
  /// an `exec`, another thread's `posix_spawn` or `fork` and `exec` inherits
  /// the descriptor too; to give it to one child only, leave it
  /// close-on-exec and map it in that child with
  /// `posix_spawn_file_actions_adddup2`, which clears the flag on the copy.
  ///
  /// - Parameter inheritable: `true` to clear `FD_CLOEXEC`, `false` to set it.
  /// - Throws: ``HinixError``: `EBADF` if the queue was closed.
  ///
  /// The corresponding C function is `fcntl` with `F_SETFD`.
  public func setInheritable(_ inheritable: Bool) throws(HinixError) {
    try setCloseOnExec(guarded, !inheritable)
  }

  /// Whether the descriptor stays open across `exec` (`FD_CLOEXEC` is clear).
  ///
  /// - Throws: ``HinixError``: `EBADF` if the queue was closed.
  ///
  /// The corresponding C function is `fcntl` with `F_GETFD`.
  public func isInheritable() throws(HinixError) -> Bool {
    try !closeOnExec(guarded)
  }
}

extension EventFd {
  /// Gives up ownership of the descriptor and returns it; see
  /// ``MsgQueue/takeDescriptor()``, whose rules it follows: afterwards calls
  /// fail with `EBADF` and nothing closes the descriptor but its new owner.
  ///
  /// - Returns: The open descriptor, with its flags as they were.
  /// - Throws: ``HinixError``: `EBADF` if the eventfd was closed or its
  ///   descriptor taken already, `EBUSY` if calls are in flight.
  public func takeDescriptor() throws(HinixError) -> FileDescriptor {
    FileDescriptor(rawValue: try guarded.take(.takeDescriptor))
  }

  /// Sets whether the descriptor stays open across `exec`; see
  /// ``MsgQueue/setInheritable(_:)``. ``options`` keeps what the eventfd
  /// was created with.
  ///
  /// - Throws: ``HinixError``: `EBADF` if the eventfd was closed.
  ///
  /// The corresponding C function is `fcntl` with `F_SETFD`.
  public func setInheritable(_ inheritable: Bool) throws(HinixError) {
    try setCloseOnExec(guarded, !inheritable)
  }
}

extension Pipe.End {
  /// Gives up ownership of the descriptor and returns it; see
  /// ``MsgQueue/takeDescriptor()``, whose rules it follows.
  ///
  /// - Returns: The open descriptor, with its flags as they were.
  /// - Throws: ``HinixError``: `EBADF` if the end was closed or its
  ///   descriptor taken already, `EBUSY` if calls are in flight.
  public func takeDescriptor() throws(HinixError) -> FileDescriptor {
    FileDescriptor(rawValue: try guarded.take(.takeDescriptor))
  }

  /// Sets whether the descriptor stays open across `exec`; see
  /// ``MsgQueue/setInheritable(_:)``.
  ///
  /// - Throws: ``HinixError``: `EBADF` if the end was closed.
  ///
  /// The corresponding C function is `fcntl` with `F_SETFD`.
  public func setInheritable(_ inheritable: Bool) throws(HinixError) {
    try setCloseOnExec(guarded, !inheritable)
  }
}

/// Sets or clears `FD_CLOEXEC` on a guarded descriptor.
private func setCloseOnExec(_ guarded: GuardedDescriptor, _ closeOnExec: Bool) throws(HinixError) {
  try guarded.withDescriptor(.fcntl) { (fd) throws(HinixError) in
    let flags = fcntl(fd, F_GETFD)
    guard flags != -1 else { throw HinixError.current(.fcntl, queueName: guarded.label) }
    let new = closeOnExec ? flags | FD_CLOEXEC : flags & ~FD_CLOEXEC
    guard new == flags || fcntl(fd, F_SETFD, new) != -1 else {
      throw HinixError.current(.fcntl, queueName: guarded.label)
    }
  }
}

/// Whether `FD_CLOEXEC` is set on a guarded descriptor.
private func closeOnExec(_ guarded: GuardedDescriptor) throws(HinixError) -> Bool {
  try guarded.withDescriptor(.fcntl) { (fd) throws(HinixError) in
    guard let value = isCloseOnExec(fd) else {
      throw HinixError.current(.fcntl, queueName: guarded.label)
    }
    return value
  }
}
