// Interrupting a blocked call by ordering, not by time: the signal is sent
// only once the calling thread is seen blocked in the system call, so no
// check depends on how fast a thread starts on a busy machine.

import Hinix
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

#if arch(x86_64)
  /// System call numbers as /proc/.../syscall shows them.
  let syscallRead = 0
  let syscallMqTimedsend = 242
  let syscallMqTimedreceive = 243
#else
  // The generic system call table (aarch64, riscv64).
  let syscallRead = 63
  let syscallMqTimedsend = 182
  let syscallMqTimedreceive = 183
#endif

/// Whether the task at `path` (`/proc/PID/syscall` or `/proc/self/task/TID/syscall`)
/// is blocked in system call `number` now.
func isBlocked(_ path: String, inSyscall number: Int) -> Bool {
  guard let text = readSmallFile(path) else { return false }
  return text.hasPrefix("\(number) ")
}

/// The calling thread's ID, from /proc/thread-self (`PID/task/TID`).
func currentThreadID() -> pid_t? {
  linkTarget("/proc/thread-self").flatMap { $0.split(separator: "/").last }.flatMap { pid_t($0) }
}

nonisolated(unsafe) private var interruptHandlerRuns: Int32 = 0

/// Sends SIGUSR1 to the thread that created it as soon as that thread is seen
/// blocked in a given system call, from a thread of its own.
///
/// Use: create it, start the blocking call, then call ``callReturned()``.
/// Whether the signal came before the call returned is then a fact the check
/// controls, not a guess from elapsed time.
final class BlockedCallInterrupter: @unchecked Sendable {
  private enum State: Int { case watching = 0, signalled = 1, returned = 2 }
  private let state = Atomic<Int>(State.watching.rawValue)
  /// Set once the blocking call has returned, whatever the state.
  private let ended = Atomic<Bool>(false)
  private let target = pthread_self()
  private let path: String
  private let syscall: Int
  private var thread = pthread_t()
  /// Runs on the watching thread after the signal was sent (SA_RESTART checks
  /// use it to free a slot or send a message once the call has restarted).
  private let afterSignal: (@Sendable (BlockedCallInterrupter) -> Void)?

  /// How many times the handler has run in this process.
  static var handlerRuns: Int32 { interruptHandlerRuns }

  /// Installs a SIGUSR1 handler (with or without SA_RESTART), unblocks SIGUSR1
  /// on this thread, and starts watching it for a block in `syscall`.
  init(restart: Bool, syscall: Int, afterSignal: (@Sendable (BlockedCallInterrupter) -> Void)? = nil) throws {
    guard let tid = currentThreadID() else { throw HarnessError("cannot read /proc/thread-self") }
    path = "/proc/self/task/\(tid)/syscall"
    self.syscall = syscall
    self.afterSignal = afterSignal
    var action = sigaction()
    action.__sigaction_handler.sa_handler = { _ in interruptHandlerRuns += 1 }
    sigemptyset(&action.sa_mask)
    action.sa_flags = restart ? SA_RESTART : 0
    sigaction(SIGUSR1, &action, nil)
    var set = sigset_t()
    sigemptyset(&set)
    sigaddset(&set, SIGUSR1)
    pthread_sigmask(SIG_UNBLOCK, &set, nil)
    let box = Unmanaged.passRetained(self).toOpaque()
    let result = pthread_create(&thread, nil, { raw in
      let me = Unmanaged<BlockedCallInterrupter>.fromOpaque(raw!).takeRetainedValue()
      me.watch()
      return nil
    }, box)
    guard result == 0 else { throw HarnessError("pthread_create: \(Errno(rawValue: result))") }
  }

  private func watch() {
    while state.load(ordering: .acquiring) == State.watching.rawValue {
      if isBlocked(path, inSyscall: syscall) {
        if state.compareExchange(
          expected: State.watching.rawValue, desired: State.signalled.rawValue, ordering: .acquiringAndReleasing
        ).exchanged {
          pthread_kill(target, SIGUSR1)
          afterSignal?(self)
        }
        return
      }
      usleep(1_000)
    }
  }

  /// Waits until the watched thread is blocked in the system call again (after
  /// a restart); called from `afterSignal`. Gives up when the call has
  /// returned instead (it was not restarted), or after `limit`.
  func waitBlockedAgain(limit: Duration = .seconds(30)) -> Bool {
    let clock = ContinuousClock()
    let end = clock.now + limit
    while clock.now < end && !ended.load(ordering: .acquiring) {
      if interruptHandlerRuns > 0 && isBlocked(path, inSyscall: syscall) { return true }
      usleep(1_000)
    }
    return false
  }

  /// Call once the blocking call has returned: stops the watcher and joins it.
  ///
  /// - Returns: Whether the signal had been sent before the call returned.
  @discardableResult
  func callReturned() -> Bool {
    ended.store(true, ordering: .releasing)
    let signalled = !state.compareExchange(
      expected: State.watching.rawValue, desired: State.returned.rawValue, ordering: .acquiringAndReleasing
    ).exchanged
    pthread_join(thread, nil)
    return signalled
  }
}
