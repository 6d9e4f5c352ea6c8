// Child processes: re-executions of this binary, never fork() in Swift.

import CHinix
import Hinix

#if canImport(Glibc)
  import Glibc
#endif

/// A child process running this same executable with other arguments, with
/// its standard output on a pipe to the parent.
public final class Child: @unchecked Sendable {
  /// The child's process ID.
  public let pid: pid_t
  private let output: CInt
  private var buffer: [UInt8] = []
  private var status: CInt?

  private init(pid: pid_t, output: CInt) {
    self.pid = pid
    self.output = output
  }

  deinit {
    close(output)
  }

  /// Starts `/proc/self/exe` with `arguments`, in a new process group when
  /// `newGroup` (the group's ID is then the child's PID), with the parent's
  /// environment, so an LD_PRELOAD library reaches every child too.
  static func spawnSelf(_ arguments: [String], newGroup: Bool) throws -> Child {
    var pipeEnds: [CInt] = [-1, -1]
    guard CHinix_pipe2(&pipeEnds, O_CLOEXEC) == 0 else {
      throw HarnessError("pipe2: \(Errno(rawValue: errno))")
    }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], 1)
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var flags = Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)
    if newGroup {
      flags |= Int16(POSIX_SPAWN_SETPGROUP)
      posix_spawnattr_setpgroup(&attributes, 0)
    }
    var none = sigset_t()
    sigemptyset(&none)
    posix_spawnattr_setsigmask(&attributes, &none)
    var all = sigset_t()
    sigfillset(&all)
    posix_spawnattr_setsigdefault(&attributes, &all)
    posix_spawnattr_setflags(&attributes, flags)

    let executable = "/proc/self/exe"
    var argv = ([CommandLine.arguments.first ?? "hinix"] + arguments).map { strdup($0) }
    argv.append(nil)
    defer { argv.forEach { free($0) } }
    var pid: pid_t = 0
    let result = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
    close(pipeEnds[1])
    guard result == 0 else {
      close(pipeEnds[0])
      throw HarnessError("posix_spawn \(executable): \(Errno(rawValue: result))")
    }
    return Child(pid: pid, output: pipeEnds[0])
  }

  /// Reads the next line the child wrote, waiting at most `timeout`.
  ///
  /// - Returns: The line without its newline, or `nil` at end of output or on timeout.
  public func readLine(timeout: Duration = .seconds(5)) -> String? {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while true {
      if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
        let line = String(decoding: buffer[..<newline], as: UTF8.self)
        buffer.removeSubrange(...newline)
        return line
      }
      let left = clock.now.duration(to: deadline)
      guard left > .zero, readable(within: left) else { return nil }
      var chunk = [UInt8](repeating: 0, count: 4096)
      let count = chunk.withUnsafeMutableBytes { read(output, $0.baseAddress, $0.count) }
      if count < 0 && errno == EINTR { continue }
      guard count > 0 else {
        if buffer.isEmpty { return nil }
        defer { buffer.removeAll() }
        return String(decoding: buffer, as: UTF8.self)
      }
      buffer += chunk[..<count]
    }
  }

  /// Everything the child writes until it closes its output, within `timeout`.
  func readAll(timeout: Duration) -> [UInt8]? {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while true {
      let left = clock.now.duration(to: deadline)
      guard left > .zero, readable(within: left) else { return nil }
      var chunk = [UInt8](repeating: 0, count: 65_536)
      let count = chunk.withUnsafeMutableBytes { read(output, $0.baseAddress, $0.count) }
      if count < 0 && errno == EINTR { continue }
      if count <= 0 { return buffer }
      buffer += chunk[..<count]
    }
  }

  private func readable(within timeout: Duration) -> Bool {
    var entry = pollfd(fd: output, events: Int16(POLLIN), revents: 0)
    let milliseconds = CInt(clamping: timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000 + 1)
    while true {
      let result = poll(&entry, 1, milliseconds)
      if result == -1 && errno == EINTR { continue }
      return result > 0
    }
  }

  /// Waits at most `timeout` for the child to exit.
  ///
  /// - Returns: Its exit status (128 + N for death by signal N), or `nil` if it is still running.
  public func wait(timeout: Duration = .seconds(5)) -> CInt? {
    if let status { return status }
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while true {
      var raw: CInt = 0
      let result = waitpid(pid, &raw, WNOHANG)
      if result == pid {
        let exit: CInt = (raw & 0x7f) == 0 ? (raw >> 8) & 0xff : 128 + (raw & 0x7f)
        status = exit
        return exit
      }
      if result == -1 && errno != EINTR { return nil }
      if clock.now >= deadline { return nil }
      usleep(1_000)
    }
  }

  /// Whether the child has exited, without reaping it: its process ID (and,
  /// for a group leader, its group's ID) stays reserved until ``wait(timeout:)``
  /// reaps it, so its group can still be killed safely.
  func hasExited() -> Bool {
    if status != nil { return true }
    var info = siginfo_t()
    while true {
      let result = waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT)
      if result == -1 && errno == EINTR { continue }
      // With WNOHANG and no exited child, waitid leaves si_pid 0.
      return result == 0 && info._sifields._kill.si_pid == pid
    }
  }

  /// Kills the child (and, for a group leader, its whole group) and reaps it.
  ///
  /// With `group`, the group is killed even when the leader has already
  /// exited and been reaped: helpers it left behind are still in the group
  /// (the group's ID stays valid while any member lives).
  public func kill(group: Bool = false) {
    if group { _ = Glibc.kill(-pid, SIGKILL) }
    guard status == nil else { return }
    if !group { _ = Glibc.kill(pid, SIGKILL) }
    _ = wait(timeout: .seconds(5))
  }
}
