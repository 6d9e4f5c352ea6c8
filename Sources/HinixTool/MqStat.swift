import ArgumentParser
import Hinix
import HinixCommandLine

extension Mq {
  /// `hinix mq stat`: one queue's details.
  struct Stat: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "stat",
      abstract: "Show one message queue's owner, mode, capacity, contents and notification.",
      discussion: """
        Shows what hinix mq ls shows for the queue, and the bytes it is \
        charged under RLIMIT_MSGQUEUE: maxmsg × (msgsize + 96) on 64-bit \
        Linux, counted against the creator's user for as long as the queue \
        exists, however many messages it holds. Opens the queue read-only, so \
        it works without the mqueue file system being mounted; nothing is \
        received and the queue is not changed. A queue you may not read \
        fails with EACCES, naming its owner and mode when hinix can see them.

        --json prints one JSON object with the keys that hinix mq ls --json \
        uses.

        Fails (exit status 1) with ENOENT when there is no such queue.

        EXAMPLES:
          hinix mq stat /jobs
          hinix mq stat jobs --json | jq .currentMessages
        """)

    @Argument(help: "The queue's name; the leading \"/\" may be left out.", transform: parseQueueName)
    var name: MsgQueueName

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func run() throws {
      let report: MqQueueReport
      let names = MqNameCache()
      do {
        report = try MqQueueReport.read(name, names: names)
      } catch let error as HinixError where error.errno == .permissionDenied {
        guard let ownership = Self.ownership(of: name, names: names) else {
          throw mqFailure("stat", error)
        }
        throw mqFailure(
          "stat", error.withDetail("the queue's permissions do not allow reading it (\(ownership))"))
      } catch {
        throw mqFailure("stat", error)
      }
      if json {
        try printJSON(report, command: "stat")
      } else {
        StandardOutput.write(Self.text(report))
      }
    }

    /// The owner, group and mode of a queue that cannot be opened, from the
    /// queue directory if it can be reached: `owner 0(root), group 0(root), mode 0600`.
    static func ownership(of name: MsgQueueName, names: MqNameCache) -> String? {
      guard let listing = try? MqQueueDirectory.list(),
        let entry = listing.entries.first(where: { $0.name == name })
      else { return nil }
      return "owner \(mqIdentity(entry.uid, names.user(entry.uid))),"
        + " group \(mqIdentity(entry.gid, names.group(entry.gid))), mode \(mqOctal(entry.mode))"
    }

    /// The report as aligned "label  value" lines.
    static func text(_ report: MqQueueReport) -> String {
      let rows: [[String]] = [
        ["name", report.name],
        ["owner", mqIdentity(report.uid, report.user)],
        ["group", mqIdentity(report.gid, report.group)],
        ["mode", report.octalMode],
        ["max messages", dash(report.maxMessages)],
        ["message size", report.messageSize.map { "\($0) bytes" } ?? "-"],
        ["messages", dash(report.currentMessages)],
        ["queued bytes", report.queuedBytes.map { "\($0) (QSIZE: the bytes of the queued messages together)" } ?? "-"],
        ["notification", notificationText(report)],
        ["charged bytes", chargeText(report)],
      ]
      let labelled = rows.map { [$0[0] + ":", $0[1]] }
      return mqTable(header: labelled[0], rows: Array(labelled.dropFirst()))
    }

    private static func notificationText(_ report: MqQueueReport) -> String {
      guard let owner = report.notification else { return "none" }
      switch owner.kind {
      case "signal":
        return "process \(owner.pid), by signal \(owner.signalName ?? "") (\(owner.signal ?? 0))"
      case "none": return "process \(owner.pid), registered without a signal (SIGEV_NONE)"
      case "thread": return "process \(owner.pid), by a thread (SIGEV_THREAD)"
      default: return "process \(owner.pid), \(owner.kind)"
      }
    }

    private static func chargeText(_ report: MqQueueReport) -> String {
      guard let charged = report.chargedBytes, let count = report.maxMessages,
        let size = report.messageSize
      else { return "-" }
      // The kernel's formula is this simple product up to MQ_PRIO_MAX messages.
      guard count <= MsgQueue.priorityLimit else { return "\(charged) (RLIMIT_MSGQUEUE)" }
      return "\(charged) (RLIMIT_MSGQUEUE: \(count) × (\(size) + \(SystemLimits.overheadPerMessage)))"
    }
  }
}
