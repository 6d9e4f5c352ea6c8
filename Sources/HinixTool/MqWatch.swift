import ArgumentParser
import FoundationEssentials
import Hinix
import HinixCommandLine

#if canImport(Glibc)
  import Glibc
#endif

extension Mq {
  /// `hinix mq watch`: reports a queue's contents as they change, without
  /// receiving anything.
  struct Watch: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "watch",
      abstract: "Print a line whenever a message queue's contents change, without receiving.",
      discussion: """
        Prints the queue's state when it starts, then a line each time a \
        message is sent to it or received from it:

          2026-11-27T03:40:12Z  non-empty  3 messages  120 bytes
          2026-11-27T03:40:13Z  empty

        (UTC; "bytes" are those of all queued messages together). Messages \
        stay in the queue for its receivers. Changes that follow each other \
        closely may show as one line, and a message handed straight to a \
        receiver that was already waiting never enters the queue, so it \
        shows no line. Waiting costs no CPU time: hinix sleeps in epoll_wait(2) \
        until the kernel wakes the queue.

        --count N stops after N "non-empty" lines (the first line counts if \
        the queue holds messages when watching starts), with exit status 0. \
        --timeout SECONDS stops after that long: with exit status 0 if a \
        "non-empty" line was printed, and otherwise 1, with "no message \
        arrived" on standard error. Removing the queue (hinix mq rm) ends the \
        watch with exit status 1.

        --json prints each line as a JSON object instead (one per line), with \
        the keys bytes, messages, queue, queueBase64, state ("empty" or \
        "non-empty") and time. queue is the name, or null for a name that is \
        not UTF-8; queueBase64 is always the name's exact bytes in base64.

        EXAMPLES:
          hinix mq watch /jobs
          hinix mq watch jobs --count 1 --timeout 30 && echo "a job is waiting"
          hinix mq watch /jobs --json
        """)

    @Argument(help: "The queue's name; the leading \"/\" may be left out.", transform: parseQueueName)
    var name: MsgQueueName

    @Option(parsing: .unconditional, help: ArgumentHelp("Stop after this many \"non-empty\" lines.", valueName: "n"))
    var count: Int?

    @Option(
      parsing: .unconditional,
      help: ArgumentHelp("Stop after this many seconds, such as 30 or 0.5.", valueName: "seconds"),
      transform: { try parseTimeout($0) })
    var timeout: Duration?

    @Flag(help: "Print each line as a JSON object.")
    var json = false

    func validate() throws {
      if let count, count < 1 { throw ValidationError("--count must be at least 1; got \(count)") }
    }

    func run() throws {
      do {
        let queue = try MsgQueue(name, access: .readOnly)
        try queue.withDescriptor { try watch(queue, descriptor: $0.rawValue) }
      } catch let code as ExitCode {
        throw code
      } catch {
        throw mqFailure("watch", error)
      }
    }

    /// Prints the state, then waits for edges and prints every change, until
    /// the count or the deadline is reached or the queue is removed.
    private func watch(_ queue: MsgQueue, descriptor: CInt) throws {
      // Register first, then read: a change after the first read is an edge.
      let poll = try MqEdgeTriggeredPoll()
      try poll.add(descriptor, events: MqEdgeTriggeredPoll.readable | MqEdgeTriggeredPoll.writable)
      let removal = RemovalWatch(descriptor)
      if let removal { try poll.add(removal.descriptor, events: MqEdgeTriggeredPoll.readable) }
      let clock = ContinuousClock()
      let deadline = timeout.map { clock.now + $0 }
      var last: QueueState?
      var nonEmptyLines = 0
      while true {
        if try isRemoved(descriptor) {
          throw HinixError(
            .noSuchFileOrDirectory, operation: .init(rawValue: "fstat"), queueName: name.description,
            detail: "the queue was removed while it was being watched")
        }
        let state = try QueueState(queue)
        if state != last {
          try report(state)
          last = state
          if state.messages > 0 { nonEmptyLines += 1 }
          if let count, nonEmptyLines >= count { return }
        }
        let left = deadline.map { clock.now.duration(to: $0) }
        if let left, left <= .zero {
          if nonEmptyLines > 0 { return }
          throw HinixError(
            .timedOut, operation: .epollWait, queueName: name.description,
            detail: "no message arrived within \(seconds(timeout ?? .zero)) s")
        }
        // Without inotify, look for removal once a second.
        _ = try poll.wait(milliseconds: Self.milliseconds(left, atMost: removal == nil ? 1000 : nil))
        removal?.drain()
      }
    }

    /// Prints one line for `state`, as text or JSON.
    private func report(_ state: QueueState) throws {
      let time = mqTimestamp()
      let line: String
      if json {
        line = try jsonLine(
          StateRecord(
            time: time, queue: name.text, queueBase64: Data(name.bytes).base64EncodedString(),
            state: state.messages > 0 ? "non-empty" : "empty", messages: state.messages,
            bytes: state.bytes))
      } else if state.messages > 0 {
        line = "\(time)  non-empty  \(mqCount(state.messages, "message"))  \(mqCount(state.bytes, "byte"))"
      } else {
        line = "\(time)  empty"
      }
      // write(2) at once, so a reader of a pipe sees each line as it happens.
      try StandardOutput.emit(line + "\n")
    }

    /// Whether the queue's last name is gone (its link count dropped to 0).
    private func isRemoved(_ descriptor: CInt) throws -> Bool {
      var info = stat()
      guard fstat(descriptor, &info) == 0 else {
        throw HinixError(Errno(rawValue: errno), operation: .init(rawValue: "fstat"), queueName: name.description)
      }
      return info.st_nlink == 0
    }

    /// How long epoll_wait(2) may wait: `left` in whole milliseconds, rounded
    /// up so the wait does not end early, and at most `atMost`; -1 (no limit)
    /// when neither is given.
    private static func milliseconds(_ left: Duration?, atMost: Int64?) -> CInt {
      var limit = atMost
      if let left {
        let (seconds, attoseconds) = left.components
        let rounded = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        limit = min(rounded, limit ?? .max)
      }
      guard let limit else { return -1 }
      return CInt(clamping: max(0, limit))
    }

    /// `5`, `0.25`.
    private func seconds(_ duration: Duration) -> String {
      let (whole, attoseconds) = duration.components
      guard attoseconds != 0 else { return "\(whole)" }
      return "\(Double(whole) + Double(attoseconds) / 1e18)"
    }
  }
}

/// Tells when a queue's last name is removed, with inotify(7).
///
/// Removing a queue changes no message, so it wakes nothing that epoll
/// watches on the queue. But mq_unlink(3) drops the inode's link count, which
/// the kernel reports as `IN_ATTRIB` (vfs_unlink → fsnotify_link_count). The
/// watch is added through the open descriptor (/proc/self/fd/N), so it
/// follows the queue itself, whatever names come and go.
private final class RemovalWatch {
  /// The inotify descriptor: readable when an event is queued.
  let descriptor: CInt

  /// Watches the queue open as `queue`, or returns `nil` if inotify is not
  /// available (for example when `max_user_instances` is reached).
  init?(_ queue: CInt) {
    let descriptor = inotify_init1(CInt(IN_NONBLOCK | IN_CLOEXEC))
    guard descriptor >= 0 else { return nil }
    guard inotify_add_watch(descriptor, "/proc/self/fd/\(queue)", UInt32(IN_ATTRIB)) >= 0 else {
      close(descriptor)
      return nil
    }
    self.descriptor = descriptor
  }

  deinit { close(descriptor) }

  /// Reads and discards the queued events; the caller looks at the link count itself.
  func drain() {
    var buffer = [UInt8](repeating: 0, count: 4096)
    while buffer.withUnsafeMutableBytes({ read(descriptor, $0.baseAddress, $0.count) }) > 0 {}
  }
}

/// What `hinix mq watch` compares: the messages queued and their bytes.
private struct QueueState: Equatable {
  var messages: Int
  var bytes: Int

  init(_ queue: MsgQueue) throws {
    messages = try queue.attributes().currentMessages
    bytes = try queue.status().queuedBytes
  }
}

/// A `hinix mq watch --json` line. `queue` is the name when it is valid
/// UTF-8 and `null` when it is not; `queueBase64` is always its exact bytes.
private struct StateRecord: Encodable {
  var time: String
  var queue: String?
  var queueBase64: String
  var state: String
  var messages: Int
  var bytes: Int

  private enum CodingKeys: String, CodingKey { case time, queue, queueBase64, state, messages, bytes }

  /// Every key is always present: `queue` is `null` for a name that is not UTF-8.
  func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(time, forKey: .time)
    try container.encode(queue, forKey: .queue)
    try container.encode(queueBase64, forKey: .queueBase64)
    try container.encode(state, forKey: .state)
    try container.encode(messages, forKey: .messages)
    try container.encode(bytes, forKey: .bytes)
  }
}
