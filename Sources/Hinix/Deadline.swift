#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// An absolute point in time on `CLOCK_REALTIME`, the clock that
/// `mq_timedsend(3)` and `mq_timedreceive(3)` measure their deadlines on.
///
/// Because it is wall-clock time, a deadline moves with the system clock: if
/// the clock is set back by an hour, a call waiting for a deadline waits an
/// hour longer. The `timeout:` variants of the queue's calls do not use a
/// `Deadline`: they measure their `Duration` on the monotonic clock, which
/// setting the system time does not move.
public struct Deadline: Sendable, Hashable, Comparable, CustomStringConvertible {
  /// Seconds since the Unix epoch.
  public var seconds: Int64
  /// Nanoseconds past ``seconds``, in `0 ..< 1_000_000_000`.
  public var nanoseconds: Int64

  /// Creates a deadline from seconds and nanoseconds since the Unix epoch.
  /// Nanoseconds outside `0 ..< 1_000_000_000` are carried into seconds.
  /// Seconds saturate at the ends of `Int64` rather than overflow, so a
  /// deadline of "practically never" stays far in the future.
  public init(seconds: Int64, nanoseconds: Int64 = 0) {
    let (carry, remainder) = nanoseconds.quotientAndRemainder(dividingBy: 1_000_000_000)
    self.seconds = saturatingAdd(seconds, carry - (remainder < 0 ? 1 : 0))
    self.nanoseconds = remainder < 0 ? remainder + 1_000_000_000 : remainder
  }

  /// Creates a deadline from a C `timespec` on `CLOCK_REALTIME`.
  public init(_ time: Glibc.timespec) {
    self.init(seconds: Int64(time.tv_sec), nanoseconds: Int64(time.tv_nsec))
  }

  /// The current time on `CLOCK_REALTIME`.
  public static var now: Deadline {
    var time = Glibc.timespec()
    clock_gettime(CLOCK_REALTIME, &time)
    return Deadline(time)
  }

  /// The Unix epoch: a deadline that has always passed already. Hinix's *try*
  /// calls pass it to `mq_timedsend` and `mq_timedreceive` so that a call that
  /// would block fails at once, without changing the queue's `O_NONBLOCK` flag.
  public static let expired = Deadline(seconds: 0)

  /// The deadline `duration` from now. A negative duration gives a deadline
  /// in the past; one beyond the ends of `Int64`'s seconds saturates.
  public static func after(_ duration: Duration) -> Deadline {
    now + duration
  }

  /// The deadline as a C `timespec`.
  public var timespec: Glibc.timespec {
    Glibc.timespec(tv_sec: Int(seconds), tv_nsec: Int(nanoseconds))
  }

  /// The `timespec` to pass to `mq_timedsend` and `mq_timedreceive`: a
  /// deadline before the epoch has passed, like the epoch, where the kernel
  /// would reject its negative seconds with `EINVAL`.
  var kernelTimespec: Glibc.timespec {
    seconds < 0 ? Glibc.timespec(tv_sec: 0, tv_nsec: 0) : timespec
  }

  /// Adds a duration; the result saturates at the ends of `Int64`'s seconds
  /// instead of overflowing, also for a duration longer than `Int64.max` seconds.
  public static func + (lhs: Deadline, rhs: Duration) -> Deadline {
    // Normalised first: the fields are `var`, so nanoseconds may be out of range.
    let start = Deadline(seconds: lhs.seconds, nanoseconds: lhs.nanoseconds)
    let (seconds, attoseconds) = rhs.saturatingComponents
    return Deadline(
      seconds: saturatingAdd(start.seconds, seconds),
      nanoseconds: start.nanoseconds + attoseconds / 1_000_000_000)
  }

  /// Orders deadlines in time.
  public static func < (lhs: Deadline, rhs: Deadline) -> Bool {
    (lhs.seconds, lhs.nanoseconds) < (rhs.seconds, rhs.nanoseconds)
  }

  /// `seconds.nanoseconds`, for logs.
  public var description: String {
    // Normalised first: the fields are `var`, so nanoseconds may be out of range.
    let normal = Deadline(seconds: seconds, nanoseconds: nanoseconds)
    let fraction = String(normal.nanoseconds)
    return "\(normal.seconds).\(String(repeating: "0", count: 9 - fraction.count))\(fraction)"
  }
}

/// `a + b`, clamped to `Int64`'s range instead of trapping.
private func saturatingAdd(_ a: Int64, _ b: Int64) -> Int64 {
  let (sum, overflow) = a.addingReportingOverflow(b)
  return overflow ? (b > 0 ? .max : .min) : sum
}
