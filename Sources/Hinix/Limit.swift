/// A system limit that made an operation fail.
///
/// POSIX message queues are bounded by four limits, and the kernel reports all
/// of them with bare error numbers. Hinix works out which one was hit:
///
/// | limit | kernel error | where it is set |
/// |---|---|---|
/// | ``messageCount(requested:maximum:)`` | `EINVAL` from `mq_open` | `/proc/sys/fs/mqueue/msg_max` |
/// | ``messageSize(requested:maximum:)`` | `EINVAL` from `mq_open` | `/proc/sys/fs/mqueue/msgsize_max` |
/// | ``queueCount(maximum:)`` | `ENOSPC` from `mq_open` | `/proc/sys/fs/mqueue/queues_max` |
/// | ``queueBytes(needed:available:limit:)`` | `EMFILE` from `mq_open` | `RLIMIT_MSGQUEUE` (`ulimit -q`) |
/// | ``descriptors(limit:)`` | `EMFILE` | `RLIMIT_NOFILE` (`ulimit -n`) |
/// | ``priority(requested:maximum:)`` | `EINVAL` from `mq_send` | `MQ_PRIO_MAX` (32768 on Linux) |
public enum Limit: Sendable, Hashable, CustomStringConvertible {
  /// The queue asked for more messages than `msg_max` allows (or, for a
  /// process with `CAP_SYS_RESOURCE`, more than the kernel's hard ceiling of 65536).
  case messageCount(requested: Int, maximum: Int)
  /// The queue asked for a larger message size than `msgsize_max` allows (or,
  /// with `CAP_SYS_RESOURCE`, more than the hard ceiling of 16 MiB).
  case messageSize(requested: Int, maximum: Int)
  /// The IPC namespace already holds `queues_max` queues.
  case queueCount(maximum: Int)
  /// Creating the queue would take the real user over `RLIMIT_MSGQUEUE`.
  ///
  /// `needed` is what the queue would be charged, by the kernel's formula;
  /// `available` is a lower bound on what the user has left, found by probing
  /// with small temporary queues (`nil` when it could not be measured).
  case queueBytes(needed: Int, available: Int?, limit: UInt64)
  /// The process has `RLIMIT_NOFILE` descriptors open already.
  case descriptors(limit: UInt64)
  /// A message priority outside `0 ..< maximum`.
  case priority(requested: UInt, maximum: Int)

  /// The limit's name as an administrator knows it: `msg_max`,
  /// `msgsize_max`, `queues_max`, `RLIMIT_MSGQUEUE`, `RLIMIT_NOFILE` or `MQ_PRIO_MAX`.
  public var name: String {
    switch self {
    case .messageCount: "msg_max"
    case .messageSize: "msgsize_max"
    case .queueCount: "queues_max"
    case .queueBytes: "RLIMIT_MSGQUEUE"
    case .descriptors: "RLIMIT_NOFILE"
    case .priority: "MQ_PRIO_MAX"
    }
  }

  /// What was hit, with the numbers and how to raise the limit.
  public var description: String {
    switch self {
    case .messageCount(let requested, let maximum):
      return
        "msg_max: \(requested) messages were asked for and at most \(maximum) are allowed"
        + " (raise /proc/sys/fs/mqueue/msg_max, or ask for fewer)"
    case .messageSize(let requested, let maximum):
      return
        "msgsize_max: a message size of \(requested) bytes was asked for and at most \(maximum) is allowed"
        + " (raise /proc/sys/fs/mqueue/msgsize_max, or ask for less)"
    case .queueCount(let maximum):
      return
        "queues_max: this IPC namespace already has its maximum of \(maximum) queues"
        + " (unlink unused queues, or raise /proc/sys/fs/mqueue/queues_max)"
    case .queueBytes(let needed, let available, let limit):
      let left = available.map { "about \(grouped($0)) of the \(grouped(limit)) bytes are left" }
        ?? "the limit is \(grouped(limit)) bytes"
      return
        "RLIMIT_MSGQUEUE: the queue needs \(grouped(needed)) bytes and \(left) for this user"
        + " (unlink unused queues, create smaller ones, or raise `ulimit -q`)"
    case .descriptors(let limit):
      return "RLIMIT_NOFILE: the process has all \(grouped(limit)) of its descriptors open (close some, or raise `ulimit -n`)"
    case .priority(let requested, let maximum):
      return "MQ_PRIO_MAX: priority \(requested) is outside 0..<\(maximum)"
    }
  }
}

/// 819200 → "819,200".
func grouped<I: BinaryInteger>(_ value: I) -> String {
  let digits = String(value.magnitude)
  var out = ""
  for (index, digit) in digits.enumerated() {
    if index > 0 && (digits.count - index) % 3 == 0 { out.append(",") }
    out.append(digit)
  }
  return value < 0 ? "-" + out : out
}
