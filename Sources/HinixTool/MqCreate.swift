import ArgumentParser
import Hinix
import HinixCommandLine

#if canImport(Glibc)
  import Glibc
#endif

extension Mq {
  /// `hinix mq create`: a new queue, created exclusively.
  struct Create: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "create",
      abstract: "Create a message queue.",
      discussion: """
        Creates the queue exclusively: if one with the name exists, nothing \
        changes and the command fails with EEXIST. Prints nothing on success.

        Without --maxmsg and --msgsize the queue gets the system defaults \
        (/proc/sys/fs/mqueue/msg_default and msgsize_default); give one and \
        the other is the default. Without CAP_SYS_RESOURCE, --maxmsg is at \
        most msg_max and --msgsize at most msgsize_max, the namespace holds at \
        most queues_max queues, and every queue is charged \
        maxmsg × (msgsize + 96) bytes against your RLIMIT_MSGQUEUE (819200 by \
        default, shared by all your queues). A failure names the limit that \
        was hit; hinix mq limits shows them all.

        --mode sets the permissions exactly (the umask does not apply, as \
        with mkdir -m); without it the queue is 0600 less the umask: read and \
        write for its owner only.

        EXAMPLES:
          hinix mq create /jobs --maxmsg 8 --msgsize 1024
          hinix mq create jobs --mode 660
        """)

    @Argument(help: "The new queue's name; the leading \"/\" may be left out.", transform: parseQueueName)
    var name: MsgQueueName

    @Option(name: .customLong("maxmsg"), parsing: .unconditional, help: ArgumentHelp("The most messages the queue holds.", valueName: "count"))
    var maxMessages: Int?

    @Option(name: .customLong("msgsize"), parsing: .unconditional, help: ArgumentHelp("The largest message, in bytes.", valueName: "bytes"))
    var messageSize: Int?

    @Option(help: ArgumentHelp("The permissions, in octal, such as 600 or 660.", valueName: "octal"), transform: { try parseMode($0) })
    var mode: FilePermissions?

    func validate() throws {
      if let maxMessages, maxMessages < 1 {
        throw ValidationError("--maxmsg must be at least 1; got \(maxMessages)")
      }
      if let messageSize, messageSize < 1 {
        throw ValidationError("--msgsize must be at least 1; got \(messageSize)")
      }
    }

    func run() throws {
      // mq_open(3) applies the umask to the mode; an explicit --mode is meant exactly.
      let savedMask = mode.map { _ in umask(0) }
      defer { savedMask.map { _ = umask($0) } }
      let permissions = mode ?? .ownerReadWrite
      do {
        let queue = try MsgQueue(
          name, access: .readOnly, options: .exclusive, permissions: permissions, capacity: capacity)
        try queue.close()
      } catch {
        throw mqFailure("create", error)
      }
    }

    /// The capacity asked for, or `nil` for the kernel's defaults.
    private var capacity: MsgQueue.Capacity? {
      guard maxMessages != nil || messageSize != nil else { return nil }
      let defaults = SystemLimits.current().defaultCapacity
      return MsgQueue.Capacity(
        maxMessages: maxMessages ?? defaults.maxMessages,
        messageSize: messageSize ?? defaults.messageSize)
    }
  }
}
