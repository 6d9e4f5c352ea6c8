import ArgumentParser
import Hinix
import HinixCommandLine

extension Mq {
  /// `hinix mq ls`: every queue in the caller's IPC namespace.
  struct List: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "ls",
      abstract: "List the message queues of this IPC namespace.",
      discussion: """
        For each queue: its name, owner and group, mode, capacity (MAX-MSGS \
        messages of at most MSG-SIZE bytes), the MESSAGES queued now and \
        QUEUED-BYTES, the bytes of those messages together (the kernel's \
        QSIZE; not a count of messages), and NOTIFY, the process registered \
        with mq_notify(3) and how it is told ("-" when nobody is). A queue \
        that cannot be opened (no read permission) shows "-" for what only \
        opening tells. Nothing is received and no queue is changed.

        POSIX has no call that lists queues; Linux shows them as files of the \
        mqueue file system. If it is not mounted, hinix mounts it privately \
        for the moment it reads it, which needs root (CAP_SYS_ADMIN); nothing \
        stays mounted and nothing is created on disk. Without root it reads \
        an mqueue file system that is already mounted, such as /dev/mqueue.

        Names are shown as hinix mq --help says: "\\\\" for a backslash and \
        "\\xNN" for each byte that is not printable UTF-8.

        --json prints one JSON array with an object per queue, keys sorted: \
        name (null for a name that is not UTF-8), nameBase64 (the name's \
        exact bytes, in base64), uid, user, gid, group, mode ("0600"), maxMessages, messageSize, \
        currentMessages, queuedBytes, notification (null, or pid, kind \
        "signal", "none" or "thread", signal and signalName), chargedBytes \
        (what the queue costs under RLIMIT_MSGQUEUE) and error (why the queue \
        could not be opened, or null). Unknown values are null.

        EXAMPLES:
          hinix mq ls
          hinix mq ls --json | jq -r '.[] | select(.currentMessages > 0) | .name'
        """,
      aliases: ["list"])

    @Flag(help: "Print one JSON array instead of a table.")
    var json = false

    @OptionGroup
    var directory: DirectoryOptions

    func run() throws {
      let listing: MqQueueListing
      do {
        listing = try MqQueueDirectory.list(source: directory.source)
      } catch {
        throw mqFailure("ls", error)
      }
      let names = MqNameCache()
      let reports = listing.entries.compactMap { MqQueueReport.read($0, names: names) }
      if json {
        try printJSON(reports, command: "ls")
      } else {
        StandardOutput.write(Self.table(reports))
      }
    }

    /// The reports as an aligned table with a header line.
    static func table(_ reports: [MqQueueReport]) -> String {
      let header = [
        "NAME", "OWNER", "GROUP", "MODE", "MAX-MSGS", "MSG-SIZE", "MESSAGES", "QUEUED-BYTES", "NOTIFY",
      ]
      let rows = reports.map { report in
        [
          report.name, mqIdentity(report.uid, report.user), mqIdentity(report.gid, report.group),
          report.octalMode, dash(report.maxMessages), dash(report.messageSize),
          dash(report.currentMessages), dash(report.queuedBytes),
          report.notification?.summary ?? "-",
        ]
      }
      return mqTable(header: header, rows: rows, numeric: [4, 5, 6, 7])
    }
  }
}

/// The options that choose how the queue directory is reached: hidden, for tests
/// and for diagnosing a host where the default does not work.
struct DirectoryOptions: ParsableArguments {
  @Option(
    name: .customLong("directory-source"),
    help: ArgumentHelp(
      "How to reach the mqueue file system: auto, detached, namespace or mounted.",
      visibility: .hidden))
  var source: MqDirectorySource = .auto
}

/// The value, or "-" when it is unknown.
func dash(_ value: Int?) -> String { value.map(String.init) ?? "-" }

/// Prints `value` as one line of JSON with sorted keys.
///
/// - Throws: The `ExitCode` of ``mqFailure(_:_:)`` if it cannot be encoded.
func printJSON(_ value: some Encodable, command: String) throws {
  let line: String
  do {
    line = try jsonLine(value)
  } catch {
    throw mqFailure(command, error)
  }
  StandardOutput.write(line + "\n")
}
