import ArgumentParser
import Hinix
import HinixCommandLine

/// `hinix mq`: POSIX message queues (mq_overview(7)).
struct Mq: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "mq",
    abstract: "List, inspect, create, remove and watch POSIX message queues.",
    discussion: """
      A queue name is "/" followed by 1 to 255 bytes with no other "/" and no \
      NUL; the leading "/" may be left out. The bytes need not be UTF-8: \
      every command takes a name's exact bytes. Output shows a name with \
      "\\\\" for a backslash and "\\xNN" for each byte that is not printable \
      UTF-8 (control characters, invalid UTF-8), as bash's $'...' writes \
      them: hinix mq rm $'/r\\xff' removes the queue that ls shows as /r\\xff. \
      Queues belong to an IPC namespace and live until they are removed \
      (hinix mq rm) or the system restarts.

      hinix mq ls works whether or not the mqueue file system is mounted at \
      /dev/mqueue: as root it mounts it privately, where no other process \
      sees it, and nothing stays mounted.

      EXAMPLES:
        hinix mq ls
        hinix mq stat /jobs --json
        hinix mq create /jobs --maxmsg 8 --msgsize 1024 --mode 660
        hinix mq watch /jobs
        hinix mq rm /jobs /results
        hinix mq limits
      """,
    subcommands: [List.self, Stat.self, Create.self, Remove.self, Limits.self, Watch.self])
}

/// Prints the one line for a failed `hinix mq <command>` and returns exit code 1.
///
/// Hinix's errors explain themselves to a Swift programmer (ENOENT from
/// `mq_open` suggests `options: .create`); here they speak of commands instead.
func mqFailure(_ command: String, _ error: any Error) -> ExitCode {
  guard let error = error as? HinixError, error.operation.rawValue.hasPrefix("mq_") else {
    return failure("hinix mq \(command)", error)
  }
  switch (error.errno, error.operation) {
  case (.noSuchFileOrDirectory, _):
    return failure(
      "hinix mq \(command)",
      error.withDetail("there is no queue with this name in this IPC namespace (hinix mq ls lists them)"))
  case (.permissionDenied, .mqUnlink):
    // The mqueue file system's root directory is sticky (mode 1777).
    return failure(
      "hinix mq \(command)",
      error.withDetail("only the queue's owner, or a process with CAP_FOWNER, may remove it"))
  default:
    return failure("hinix mq \(command)", error)
  }
}
