import CHinix

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

// MARK: - Writing without waiting, with a timeout, and async

extension EventFd {
  /// Adds `value` to the counter if it fits, without waiting and without
  /// changing the descriptor's shared `O_NONBLOCK` flag.
  ///
  /// The kernel offers no per-call non-blocking write on an eventfd (its
  /// `pwritev2` with `RWF_NOWAIT` fails with `EOPNOTSUPP` up to at least
  /// Linux 6.18), so Hinix tries that first and otherwise reads the counter
  /// from `/proc/self/fdinfo` and writes only if `value` fits. Readers only
  /// make room, but if another *writer* adds to the counter between the
  /// check and the write, the write can wait for a reader (on a
  /// ``Options/nonBlocking`` eventfd it returns `false` instead). Where
  /// `/proc` is not mounted, it checks with `poll`, which tells only that 1
  /// fits: for a larger `value` the write may then wait too.
  ///
  /// - Parameter value: What to add, at most ``maximumValue``.
  /// - Returns: `true` if `value` was added, `false` if it would have taken
  ///   the counter past ``maximumValue``.
  /// - Throws: ``HinixError``: `EINVAL` for `0xffffffffffffffff`, `EBADF` if
  ///   the eventfd was closed.
  ///
  /// The corresponding C functions are `pwritev2` with `RWF_NOWAIT`, and on
  /// kernels without it, `read` of `/proc/self/fdinfo` and `write`.
  public func tryWrite(_ value: UInt64 = 1) throws(HinixError) -> Bool {
    try guarded.withDescriptor(.write) { (fd) throws(HinixError) in try tryWrite(fd, value) }
  }

  private func tryWrite(_ fd: CInt, _ value: UInt64) throws(HinixError) -> Bool {
    guard value <= Self.maximumValue else {
      throw HinixError(
        .invalidArgument, operation: .write,
        detail: "an eventfd counter holds at most 0xfffffffffffffffe")
    }
    if retrying(true, { CHinix_eventfd_write_nowait(fd, value) }) == 0 { return true }
    switch systemErrno {
    case EAGAIN: return false
    case EOPNOTSUPP, EINVAL: break
    default: throw HinixError.current(.pwritev2)
    }
    if value > 0 {
      if let count = counterValue(fd) {
        guard Self.maximumValue - count >= value else { return false }
      } else {
        let writable = try pollReady(fd, events: Int16(POLLOUT), timeout: .zero, operation: .poll, label: nil)
        guard writable else { return false }
      }
    }
    guard retrying(true, { CHinix_eventfd_write(fd, value) }) == 0 else {
      if systemErrno == EAGAIN { return false }
      throw HinixError.current(.write)
    }
    return true
  }

  /// The counter, from `eventfd-count:` in `/proc/self/fdinfo/FD` (hex).
  private func counterValue(_ fd: CInt) -> UInt64? {
    guard let text = readSmallFile("/proc/self/fdinfo/\(fd)") else { return nil }
    for line in text.split(separator: "\n") where line.hasPrefix("eventfd-count:") {
      return UInt64(line.dropFirst("eventfd-count:".count).filter { !$0.isWhitespace }, radix: 16)
    }
    return nil
  }

  /// Adds `value` to the counter, waiting at most `timeout` while that would
  /// take it past ``maximumValue``.
  ///
  /// The wait is measured on the monotonic clock. The descriptor becomes
  /// writable (`POLLOUT`) when 1 fits; while it is writable but `value` does
  /// not fit yet, the call checks again after a short pause, from 1 ms
  /// growing to 50 ms, since no event marks the moment a larger value fits.
  /// The check has the race described in ``tryWrite(_:)``.
  ///
  /// - Parameters:
  ///   - value: What to add, at most ``maximumValue``.
  ///   - timeout: The longest wait.
  /// - Throws: ``HinixError``: `ETIMEDOUT` if `value` did not fit in time,
  ///   and as ``tryWrite(_:)``.
  ///
  /// The corresponding C functions are those of ``tryWrite(_:)``, and `poll`.
  public func write(_ value: UInt64, timeout: Duration) throws(HinixError) {
    try guarded.withDescriptor(.write) { (fd) throws(HinixError) in
      let clock = SuspendingClock()
      let deadline = clock.deadline(after: timeout)  // nil: no limit
      var pause = Duration.milliseconds(1)
      while true {
        if try tryWrite(fd, value) { return }
        let left = deadline.map { clock.now.duration(to: $0) }
        if let left, left <= .zero { break }
        if try pollReady(fd, events: Int16(POLLOUT), timeout: .zero, operation: .poll, label: nil) {
          // Writable, but `value` does not fit: nothing to wait on but time.
          sleepOnMonotonicClock(min(pause, left ?? pause))
          pause = min(pause * 2, .milliseconds(50))
        } else if try !pollReady(
          fd, events: Int16(POLLOUT), timeout: left, operation: .poll, label: nil)
        {
          break
        }
      }
      throw HinixError(
        .timedOut, operation: .write,
        detail: "adding \(value) would have taken the counter past 0xfffffffffffffffe for \(timeout)")
    }
  }
}

/// Sleeps the calling thread for `duration`, resuming after signals.
private func sleepOnMonotonicClock(_ duration: Duration) {
  let (seconds, attoseconds) = duration.components
  var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
  var remaining = timespec()
  while nanosleep(&request, &remaining) == -1 && systemErrno == EINTR { request = remaining }
}

extension EventFd.AsyncCalls {
  /// Adds `value` to the counter, suspending the task while that would take
  /// it past ``EventFd/maximumValue``.
  ///
  /// Each step is ``EventFd/tryWrite(_:)``; when it does not fit, the task
  /// waits in Hinix's reactor until the descriptor is writable (1 fits), or,
  /// if it is writable already, sleeps a short pause (1 ms growing to 50 ms)
  /// before checking again.
  ///
  /// - Parameter value: What to add, at most ``EventFd/maximumValue``.
  /// - Throws: `CancellationError` (nothing was added), or ``HinixError``:
  ///   `EBADF` if the eventfd is closed, as ``EventFd/tryWrite(_:)`` otherwise.
  ///
  /// The corresponding C functions are those of ``EventFd/tryWrite(_:)``, and
  /// `epoll_wait` on the reactor's thread.
  public func write(_ value: UInt64 = 1) async throws {
    var pause = Duration.milliseconds(1)
    while try !event.tryWrite(value) {
      let writable = try event.withDescriptor { fd in
        try pollReady(fd.rawValue, events: Int16(POLLOUT), timeout: .zero, operation: .poll, label: nil)
      }
      if writable {
        try await Task.sleep(for: pause)
        pause = min(pause * 2, .milliseconds(50))
      } else {
        try await event.guarded.waitUntilReady(CHinix_EPOLLOUT, .write)
      }
    }
  }
}
