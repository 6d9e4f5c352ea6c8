import ArgumentParser
import Hinix
import HinixCommandLine

/// `mqsend NAME [MESSAGE]`: sends messages to a POSIX message queue.
///
/// A run never leaves work half-done without saying so. It reads and cuts all
/// of its input first, then opens (or creates) the queue, then checks every
/// message against the queue's message size as the kernel reports it, and
/// only then sends. A send that fails part-way reports how many messages went.
@main
struct MqSend: OneLineErrorCommand {
  static let configuration = CommandConfiguration(
    commandName: "mqsend",
    abstract: "Send messages to a POSIX message queue.",
    discussion: """
      The message is MESSAGE or, without it, standard input: all of it as one \
      message, one message per line with --lines, or NUL-separated messages \
      with -0. Standard input goes byte for byte, NUL bytes and invalid UTF-8 \
      included; a MESSAGE argument must be UTF-8.

      mqsend reads all of its input (at most 64 MiB) before it opens the queue, \
      and checks every message against the queue's message size before it \
      sends any: a message that is too long, or an input that cannot be read, \
      sends nothing.

      The queue must exist unless --create or --exclusive is given. A queue \
      they create holds --nmsg messages of at most --maxsz bytes (4 and 512 \
      unless given, as in hinix's mqsend), with the permissions of --mode; an \
      existing queue keeps its own size and mode. A queue that mqsend creates \
      stays when the run then fails before sending (a message too long for \
      it, say): --create asked for it. Standard input is read before the queue \
      is opened, so a failure to read it creates nothing.

      Each send waits while the queue is full, for at most --timeout seconds \
      if given, or not at all with --nonblock. When a send fails, the error \
      says how many of the messages were sent before it.

      Exit status: 0 when every message was sent; 1 when the operation failed, \
      with one line on standard error; 64 for a usage error.

      EXAMPLES
        mqsend --create jobs 'build 42'
            Creates /jobs (4 messages of 512 bytes) unless it exists,
            and sends one message.
        mqsend -c -n 8 -s 1024 --mode 660 /jobs hello
            The same, for a group-writable queue of 8 messages of 1024 bytes.
        mqsend -p 9 jobs urgent
            Sends with priority 9, to be received before lower priorities.
        printf 'one\\ntwo\\nthree\\n' | mqsend --lines jobs
            Sends three messages: one, two and three.
        find . -name '*.log' -print0 | mqsend -0 jobs
            Sends each path as a message.
        mqsend jobs < report.pdf
            Sends the file's bytes as one message.
        mqsend --nonblock jobs ping || echo 'the queue is full'
            Fails at once, with status 1, if the queue has no room.
        mqsend --timeout 0.5 --repeat 1000 jobs tick
            Sends 1000 messages, failing if the queue stays full for half
            a second; the error says how many were sent.
      """,
    version: HinixVersion.string)

  @Argument(
    help: "The queue's name, such as /jobs; the leading / may be left out. Any bytes, UTF-8 or not.")
  var name: String

  @Argument(help: "The message. Without it, mqsend reads the message(s) from standard input.")
  var message: String?

  @Flag(name: .shortAndLong, help: "Create the queue if it does not exist.")
  var create = false

  @Flag(help: "Create the queue, and fail if it exists already (O_EXCL). Implies --create.")
  var exclusive = false

  @Option(
    name: .shortAndLong,
    help: ArgumentHelp("The most messages a created queue holds (default: 4).", valueName: "count"))
  var nmsg: Int?

  @Option(
    name: [.customShort("s"), .long],
    help: ArgumentHelp(
      "The largest message a created queue holds, in bytes (default: 512).", valueName: "bytes"))
  var maxsz: Int?

  @Option(
    help: ArgumentHelp(
      "A created queue's permissions, in octal, less the umask (default: 600).", valueName: "octal"),
    transform: { try parseMode($0) })
  var mode: FilePermissions?

  @Option(name: .shortAndLong, help: "The messages' priority, 0 to 32767; higher is received first")
  var priority: UInt32 = 0

  @Option(
    help: ArgumentHelp(
      "Wait at most this long for room in the queue, per message.", valueName: "seconds"),
    transform: { try parseTimeout($0) })
  var timeout: Duration?

  @Flag(help: "Do not wait: fail at once if the queue is full.")
  var nonblock = false

  @Flag(help: "Send each line of standard input as a message, without its newline.")
  var lines = false

  @Flag(
    name: [.customShort("0"), .customLong("null")],
    help: "Send NUL-separated messages from standard input.")
  var nullSeparated = false

  @Option(
    name: .customLong("repeat"),
    help: ArgumentHelp("Send the message(s) this many times, in order", valueName: "n"))
  var repetitions = 1

  /// The size of a queue mqsend creates when -n or -s is not given: hinix's.
  static let defaultCapacity = MsgQueue.Capacity(maxMessages: 4, messageSize: 512)

  func validate() throws {
    _ = try parseQueueName(name)
    try validatePriority(priority)
    _ = try QueueWait(timeout: timeout, nonblocking: nonblock)
    if lines && nullSeparated {
      throw ValidationError(
        "--lines and --null exclude each other: choose one way to cut standard input")
    }
    if let message {
      try validateUTF8Argument(message, "MESSAGE", advice: "send it on standard input")
    }
    if message != nil && (lines || nullSeparated) {
      throw ValidationError(
        "--lines and --null cut standard input; they cannot be used with a MESSAGE argument")
    }
    try validateCreation()
    guard repetitions >= 1 else {
      throw ValidationError("--repeat must be at least 1; got \(repetitions)")
    }
  }

  /// -n, -s and --mode describe a queue to create: positive, and only with --create.
  private func validateCreation() throws {
    for (option, value) in [("--nmsg", nmsg), ("--maxsz", maxsz)] {
      if let value, value < 1 {
        throw ValidationError("\(option) must be at least 1; got \(value)")
      }
    }
    if !creating, nmsg != nil || maxsz != nil || mode != nil {
      throw ValidationError("--nmsg, --maxsz and --mode describe a queue to create; add --create")
    }
  }

  func run() throws {
    let name = try parseQueueName(name)
    do {
      let messages =
        try message.map { [Array($0.utf8)[...]] } ?? SendInput.messages(framing: framing)
      let queue = try open(name)
      try SendInput.checkSizes(messages, fit: queue)
      try send(messages, to: queue, waiting: QueueWait(timeout: timeout, nonblocking: nonblock))
    } catch {
      throw failure(Self.toolName, error)
    }
  }

  /// Opens the queue for sending, creating it if asked to.
  private func open(_ name: MsgQueueName) throws -> MsgQueue {
    do {
      return try MsgQueue(
        name, access: .writeOnly, options: openOptions, permissions: permissions, capacity: capacity
      )
    } catch {
      throw error.advisingOnMissingQueue("no queue has this name; add --create to create it")
    }
  }

  /// Sends every message, in order, ``repetitions`` times.
  ///
  /// - Throws: ``TransferInterrupted`` saying how many were sent before a send failed.
  private func send(_ messages: [ArraySlice<UInt8>], to queue: MsgQueue, waiting wait: QueueWait)
    throws
  {
    guard !messages.isEmpty else { return }
    let (product, overflow) = messages.count.multipliedReportingOverflow(by: repetitions)
    let total = overflow ? Int.max : product
    var sent = 0
    for _ in 0..<repetitions {
      for message in messages {
        do {
          try wait.send(message, priority: priority, to: queue)
        } catch {
          throw TransferInterrupted(
            .sending, queueName: queue.name, completed: sent, total: total, cause: error)
        }
        sent += 1
      }
    }
  }

  private var creating: Bool { create || exclusive }

  private var framing: SendFraming {
    lines ? .lines : nullSeparated ? .nullSeparated : .whole
  }

  private var openOptions: MsgQueue.Options {
    exclusive ? [.create, .exclusive] : create ? .create : []
  }

  private var capacity: MsgQueue.Capacity? {
    guard creating else { return nil }
    return MsgQueue.Capacity(
      maxMessages: nmsg ?? Self.defaultCapacity.maxMessages,
      messageSize: maxsz ?? Self.defaultCapacity.messageSize)
  }

  private var permissions: FilePermissions {
    mode ?? .ownerReadWrite
  }
}
