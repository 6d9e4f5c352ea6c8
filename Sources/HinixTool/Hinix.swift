import ArgumentParser
import Hinix
import HinixCommandLine

/// `hinix`: inspect and administer the kernel's interprocess communication
/// objects. Each kind of object is a subcommand group (`hinix mq`).
///
/// The commands are synchronous on purpose: an `AsyncParsableCommand` starts
/// Swift's concurrency runtime, whose threads would make the process
/// multithreaded, and a multithreaded process cannot enter a private mount
/// namespace (`unshare(2)`, `CLONE_NEWNS`), which `hinix mq ls` may need.
@main
struct HinixCommand: OneLineErrorCommand {
  static let configuration = CommandConfiguration(
    commandName: "hinix",
    abstract: "Inspect and administer POSIX interprocess communication objects on Linux, and check the kernel against the man pages.",
    discussion: """
      Exit status: 0 on success, 1 when the operation failed (one line on \
      standard error naming the call, the errno and what went wrong), 64 for \
      a usage error (one line on standard error).

      EXAMPLES:
        hinix mq ls
        hinix mq create jobs --maxmsg 4 --msgsize 256
        hinix mq watch jobs --count 1
        hinix conform --format json --output report.json
        hinix help mq
      """,
    version: HinixVersion.string,
    subcommands: [Mq.self, Conform.self, ConformWorker.self])
}
