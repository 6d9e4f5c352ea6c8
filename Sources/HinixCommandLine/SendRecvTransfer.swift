import ArgumentParser
import Hinix

// MARK: - Waiting

/// How long each send waits for room in the queue, or each receive for a
/// message: what the `--timeout` and `--nonblock` options of `mqsend` and
/// `mqrecv` ask for.
public enum QueueWait: Sendable, Hashable {
  /// Wait as long as it takes (neither option).
  case indefinitely
  /// Wait at most this long, per call (`--timeout`).
  case upTo(Duration)
  /// Do not wait at all (`--nonblock`). The queue's shared `O_NONBLOCK` flag is
  /// left alone: the calls are Hinix's `trySend` and `tryReceive`.
  case never

  /// The wait that `--timeout` and `--nonblock` ask for.
  ///
  /// - Throws: `ValidationError` (exit status 64) if both are given.
  public init(timeout: Duration?, nonblocking: Bool) throws {
    switch (timeout, nonblocking) {
    case (.some, true):
      throw ValidationError("--timeout and --nonblock exclude each other: --nonblock never waits")
    case (let timeout?, false): self = .upTo(timeout)
    case (nil, true): self = .never
    case (nil, false): self = .indefinitely
    }
  }

  /// Sends `message`, waiting as `self` says while the queue is full.
  ///
  /// - Throws: ``QueueBlocked`` if the queue stayed full; ``HinixError`` for any other failure.
  public func send(_ message: ArraySlice<UInt8>, priority: UInt32, to queue: MsgQueue) throws {
    switch self {
    case .indefinitely:
      try queue.send(message, priority: priority)
    case .upTo(let timeout):
      do {
        try queue.send(message, priority: priority, timeout: timeout)
      } catch let error as HinixError where error.errno == .timedOut {
        throw QueueBlocked.timedOut(timeout)
      }
    case .never:
      guard try queue.trySend(message, priority: priority) else { throw QueueBlocked.wouldBlock }
    }
  }

  /// Receives the next message, waiting as `self` says while the queue is empty.
  ///
  /// - Throws: ``QueueBlocked`` if the queue stayed empty; ``HinixError`` for any other failure.
  public func receive(from queue: MsgQueue) throws -> MsgQueue.Message {
    switch self {
    case .indefinitely:
      return try queue.receive()
    case .upTo(let timeout):
      do {
        return try queue.receive(timeout: timeout)
      } catch let error as HinixError where error.errno == .timedOut {
        throw QueueBlocked.timedOut(timeout)
      }
    case .never:
      guard let message = try queue.tryReceive() else { throw QueueBlocked.wouldBlock }
      return message
    }
  }
}

/// A send that gave up because the queue stayed full, or a receive that gave
/// up because it stayed empty.
public enum QueueBlocked: Error, Sendable, Hashable {
  /// `--nonblock` and the queue was full or empty at once (`EAGAIN`).
  case wouldBlock
  /// `--timeout` and the queue stayed full or empty that long (`ETIMEDOUT`).
  case timedOut(Duration)
}

// MARK: - Reporting how far a transfer got

/// A series of sends or receives that stopped before its end: the one line
/// that says how many messages went through before what went wrong, so that
/// no message is lost without a word.
///
/// ```text
/// the queue "/jobs" is full (EAGAIN); the message was not sent
/// sent 3 of 5 messages, then the queue "/jobs" was full (EAGAIN)
/// received 1 of 3 messages, then timed out: no message came to "/jobs" within 0.2 seconds (ETIMEDOUT)
/// ```
public struct TransferInterrupted: Error, CustomStringConvertible {
  /// Which way the messages were going.
  public enum Direction: Sendable {
    case sending, receiving
  }

  /// Which way the messages were going.
  public var direction: Direction
  /// The queue.
  public var queueName: MsgQueueName
  /// How many messages went through before the failure.
  public var completed: Int
  /// How many messages were asked for, or `nil` for "until stopped" (`--follow`).
  public var total: Int?
  /// What stopped the transfer: a ``QueueBlocked``, or the failed call's ``HinixError``.
  public var cause: any Error

  /// Describes a transfer that stopped after `completed` of `total` messages because of `cause`.
  public init(
    _ direction: Direction, queueName: MsgQueueName, completed: Int, total: Int?, cause: any Error
  ) {
    self.direction = direction
    self.queueName = queueName
    self.completed = completed
    self.total = total
    self.cause = cause
  }

  /// One line: how far the transfer got, then what stopped it.
  public var description: String {
    if total == 1 && completed == 0 {
      let reason = reason(past: false)
      return direction == .sending && cause is QueueBlocked
        ? "\(reason); the message was not sent" : reason
    }
    let verb = direction == .sending ? "sent" : "received"
    let progress =
      total.map { "\(verb) \(completed) of \($0) messages" } ?? "\(verb) \(messageCount(completed))"
    return "\(progress), then \(reason(past: true))"
  }

  /// What stopped the transfer, as a clause in the present or the past tense.
  private func reason(past: Bool) -> String {
    let queue = "\"\(queueName)\""
    switch (cause as? QueueBlocked, direction) {
    case (.wouldBlock?, .sending):
      return "the queue \(queue) \(past ? "was" : "is") full (EAGAIN)"
    case (.wouldBlock?, .receiving):
      return "the queue \(queue) \(past ? "was" : "is") empty (EAGAIN)"
    case (.timedOut(let timeout)?, .sending):
      return "timed out: the queue \(queue) stayed full for \(spokenSeconds(timeout)) (ETIMEDOUT)"
    case (.timedOut(let timeout)?, .receiving):
      return "timed out: no message came to \(queue) within \(spokenSeconds(timeout)) (ETIMEDOUT)"
    case (nil, _):
      return (cause as? HinixError)?.description ?? String(describing: cause)
    }
  }
}

/// "1 message", "2 messages".
func messageCount(_ count: Int) -> String {
  count == 1 ? "1 message" : "\(count) messages"
}

/// A duration in seconds for a person: "0.2 seconds", "1 second", "3 seconds".
func spokenSeconds(_ duration: Duration) -> String {
  let (whole, attoseconds) = duration.components
  let value = Double(whole) + Double(attoseconds) / 1e18
  let text = value.rounded() == value && abs(value) < 1e15 ? String(Int64(value)) : String(value)
  return value == 1 ? "1 second" : "\(text) seconds"
}

// MARK: - Advice

extension HinixError {
  /// This error, with `advice` as its detail if it says that the queue does
  /// not exist (`ENOENT` from `mq_open`), in place of the library's advice,
  /// which speaks of its API rather than of the tools' options.
  public func advisingOnMissingQueue(_ advice: String) -> HinixError {
    guard errno == .noSuchFileOrDirectory, operation == .mqOpen else { return self }
    return withDetail(advice)
  }
}
