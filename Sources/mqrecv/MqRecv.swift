import ArgumentParser
import Hinix
import HinixCommandLine

/// `mqrecv NAME`: receives messages from a POSIX message queue and prints them.
///
/// Each message is written to standard output as soon as it is received, in
/// one `write(2)`, so a reader sees it at once. A receive that fails before
/// `--count` messages came reports how many did.
@main
struct MqRecv: OneLineErrorCommand {
  static let configuration = CommandConfiguration(
    commandName: "mqrecv",
    abstract: "Receive messages from a POSIX message queue and print them.",
    discussion: """
      mqrecv receives one message (or --count of them, highest priority \
      first), waiting while the queue is empty, and prints each as a line of \
      text. Bytes that are not printable UTF-8 are shown as \\xNN and a \
      backslash as \\\\, so the output is always safe for a terminal. \
      --format hex prints the bytes in hex, and --format json one JSON object \
      per message: {"base64":…,"length":…,"priority":…,"text":…}, where text \
      is there only for valid UTF-8. --raw writes the exact bytes and nothing \
      else: no newline, so with --count the messages run together.

      Each receive waits while the queue is empty, for at most --timeout \
      seconds if given, or not at all with --nonblock. Without --follow, that \
      is a failure: the error says how many of the messages were received.

      --follow receives until mqrecv is stopped. With --timeout it stops, with \
      status 0, when no message comes for that long; with --nonblock, when the \
      queue is empty: mqrecv --follow --nonblock drains the queue.

      If standard output is closed (the reader of a pipe has gone), mqrecv \
      exits with status 1 without a message; the message it was writing has \
      left the queue.

      Exit status: 0 when every message was received and printed; 1 when the \
      operation failed, with one line on standard error; 64 for a usage error.

      EXAMPLES
        mqrecv jobs
            Waits for a message on /jobs and prints it.
        mqrecv --count 3 --priority jobs
            Prints three messages, each as its priority, a tab and the text.
        mqrecv --timeout 2 jobs
            Fails with status 1 if no message comes within 2 seconds.
        mqrecv --follow jobs | while read -r line; do echo "got $line"; done
            Prints messages as they come, until stopped.
        mqrecv --follow --nonblock --format json jobs > backlog.jsonl
            Saves every queued message as a JSON line and exits.
        mqrecv --raw jobs > message.bin
            Saves one message byte for byte.
      """,
    version: HinixVersion.string)

  @Argument(
    help: "The queue's name, such as /jobs; the leading / may be left out. Any bytes, UTF-8 or not.")
  var name: String

  @Option(help: ArgumentHelp("Receive this many messages (default: 1).", valueName: "n"))
  var count: Int?

  @Flag(help: "Receive messages until stopped (see above for --timeout and --nonblock).")
  var follow = false

  @Option(
    help: ArgumentHelp("Wait at most this long for each message.", valueName: "seconds"),
    transform: { try parseTimeout($0) })
  var timeout: Duration?

  @Flag(help: "Do not wait: fail at once if the queue is empty.")
  var nonblock = false

  @Flag(help: "Print each message's priority and a tab before it.")
  var priority = false

  @Option(help: "How to print each message")
  var format: MessageFormat = .text

  @Flag(help: "Write the message's exact bytes and nothing else.")
  var raw = false

  func validate() throws {
    _ = try parseQueueName(name)
    _ = try QueueWait(timeout: timeout, nonblocking: nonblock)
    if let count, count < 1 { throw ValidationError("--count must be at least 1; got \(count)") }
    if count != nil && follow {
      throw ValidationError(
        "--count and --follow exclude each other: --follow receives until stopped")
    }
    if raw && format != .text {
      throw ValidationError(
        "--raw and --format exclude each other: --raw writes the bytes unformatted")
    }
    if raw && priority {
      throw ValidationError(
        "--raw and --priority exclude each other: --raw writes nothing but the bytes")
    }
  }

  func run() throws {
    let name = try parseQueueName(name)
    RecvOutput.ignoreBrokenPipe()
    let output: RecvOutput = raw ? .raw : .formatted(format, priority: priority)
    let wait = try QueueWait(timeout: timeout, nonblocking: nonblock)
    do {
      let queue = try open(name)
      try receive(from: queue, waiting: wait, into: output)
    } catch let code as ExitCode {
      throw code
    } catch {
      throw failure(Self.toolName, error)
    }
  }

  /// Opens the queue for receiving; it must exist.
  private func open(_ name: MsgQueueName) throws -> MsgQueue {
    do {
      return try MsgQueue(name, access: .readOnly)
    } catch {
      throw error.advisingOnMissingQueue("no queue has this name; mqsend --create makes one")
    }
  }

  /// Receives and writes `--count` messages, or with `--follow` until the
  /// queue stays empty as long as `wait` allows.
  ///
  /// - Throws: ``TransferInterrupted`` saying how many were received before a
  ///   receive failed; `ExitCode.failure` when standard output has gone.
  private func receive(from queue: MsgQueue, waiting wait: QueueWait, into output: RecvOutput)
    throws
  {
    let total: Int? = follow ? nil : count ?? 1
    var received = 0
    while total.map({ received < $0 }) ?? true {
      let message: MsgQueue.Message
      do {
        message = try wait.receive(from: queue)
      } catch is QueueBlocked where follow {
        return
      } catch {
        throw TransferInterrupted(
          .receiving, queueName: queue.name, completed: received, total: total, cause: error)
      }
      try output.write(message)
      received += 1
    }
  }
}
