#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif
import Synchronization
import SystemPackage

/// The calling thread's `errno`.
var systemErrno: CInt { errno }

/// The address passed for an empty message or buffer that has none: non-null
/// and suitably aligned, never dereferenced (the kernel copies no byte for a
/// zero-length message and rejects a zero-length receive buffer with
/// `EMSGSIZE` before touching it). Rust uses the same idea for empty slices.
@inline(__always)
var danglingPointer: UnsafeMutableRawPointer { UnsafeMutableRawPointer(bitPattern: 16)! }

/// A descriptor that is closed exactly once, and never while a call on it is
/// in flight.
///
/// Every operation borrows the descriptor through ``withDescriptor(_:_:)``,
/// which counts it as a user. ``close(_:)`` marks the descriptor closed at once
/// (later operations fail with `EBADF`) and closes it when the last user
/// returns, so another thread's call can never land on a recycled descriptor
/// number. `deinit` closes it if nobody did.
///
/// The state is one atomic word: the number of users in the low bits, and
/// two flags, "close requested" and "closed". Borrowing costs one atomic
/// increment and one atomic decrement, and no lock.
final class GuardedDescriptor: Sendable {
  private static let closeRequested = 1 << 62
  private static let closedFlag = 1 << 61
  private static let usersMask = closedFlag - 1

  let rawValue: CInt
  let label: String?
  private let state = Atomic<Int>(0)
  private let closeFunction: @Sendable (CInt) -> CInt

  init(_ rawValue: CInt, label: String?, close: @escaping @Sendable (CInt) -> CInt) {
    self.rawValue = rawValue
    self.label = label
    self.closeFunction = close
  }

  /// Runs `body` with the descriptor, which stays open until it returns.
  @inline(__always)
  func withDescriptor<R>(
    _ operation: HinixError.Operation, _ body: (CInt) throws(HinixError) -> R
  ) throws(HinixError) -> R {
    let old = state.wrappingAdd(1, ordering: .acquiring).oldValue
    defer { release() }
    if old & Self.closeRequested != 0 { try throwClosed(operation) }
    return try body(rawValue)
  }

  /// Starts a borrow that outlives one synchronous call (an `async` wait);
  /// ``endBorrow()`` ends it. While borrowed, the descriptor stays open.
  func beginBorrow(_ operation: HinixError.Operation) throws(HinixError) {
    let old = state.wrappingAdd(1, ordering: .acquiring).oldValue
    if old & Self.closeRequested != 0 {
      release()
      try throwClosed(operation)
    }
  }

  /// Ends a borrow started by ``beginBorrow(_:)``.
  func endBorrow() { release() }

  /// The error for a call on a closed descriptor (out of line: it is rare).
  @inline(never)
  private func throwClosed(_ operation: HinixError.Operation) throws(HinixError) -> Never {
    throw HinixError.closed(operation, queueName: label)
  }

  /// Ends a borrow; the last user after a close request closes the descriptor.
  @inline(__always)
  private func release() {
    let new = state.wrappingSubtract(1, ordering: .releasing).newValue
    if new == Self.closeRequested { closeAfterLastUser() }
  }

  @inline(never)
  private func closeAfterLastUser() {
    if closeIfLast() { _ = closeFunction(rawValue) }
  }

  /// Closes the descriptor if close was requested, nobody uses it and nobody
  /// closed it yet. Returns whether this call closed it.
  private func closeIfLast() -> Bool {
    let (exchanged, _) = state.compareExchange(
      expected: Self.closeRequested, desired: Self.closeRequested | Self.closedFlag,
      ordering: .acquiringAndReleasing)
    return exchanged
  }

  /// Whether ``close(_:)`` has been called.
  var isClosed: Bool { state.load(ordering: .acquiring) & Self.closeRequested != 0 }

  /// How many calls are using the descriptor now.
  var callsInFlight: Int { state.load(ordering: .acquiring) & Self.usersMask }

  /// Closes the descriptor now, or when the calls in flight return. Calling it
  /// again does nothing.
  ///
  /// - Throws: ``HinixError`` if the kernel's `close` failed.
  func close(_ operation: HinixError.Operation) throws(HinixError) {
    let old = state.bitwiseOr(Self.closeRequested, ordering: .acquiringAndReleasing).oldValue
    // Tasks suspended in an async wait hold borrows: wake them, so that
    // they end their borrows and the descriptor can close; and take the
    // descriptor out of the reactor's epoll set.
    if old & Self.closeRequested == 0, let reactor = Reactor.running {
      reactor.descriptorClosing(rawValue)
    }
    guard old & Self.closeRequested == 0, old & Self.usersMask == 0, closeIfLast() else { return }
    // close(2) is never retried: the descriptor is gone even when it reports EINTR.
    if closeFunction(rawValue) == -1 && systemErrno != EINTR {
      throw HinixError.current(operation, queueName: label)
    }
  }

  deinit {
    // No other reference exists, so no call can be in flight.
    if state.load(ordering: .acquiring) & Self.closedFlag == 0 {
      Reactor.running?.descriptorClosing(rawValue)
      _ = closeFunction(rawValue)
    }
  }
}

/// Runs `body` until it stops failing with `EINTR`, if `retryOnInterrupt`.
/// A `body` returning -1 has failed with `errno`.
@inline(__always)
func retrying<I: FixedWidthInteger>(_ retryOnInterrupt: Bool, _ body: () -> I) -> I {
  while true {
    let result = body()
    if result == -1 && retryOnInterrupt && systemErrno == EINTR { continue }
    return result
  }
}

/// The `FD_CLOEXEC` flag of a descriptor, or `nil` if `fcntl` failed.
func isCloseOnExec(_ fd: CInt) -> Bool? {
  let flags = fcntl(fd, F_GETFD)
  return flags == -1 ? nil : flags & FD_CLOEXEC != 0
}

/// Waits with poll(2) for `events` on `fd` for at most `timeout` (nil: no
/// limit) measured on the monotonic clock; EINTR restarts the wait with the
/// time that is left. A timeout of zero or less polls once; one longer than
/// `Duration.unlimitedTimeout` has no limit. Returns whether the
/// descriptor became ready.
func pollReady(
  _ fd: CInt, events: Int16, timeout: Duration?, operation: HinixError.Operation, label: String?
) throws(HinixError) -> Bool {
  let clock = SuspendingClock()
  let deadline = timeout.flatMap { clock.deadline(after: $0) }  // nil: no limit
  while true {
    var milliseconds: CInt = -1
    if let deadline {
      let left = clock.now.duration(to: deadline)
      milliseconds = CInt(clamping: left.roundedUpMilliseconds)
    }
    var entry = pollfd(fd: fd, events: events, revents: 0)
    let result = poll(&entry, 1, milliseconds)
    if result == -1 {
      if systemErrno == EINTR { continue }
      throw HinixError.current(operation, queueName: label)
    }
    if result == 0 { return false }
    if entry.revents & Int16(POLLNVAL) != 0 {
      throw HinixError(.badFileDescriptor, operation: operation, queueName: label)
    }
    return true
  }
}

extension Duration {
  /// The longest timeout that has a deadline: 2^62 seconds, some 146 billion
  /// years. A longer one waits without a deadline, so that adding it to the
  /// clock's reading can neither overflow nor trap.
  static let unlimitedTimeout = Duration.seconds(Int64(1) << 62)

  /// The duration in whole milliseconds, rounded up so that a wait never
  /// ends early; 0 for a duration of zero or less, and `Int64.max` for one
  /// too long to count in milliseconds.
  var roundedUpMilliseconds: Int64 {
    guard self > .zero else { return 0 }
    let attosecondsPerMillisecond: Int128 = 1_000_000_000_000_000
    return Int64(clamping: (attoseconds + attosecondsPerMillisecond - 1) / attosecondsPerMillisecond)
  }

  /// `components`, saturated: a duration beyond `Int64`'s seconds gives
  /// `Int64.max` or `Int64.min` seconds and no attoseconds, where
  /// `components` would trap.
  var saturatingComponents: (seconds: Int64, attoseconds: Int64) {
    let (seconds, attoseconds) = self.attoseconds.quotientAndRemainder(
      dividingBy: 1_000_000_000_000_000_000)
    guard let whole = Int64(exactly: seconds) else { return (seconds > 0 ? .max : .min, 0) }
    return (whole, Int64(attoseconds))
  }
}

extension SuspendingClock {
  /// The instant `timeout` from now, measured on this clock; a timeout of
  /// zero or less gives now, and `nil` means no deadline: the timeout is
  /// longer than `Duration.unlimitedTimeout`.
  func deadline(after timeout: Duration) -> Instant? {
    if timeout > .unlimitedTimeout { return nil }
    return now + max(timeout, .zero)
  }
}

extension GuardedDescriptor {
  /// Marks the descriptor closed without closing it, and returns it: later
  /// operations fail with `EBADF`, and neither the last user nor `deinit`
  /// closes it. Succeeds only while no call uses the descriptor (an `async`
  /// wait included), so no call in flight can be left holding a descriptor
  /// that its new owner may close; otherwise nothing changes.
  ///
  /// - Throws: ``HinixError``: `EBADF` if it was closed or taken already,
  ///   `EBUSY` if calls are in flight.
  func take(_ operation: HinixError.Operation) throws(HinixError) -> CInt {
    let (exchanged, old) = state.compareExchange(
      expected: 0, desired: Self.closeRequested | Self.closedFlag, ordering: .acquiringAndReleasing)
    guard exchanged else {
      if old & Self.closeRequested != 0 { throw HinixError.closed(operation, queueName: label) }
      let users = old & Self.usersMask
      throw HinixError(
        .resourceBusy, operation: operation, queueName: label,
        detail: "\(users) call\(users == 1 ? " is" : "s are") in flight on the descriptor; take it when they have returned")
    }
    // It may sit, disarmed, in the reactor's epoll set: take it out, so the
    // reactor keeps no registration for a descriptor it no longer tracks.
    Reactor.running?.descriptorClosing(rawValue)
    return rawValue
  }
}
