#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif
import Synchronization
import SystemPackage

/// The calling thread's `errno`.
var systemErrno: CInt { errno }

/// A descriptor that is closed exactly once, and never while a call on it is
/// in flight.
///
/// Every operation borrows the descriptor through ``withDescriptor(_:_:)``,
/// which counts it as a user. ``close()`` marks the descriptor closed at once
/// (later operations fail with `EBADF`) and closes it when the last user
/// returns, so another thread's call can never land on a recycled descriptor
/// number. `deinit` closes it if nobody did.
final class GuardedDescriptor: Sendable {
  private struct State {
    var users = 0
    var closeRequested = false
    var closed = false
  }

  let rawValue: CInt
  let label: String?
  private let state = Mutex(State())
  private let closeFunction: @Sendable (CInt) -> CInt

  init(_ rawValue: CInt, label: String?, close: @escaping @Sendable (CInt) -> CInt) {
    self.rawValue = rawValue
    self.label = label
    self.closeFunction = close
  }

  /// Runs `body` with the descriptor, which stays open until it returns.
  @inline(__always)
  func withDescriptor<R>(_ operation: String, _ body: (CInt) throws -> R) throws -> R {
    let usable = state.withLock { state -> Bool in
      guard !state.closeRequested else { return false }
      state.users += 1
      return true
    }
    guard usable else { throw HinixError.closed(operation, queueName: label) }
    defer { release() }
    return try body(rawValue)
  }

  @inline(__always)
  private func release() {
    let closeNow = state.withLock { state -> Bool in
      state.users -= 1
      guard state.closeRequested, state.users == 0, !state.closed else { return false }
      state.closed = true
      return true
    }
    if closeNow { _ = closeFunction(rawValue) }
  }

  /// Whether ``close()`` has been called.
  var isClosed: Bool { state.withLock { $0.closeRequested } }

  /// How many calls are using the descriptor now.
  var callsInFlight: Int { state.withLock { $0.users } }

  /// Closes the descriptor now, or when the calls in flight return. Calling it
  /// again does nothing.
  ///
  /// - Throws: ``HinixError`` if the kernel's `close` failed.
  func close(_ operation: String) throws {
    let closeNow = state.withLock { state -> Bool in
      guard !state.closeRequested else { return false }
      state.closeRequested = true
      guard state.users == 0 else { return false }
      state.closed = true
      return true
    }
    guard closeNow else { return }
    // close(2) is never retried: the descriptor is gone even when it reports EINTR.
    if closeFunction(rawValue) == -1 && systemErrno != EINTR {
      throw HinixError.current(operation, queueName: label)
    }
  }

  deinit {
    // No other reference exists, so no call can be in flight.
    if !state.withLock({ $0.closed }) { _ = closeFunction(rawValue) }
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
/// time that is left. Returns whether the descriptor became ready.
func pollReady(
  _ fd: CInt, events: Int16, timeout: Duration?, operation: String, label: String?
) throws -> Bool {
  let clock = ContinuousClock()
  let deadline = timeout.map { clock.now + $0 }
  while true {
    var milliseconds: CInt = -1
    if let deadline {
      let left = clock.now.duration(to: deadline)
      milliseconds = left <= .zero ? 0 : CInt(clamping: left.roundedUpMilliseconds)
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
  /// The duration in whole milliseconds, rounded up, so a wait never ends early.
  var roundedUpMilliseconds: Int64 {
    let (seconds, attoseconds) = components
    let millisecondsFromAttos = (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
    return seconds.multipliedReportingOverflow(by: 1000).overflow
      ? Int64.max : seconds * 1000 + millisecondsFromAttos
  }
}
