import ArgumentParser
import Hinix
import HinixCommandLine

extension Mq {
  /// `hinix mq rm`: unlinks queues.
  struct Remove: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "rm",
      abstract: "Remove message queues.",
      discussion: """
        Removes each queue's name (mq_unlink(3)). Processes that have the \
        queue open keep using it; it is destroyed, and its RLIMIT_MSGQUEUE \
        charge returned, when the last of them closes it.

        A queue that cannot be removed (ENOENT: there is none; EACCES: no \
        permission) gets one line on standard error, and the others are \
        still removed; the exit status is then 1.

        EXAMPLES:
          hinix mq rm /jobs
          hinix mq rm jobs results
        """,
      aliases: ["unlink"])

    @Argument(help: "The queues' names; the leading \"/\" may be left out.", transform: parseQueueName)
    var names: [MsgQueueName]

    func run() throws {
      var failed = false
      for name in names {
        do {
          try MsgQueue.unlink(name)
        } catch {
          _ = mqFailure("rm", error)
          failed = true
        }
      }
      if failed { throw ExitCode.failure }
    }
  }
}
