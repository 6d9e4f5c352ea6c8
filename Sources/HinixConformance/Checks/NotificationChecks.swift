// Conformance checks; see the catalog rows each cites.

import CHinix
import Hinix
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

// MARK: - Signal and SIGEV_THREAD recorders

/// What the SA_SIGINFO handler saw last, and how often it ran.
private let caughtCount = Atomic<Int>(0)
private let caughtCode = Atomic<Int32>(0)
private let caughtValue = Atomic<Int32>(0)
private let caughtPID = Atomic<Int32>(0)
private let caughtUID = Atomic<UInt32>(0)

/// Installs a SA_SIGINFO handler for `signo` that records the siginfo, and
/// unblocks `signo` on the calling thread.
private func installNotifyRecorder(_ signo: CInt) throws {
  var action = sigaction()
  action.__sigaction_handler.sa_sigaction = { _, info, _ in
    guard let info else { return }
    caughtCode.store(info.pointee.si_code, ordering: .sequentiallyConsistent)
    caughtPID.store(info.pointee._sifields._rt.si_pid, ordering: .sequentiallyConsistent)
    caughtUID.store(info.pointee._sifields._rt.si_uid, ordering: .sequentiallyConsistent)
    caughtValue.store(info.pointee._sifields._rt.si_sigval.sival_int, ordering: .sequentiallyConsistent)
    caughtCount.add(1, ordering: .sequentiallyConsistent)
  }
  action.sa_flags = SA_SIGINFO
  sigemptyset(&action.sa_mask)
  guard sigaction(signo, &action, nil) == 0 else {
    throw HarnessError("sigaction(\(signo)): \(Errno(rawValue: systemErrno))")
  }
  var set = sigset_t()
  sigemptyset(&set)
  sigaddset(&set, signo)
  guard pthread_sigmask(SIG_UNBLOCK, &set, nil) == 0 else { throw HarnessError("pthread_sigmask failed") }
}

/// Waits up to `timeout` until the handler has run at least `count` times.
private func awaitCaught(_ count: Int, within timeout: Duration = .seconds(2)) -> Bool {
  let clock = ContinuousClock()
  let deadline = clock.now + timeout
  while caughtCount.load(ordering: .sequentiallyConsistent) < count {
    if clock.now >= deadline { return false }
    usleep(2_000)
  }
  return true
}

/// Sleeps `milliseconds`, resuming after signal handlers.
private func pauseMilliseconds(_ milliseconds: Int) {
  let clock = ContinuousClock()
  let deadline = clock.now + .milliseconds(milliseconds)
  while clock.now < deadline { usleep(5_000) }
}

/// Waits until process `pid` sleeps in the mqueue wait: /proc/PID/syscall
/// shows it asleep in mq_timedreceive (a task's syscall file names the call
/// only while it sleeps) or /proc/PID/wchan reads `wq_sleep`.
///
/// - Throws: ``HarnessError`` when that is not seen within 8 s (a machine too
///   busy to judge the check), rather than going on as if it had blocked.
private func awaitBlockedInQueue(_ pid: pid_t) throws {
  let clock = ContinuousClock()
  let deadline = clock.now + .seconds(8)
  while clock.now < deadline {
    if isBlocked("/proc/\(pid)/syscall", inSyscall: syscallMqTimedreceive)
      || readSmallFile("/proc/\(pid)/wchan") == "wq_sleep"
    {
      return
    }
    usleep(2_000)
  }
  throw HarnessError("process \(pid) was not seen blocked in mq_receive within 8 s: the machine is too busy to judge this check")
}

/// What the SIGEV_THREAD callback saw.
private let threadCalls = Atomic<Int>(0)
private let threadValue = Atomic<Int32>(0)
private let threadIdentity = Atomic<UInt>(0)
/// The queue the callback receives from (−1: it receives nothing).
private let threadQueue = Atomic<Int32>(-1)
/// The length and first byte of what the callback received (−1: nothing).
private let threadReceivedLength = Atomic<Int>(-1)
private let threadReceivedByte = Atomic<Int>(-1)

private let threadCallback: @convention(c) (sigval) -> Void = { value in
  threadValue.store(value.sival_int, ordering: .sequentiallyConsistent)
  threadIdentity.store(UInt(pthread_self()), ordering: .sequentiallyConsistent)
  let fd = threadQueue.load(ordering: .sequentiallyConsistent)
  if fd >= 0 {
    var buffer = [UInt8](repeating: 0, count: 64)
    let count = buffer.withUnsafeMutableBytes { CHinix_mq_receive(fd, $0.baseAddress, $0.count, nil) }
    threadReceivedLength.store(count, ordering: .sequentiallyConsistent)
    if count > 0 { threadReceivedByte.store(Int(buffer[0]), ordering: .sequentiallyConsistent) }
  }
  threadCalls.add(1, ordering: .sequentiallyConsistent)
}

/// mq_notify with SIGEV_THREAD, calling ``threadCallback`` with `value`.
private func registerThreadNotification(_ fd: CInt, value: Int32) -> CInt {
  var event = sigevent()
  event.sigev_notify = CHinix_SIGEV_THREAD
  event.sigev_value.sival_int = value
  event._sigev_un._sigev_thread._function = threadCallback
  event._sigev_un._sigev_thread._attribute = nil
  return CHinix_mq_notify(fd, &event)
}

private func awaitThreadCalls(_ count: Int, within timeout: Duration = .seconds(3)) -> Bool {
  let clock = ContinuousClock()
  let deadline = clock.now + timeout
  while threadCalls.load(ordering: .sequentiallyConsistent) < count {
    if clock.now >= deadline { return false }
    usleep(2_000)
  }
  return true
}

/// mq_notify with a raw sigev_notify and signal.
private func rawNotify(_ fd: CInt, notify: CInt, signo: CInt) -> CInt {
  var event = sigevent()
  event.sigev_notify = notify
  event.sigev_signo = signo
  return CHinix_mq_notify(fd, &event)
}

/// Runs `body` on a new thread and waits for it.
private func onOtherThread(_ body: @escaping @Sendable () -> Void) throws {
  final class Box { let body: @Sendable () -> Void; init(_ body: @escaping @Sendable () -> Void) { self.body = body } }
  let box = Unmanaged.passRetained(Box(body)).toOpaque()
  var thread = pthread_t()
  let result = pthread_create(&thread, nil, { raw in
    let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
    box.body()
    return nil
  }, box)
  guard result == 0 else { throw HarnessError("pthread_create: \(result)") }
  pthread_join(thread, nil)
}

/// The registered process's PID as the kernel reports it.
private func owner(_ queue: MsgQueue) throws -> Int { try queue.status().notifyPID }

// MARK: - Helper roles

/// Roles shared by the multi-process checks.
///
/// - `holder` [target, control]: opens `target`, registers (SIGEV_NONE) and
///   reports "registered" or the errno; then obeys commands from `control`:
///   "close" (closes target, reports "closed"), "register" (reports the
///   result), "cancel" (reports "cancelled"), "exit".
/// - `sender` [name, text]: sends text.
/// - `receiver` [name]: reports "receiving", blocks in a receive, reports "got TEXT".
/// - `inherited` [fd]: mq_notify SIGEV_NONE on the inherited descriptor,
///   reports the result, closes it, reports "closed".
private let notifyRoles: [String: @Sendable (RoleContext) throws -> Void] = [
  "holder": { role in
    var target: MsgQueue? = try MsgQueue.open(role.arguments[0])
    let control = try MsgQueue.open(role.arguments[1])
    func attempt() -> String {
      guard let target else { return "no queue" }
      do {
        try target.requestNotification(.withoutSignal)
        return "registered"
      } catch {
        return error.errno.symbolicName
      }
    }
    role.report(attempt())
    while true {
      let command = try control.receive(timeout: .seconds(30)).text
      switch command {
      case "close":
        try target?.close()
        target = nil
        role.report("closed")
      case "register":
        role.report(attempt())
      case "cancel":
        try target?.cancelNotification()
        role.report("cancelled")
      default:
        return
      }
    }
  },
  "sender": { role in
    let queue = try MsgQueue.open(role.arguments[0], access: .writeOnly)
    try queue.send(role.arguments[1])
  },
  "receiver": { role in
    let queue = try MsgQueue.open(role.arguments[0], access: .readOnly)
    role.report("receiving")
    // Blocked in mq_timedreceive itself (a `timeout:` receive would wait in poll(2),
    // which the kernel does not count as a receiver).
    let message = try queue.receive(deadline: .after(.seconds(8)))
    role.report("got \(message.text)")
  },
  "inherited": { role in
    guard let fd = CInt(role.arguments[0]) else { throw HarnessError("bad fd argument") }
    let result = CHinix_mq_notify_none(fd)
    role.report(result == 0 ? "registered" : Errno(rawValue: systemErrno).symbolicName)
    role.report(close(fd) == 0 ? "closed" : "close: \(Errno(rawValue: systemErrno).symbolicName)")
  },
]

/// Starts a `holder` for `queue` with a fresh control queue; returns both.
private func startHolder(_ context: CheckContext, _ queue: MsgQueue) throws -> (Child, MsgQueue) {
  let control = try context.makeQueue("ctl")
  let child = try context.spawn("holder", arguments: [queue.name.rawValue, control.name.rawValue])
  return (child, control)
}

/// Sends `command` to a holder and returns its reply (nil for "exit").
@discardableResult
private func command(_ child: Child, _ control: MsgQueue, _ text: String) throws -> String? {
  try control.send(text)
  if text == "exit" { return nil }
  guard let reply = child.readLine(timeout: .seconds(5)) else {
    throw HarnessError("the holder did not answer \(text.debugDescription)")
  }
  return reply
}

private func expectHolderRegistered(_ child: Child, _ queue: MsgQueue) throws {
  let line = child.readLine(timeout: .seconds(5))
  try expect(line == "registered", "the helper's registration: \(line ?? "no answer")")
  let pid = try owner(queue)
  try expect(pid == Int(child.pid), "NOTIFY_PID is \(pid) after the helper (\(child.pid)) registered")
}

let notificationChecks: [Check] = [
  Check(
    "MQ-NOTIFY-REGISTER", source: "mq_notify(3) DESCRIPTION, RETURN VALUE",
    clause: "mq_notify with a sigevent registers the calling process for the queue and returns 0"
  ) { context in
    let queue = try context.makeQueue()
    try expect(try owner(queue) == 0, "a new queue already has a registration")
    let result = queue.guardedRaw { CHinix_mq_notify_signal($0, SIGUSR1, 7) }
    try expect(result == 0, "mq_notify returned \(result) (\(Errno(rawValue: systemErrno).symbolicName))")
    let status = try queue.status()
    try expect(status.notifyPID == Int(getpid()) && status.notify == 0 && status.signal == Int(SIGUSR1),
               "status after registering: NOTIFY \(status.notify) SIGNO \(status.signal) NOTIFY_PID \(status.notifyPID), expected 0 / \(SIGUSR1) / \(getpid())")
  },

  Check(
    "MQ-NOTIFY-EMPTY-TRANSITION", source: "mq_notify(3) DESCRIPTION",
    clause: "A message from another process arriving on an empty queue notifies the registered process",
    needs: [.processes], roles: notifyRoles
  ) { context in
    try installNotifyRecorder(SIGUSR1)
    let queue = try context.makeQueue()
    try queue.requestNotification(.signal(SIGUSR1, value: 1))
    let sender = try context.spawn("sender", arguments: [queue.name.rawValue, "one"])
    try expect(sender.wait(timeout: .seconds(5)) == 0, "the sender failed")
    try expect(awaitCaught(1), "no signal within 2 s after a message arrived on the empty queue")
    try expect(caughtPID.load(ordering: .sequentiallyConsistent) == sender.pid,
               "si_pid is \(caughtPID.load(ordering: .sequentiallyConsistent)), expected the sender \(sender.pid)")
    // A second message onto the now non-empty queue, registered again: nothing.
    try queue.requestNotification(.signal(SIGUSR1, value: 2))
    let second = try context.spawn("sender", arguments: [queue.name.rawValue, "two"])
    try expect(second.wait(timeout: .seconds(5)) == 0, "the second sender failed")
    pauseMilliseconds(300)
    try expect(caughtCount.load(ordering: .sequentiallyConsistent) == 1, "a message onto a non-empty queue notified")
    try expect(try owner(queue) == Int(getpid()), "the registration was used up by a message onto a non-empty queue")
  },

  Check(
    "MQ-NOTIFY-NONEMPTY-AT-REG", source: "mq_notify(3) DESCRIPTION",
    clause: "Registering while messages are queued notifies nothing until the queue has emptied and a new message arrives"
  ) { context in
    try installNotifyRecorder(SIGUSR1)
    let queue = try context.makeQueue()
    try queue.send("old")
    try queue.requestNotification(.signal(SIGUSR1, value: 3))
    try queue.send("older")
    pauseMilliseconds(200)
    try expect(caughtCount.load(ordering: .sequentiallyConsistent) == 0, "notified while the queue was not empty")
    _ = try queue.receive()
    _ = try queue.receive()
    pauseMilliseconds(200)
    try expect(caughtCount.load(ordering: .sequentiallyConsistent) == 0, "notified when the queue emptied")
    try expect(try owner(queue) == Int(getpid()), "the registration was lost before any arrival on the empty queue")
    try queue.send("new")
    try expect(awaitCaught(1), "no signal when a message arrived on the emptied queue")
    try expect(caughtValue.load(ordering: .sequentiallyConsistent) == 3, "si_value is \(caughtValue.load(ordering: .sequentiallyConsistent)), expected 3")
  },

  Check(
    "MQ-NOTIFY-SIGNAL", source: "mq_notify(3) SIGEV_SIGNAL",
    clause: "The signal arrives with si_code SI_MESGQ, si_pid and si_uid of the sending process, and si_value from the sigevent",
    needs: [.processes, .signals], roles: notifyRoles
  ) { context in
    try installNotifyRecorder(SIGUSR1)
    let queue = try context.makeQueue()
    try queue.requestNotification(.signal(SIGUSR1, value: 424_242))
    let sender = try context.spawn("sender", arguments: [queue.name.rawValue, "hello"])
    try expect(awaitCaught(1, within: .seconds(5)), "no SIGUSR1 within 5 s of the other process's send")
    try expect(sender.wait(timeout: .seconds(5)) == 0, "the sender failed")
    let code = caughtCode.load(ordering: .sequentiallyConsistent)
    let pid = caughtPID.load(ordering: .sequentiallyConsistent)
    let uid = caughtUID.load(ordering: .sequentiallyConsistent)
    let value = caughtValue.load(ordering: .sequentiallyConsistent)
    try expect(code == -3, "si_code is \(code), expected SI_MESGQ (−3)")
    try expect(pid == sender.pid, "si_pid is \(pid), expected the sender's \(sender.pid) (this process is \(getpid()))")
    try expect(uid == getuid(), "si_uid is \(uid), expected \(getuid())")
    try expect(value == 424_242, "si_value is \(value), expected 424242")
    try expect(try queue.receive().text == "hello", "the message was not left in the queue")
  },

  Check(
    "MQ-NOTIFY-THREAD", source: "mq_notify(3) SIGEV_THREAD; sigevent(7)",
    clause: "With SIGEV_THREAD, sigev_notify_function runs on a new thread with sigev_value as its argument"
  ) { context in
    let queue = try context.makeQueue()
    let result = queue.guardedRaw { registerThreadNotification($0, value: 9_191) }
    try expect(result == 0, "mq_notify(SIGEV_THREAD) failed: \(Errno(rawValue: systemErrno).symbolicName)")
    let status = try queue.status()
    try expect(status.notify == 2 && status.notifyPID == Int(getpid()), "status NOTIFY \(status.notify) NOTIFY_PID \(status.notifyPID), expected 2 / \(getpid())")
    try queue.send("t")
    try expect(awaitThreadCalls(1), "the callback did not run within 3 s")
    let value = threadValue.load(ordering: .sequentiallyConsistent)
    try expect(value == 9_191, "the callback got sival_int \(value), expected 9191")
    try expect(threadIdentity.load(ordering: .sequentiallyConsistent) != UInt(pthread_self()), "the callback ran on the calling thread")
    pauseMilliseconds(200)
    try expect(threadCalls.load(ordering: .sequentiallyConsistent) == 1, "the callback ran \(threadCalls.load(ordering: .sequentiallyConsistent)) times")
  },

  Check(
    "MQ-NOTIFY-NONE", source: "mq_notify(3) SIGEV_NONE",
    clause: "SIGEV_NONE registers (NOTIFY 1) without delivering anything, and a message's arrival still uses the registration up"
  ) { context in
    let queue = try context.makeQueue()
    try queue.requestNotification(.withoutSignal)
    let status = try queue.status()
    try expect(status.notify == 1 && status.notifyPID == Int(getpid()), "status NOTIFY \(status.notify) NOTIFY_PID \(status.notifyPID), expected 1 / \(getpid())")
    try queue.send("x")
    try expect(try owner(queue) == 0, "the registration outlived the arrival")
    try queue.requestNotification(.withoutSignal)
  },

  Check(
    "MQ-NOTIFY-SINGLE", "MQ-NOTIFY-EBUSY", source: "mq_notify(3) DESCRIPTION, ERRORS",
    clause: "Only one process can be registered per queue: another's attempt, and on Linux the owner's own second attempt, fail with EBUSY",
    needs: [.processes], roles: notifyRoles
  ) { context in
    let queue = try context.makeQueue()
    let (child, control) = try startHolder(context, queue)
    try expectHolderRegistered(child, queue)
    try expectErrno(.resourceBusy, "registering while another process is registered") { try queue.requestNotification(.withoutSignal) }
    try expect(try owner(queue) == Int(child.pid), "the failed attempt changed the registration")
    let reply = try command(child, control, "register")
    try expect(reply == "EBUSY", "the registered process's own second mq_notify gave \(reply ?? "nothing"), expected EBUSY")
    try command(child, control, "exit")
    let mine = try context.makeQueue()
    try mine.requestNotification(.signal(SIGUSR1))
    try expectErrno(.resourceBusy, "the caller's own second registration") { try mine.requestNotification(.withoutSignal) }
  },

  Check(
    "MQ-NOTIFY-NULL-UNREG", source: "mq_notify(3) DESCRIPTION",
    clause: "A NULL sigevent removes the caller's registration, after which another process can register",
    needs: [.processes], roles: notifyRoles
  ) { context in
    let queue = try context.makeQueue()
    try queue.requestNotification(.withoutSignal)
    try queue.cancelNotification()
    try expect(try owner(queue) == 0, "NOTIFY_PID is still set after a NULL mq_notify")
    let (child, control) = try startHolder(context, queue)
    try expectHolderRegistered(child, queue)
    try command(child, control, "exit")
  },

  Check(
    "MQ-NOTIFY-NULL-NOT-OWNER", source: "mq_notify(3) ERRORS note",
    clause: "A NULL sigevent from a process that is not registered returns 0 and leaves the other process's registration in place",
    needs: [.processes], roles: notifyRoles
  ) { context in
    let queue = try context.makeQueue()
    let (child, control) = try startHolder(context, queue)
    try expectHolderRegistered(child, queue)
    let result = queue.guardedRaw { CHinix_mq_notify_cancel($0) }
    try expect(result == 0, "mq_notify(NULL) by a non-owner returned \(result) (\(Errno(rawValue: systemErrno).symbolicName))")
    try expect(try owner(queue) == Int(child.pid), "the other process's registration was removed")
    try command(child, control, "exit")
  },

  Check(
    "MQ-NOTIFY-RECEIVER-WINS", source: "mq_notify(3) DESCRIPTION",
    clause: "While another process is blocked in mq_receive, a new message goes to it: no notification, and the registration stays for the next message",
    needs: [.processes], roles: notifyRoles
  ) { context in
    try installNotifyRecorder(SIGUSR1)
    let queue = try context.makeQueue()
    try queue.requestNotification(.signal(SIGUSR1, value: 5))
    let receiver = try context.spawn("receiver", arguments: [queue.name.rawValue])
    try expect(receiver.readLine(timeout: .seconds(5)) == "receiving", "the receiver did not start")
    try awaitBlockedInQueue(receiver.pid)
    try queue.send("m1")
    let got = receiver.readLine(timeout: .seconds(5))
    try expect(got == "got m1", "the blocked receiver reported \(got ?? "nothing")")
    pauseMilliseconds(300)
    try expect(caughtCount.load(ordering: .sequentiallyConsistent) == 0, "a notification was sent although a receiver took the message")
    try expect(try owner(queue) == Int(getpid()), "the registration did not survive")
    try expectErrno(.resourceBusy, "re-registering while still registered") { try queue.requestNotification(.signal(SIGUSR1)) }
    try queue.send("m2")
    try expect(awaitCaught(1), "the next message did not notify")
    try expect(caughtValue.load(ordering: .sequentiallyConsistent) == 5, "si_value is \(caughtValue.load(ordering: .sequentiallyConsistent)), expected 5")
  },

  Check(
    "MQ-NOTIFY-ONESHOT", source: "mq_notify(3) DESCRIPTION",
    clause: "After one notification the registration is gone (no second signal) and the process may register again"
  ) { context in
    try installNotifyRecorder(SIGUSR1)
    let queue = try context.makeQueue()
    try queue.requestNotification(.signal(SIGUSR1, value: 11))
    try queue.send("a")
    try expect(awaitCaught(1), "no first notification")
    try expect(try owner(queue) == 0, "NOTIFY_PID is still set after the notification")
    _ = try queue.receive()
    try queue.send("b")
    pauseMilliseconds(300)
    try expect(caughtCount.load(ordering: .sequentiallyConsistent) == 1, "a second notification came without re-registering")
    _ = try queue.receive()
    try queue.requestNotification(.signal(SIGUSR1, value: 12))
    try queue.send("c")
    try expect(awaitCaught(2), "registering again did not notify")
    try expect(caughtValue.load(ordering: .sequentiallyConsistent) == 12, "si_value is \(caughtValue.load(ordering: .sequentiallyConsistent)), expected 12")
  },

  Check(
    "MQ-NOTIFY-EBADF", source: "mq_notify(3) ERRORS",
    clause: "A descriptor that is not open, or not a message queue, fails with EBADF"
  ) { _ in
    try expectCErrno(EBADF, "mq_notify on descriptor -1", Int(CHinix_mq_notify_none(-1)))
    let null = open("/dev/null", O_RDONLY | O_CLOEXEC)
    defer { close(null) }
    try expectCErrno(EBADF, "mq_notify on /dev/null", Int(CHinix_mq_notify_none(null)))
    try expectCErrno(EBADF, "mq_notify(NULL) on /dev/null", Int(CHinix_mq_notify_cancel(null)))
  },

  Check(
    "MQ-NOTIFY-EINVAL-NOTIFY", source: "mq_notify(3) ERRORS",
    clause: "A sigev_notify other than SIGEV_NONE, SIGEV_SIGNAL or SIGEV_THREAD fails with EINVAL, even with a bad descriptor"
  ) { context in
    let queue = try context.makeQueue()
    for notify: CInt in [3, 4, 99, -1] {
      try expectCErrno(EINVAL, "sigev_notify \(notify)", Int(queue.guardedRaw { rawNotify($0, notify: notify, signo: SIGUSR1) }))
    }
    try expectCErrno(EINVAL, "sigev_notify 99 on descriptor -1", Int(rawNotify(-1, notify: 99, signo: SIGUSR1)))
    try expect(try owner(queue) == 0, "a failed call registered")
  },

  Check(
    "MQ-NOTIFY-EINVAL-SIGNO", source: "mq_notify(3) ERRORS",
    clause: "SIGEV_SIGNAL with a signal number over 64 fails with EINVAL (before the descriptor is checked); signal 0 is accepted",
    kernelDiffers: true
  ) { context in
    let queue = try context.makeQueue()
    for signo: CInt in [65, 1000, -1] {
      try expectCErrno(EINVAL, "SIGEV_SIGNAL with signo \(signo)", Int(queue.guardedRaw { CHinix_mq_notify_signal($0, signo, 0) }))
    }
    try expectCErrno(EINVAL, "signo 65 on descriptor -1", Int(CHinix_mq_notify_signal(-1, 65, 0)))
    try expect(try owner(queue) == 0, "a failed call registered")
    let zero = queue.guardedRaw { CHinix_mq_notify_signal($0, 0, 0) }
    try expect(zero == 0, "signo 0 was refused: \(Errno(rawValue: systemErrno).symbolicName)")
    try expect(try owner(queue) == Int(getpid()), "signo 0 did not register")
    try queue.cancelNotification()
    let top = queue.guardedRaw { CHinix_mq_notify_signal($0, 64, 0) }
    try expect(top == 0, "signo 64 was refused: \(Errno(rawValue: systemErrno).symbolicName)")
  },

  Check(
    "MQ-NOTIFY-ENOMEM", source: "mq_notify(3) ERRORS",
    clause: "Insufficient memory gives ENOMEM"
  ) { _ in
    throw CheckSkipped("not practically testable (UNT): the kernel's small allocation in mq_notify cannot be made to fail without fault injection")
  },

  Check(
    "MQ-NOTIFY-CLOSE", source: "mq_close(3) DESCRIPTION",
    clause: "Closing the descriptor used to register removes the registration, after which another process can register",
    needs: [.processes], roles: notifyRoles
  ) { context in
    let queue = try context.makeQueue()
    let second = try MsgQueue.open(queue.name.rawValue)
    try second.requestNotification(.withoutSignal)
    try expect(try owner(queue) == Int(getpid()), "the registration is not shown")
    try second.close()
    try expect(try owner(queue) == 0, "NOTIFY_PID is still set after closing the registering descriptor")
    let (child, control) = try startHolder(context, queue)
    try expectHolderRegistered(child, queue)
    // The helper closing its descriptor removes its registration too.
    try expect(try command(child, control, "close") == "closed", "the helper did not close")
    try expect(try owner(queue) == 0, "the helper's registration outlived its close")
    try command(child, control, "exit")
  },

  Check(
    "MQ-NOTIFY-CLOSE-ANY", source: "kernel (mqueue_flush_file)",
    clause: "Closing any descriptor of the queue in the registered process, even one opened later and never used to register, removes the registration",
    kernelDiffers: true
  ) { context in
    let queue = try context.makeQueue()
    let other = try context.makeQueue("other")
    try queue.requestNotification(.withoutSignal)
    let extraOther = try MsgQueue.open(other.name.rawValue)
    try extraOther.close()
    try expect(try owner(queue) == Int(getpid()), "closing a descriptor of a different queue removed the registration")
    let later = try MsgQueue.open(queue.name.rawValue)
    try expect(try owner(queue) == Int(getpid()), "opening another descriptor removed the registration")
    try later.close()
    try expect(try owner(queue) == 0, "closing a later, unused descriptor left NOTIFY_PID \((try? owner(queue)) ?? -1)")
    try queue.requestNotification(.withoutSignal)
  },

  Check(
    "MQ-NOTIFY-EXIT", source: "mq_close(3) NOTES",
    clause: "When the registered process exits, its registration is removed and another process can register",
    needs: [.processes], roles: notifyRoles
  ) { context in
    let queue = try context.makeQueue()
    let (child, control) = try startHolder(context, queue)
    try expectHolderRegistered(child, queue)
    try command(child, control, "exit")
    try expect(child.wait(timeout: .seconds(5)) == 0, "the helper did not exit cleanly")
    try expect(try owner(queue) == 0, "NOTIFY_PID is still \((try? owner(queue)) ?? -1) after the process exited")
    try queue.requestNotification(.withoutSignal)
    try expect(try owner(queue) == Int(getpid()), "registering after the exit did not take")
  },

  Check(
    "MQ-NOTIFY-CHILD-KEEPS", source: "kernel",
    clause: "A child sharing the registered descriptor gets EBUSY from its own mq_notify, and its close and exit leave the parent's registration",
    needs: [.processes], roles: notifyRoles
  ) { context in
    // No fork() in Swift: the child inherits the very descriptor (same open
    // file description, as after fork) across posix_spawn by clearing FD_CLOEXEC.
    let queue = try context.makeQueue()
    try queue.requestNotification(.withoutSignal)
    let fd = queue.descriptor.rawValue
    try expect(fcntl(fd, F_SETFD, 0) == 0, "fcntl(F_SETFD) failed")
    let child = try context.spawn("inherited", arguments: ["\(fd)"])
    _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
    let first = child.readLine(timeout: .seconds(5))
    try expect(first == "EBUSY", "the child's mq_notify on the inherited descriptor gave \(first ?? "nothing"), expected EBUSY")
    let second = child.readLine(timeout: .seconds(5))
    try expect(second == "closed", "the child's close: \(second ?? "nothing")")
    try expect(try owner(queue) == Int(getpid()), "the child's close removed the parent's registration")
    try expect(child.wait(timeout: .seconds(5)) == 0, "the child failed")
    try expect(try owner(queue) == Int(getpid()), "the child's exit removed the parent's registration")
  },

  Check(
    "MQ-NOTIFY-PROCESS-WIDE", source: "kernel; glibc tst-mqueue5",
    clause: "The registration belongs to the process: another thread's attempt through another descriptor gets EBUSY, and its NULL unregisters"
  ) { context in
    let queue = try context.makeQueue()
    let other = try MsgQueue.open(queue.name.rawValue)
    try queue.requestNotification(.withoutSignal)
    let results = Mutex<[CInt]>([])
    try onOtherThread {
      let busy = other.guardedRaw { CHinix_mq_notify_none($0) } == 0 ? 0 : systemErrno
      let cancel = other.guardedRaw { CHinix_mq_notify_cancel($0) } == 0 ? 0 : systemErrno
      results.withLock { $0 = [busy, cancel] }
    }
    let got = results.withLock { $0 }
    try expect(got.count == 2 && got[0] == EBUSY, "another thread's registration through another descriptor gave \(got.first.map { Errno(rawValue: $0).symbolicName } ?? "nothing"), expected EBUSY")
    try expect(got[1] == 0, "another thread's NULL failed with \(Errno(rawValue: got[1]).symbolicName)")
    try expect(try owner(queue) == 0, "NOTIFY_PID is still set after another thread's NULL")
    try queue.requestNotification(.withoutSignal)
  },

  Check(
    "MQ-NOTIFY-THREAD-REREG", source: "glibc BZ 28213 / CVE-2021-38604",
    clause: "SIGEV_THREAD registered, cancelled with NULL and registered again: a message runs the callback, which receives it"
  ) { context in
    let queue = try context.makeQueue()
    let fd = queue.descriptor.rawValue
    threadQueue.store(fd, ordering: .sequentiallyConsistent)
    try expect(registerThreadNotification(fd, value: 1) == 0, "the first SIGEV_THREAD registration failed: \(Errno(rawValue: systemErrno).symbolicName)")
    try expect(CHinix_mq_notify_cancel(fd) == 0, "mq_notify(NULL) failed")
    try expect(try owner(queue) == 0, "NULL did not unregister")
    try expect(registerThreadNotification(fd, value: 2) == 0, "the second SIGEV_THREAD registration failed: \(Errno(rawValue: systemErrno).symbolicName)")
    try queue.send([0x5A, 1, 2])
    try expect(awaitThreadCalls(1), "the callback did not run within 3 s")
    try expect(threadValue.load(ordering: .sequentiallyConsistent) == 2, "the callback got sival_int \(threadValue.load(ordering: .sequentiallyConsistent)), expected 2")
    let length = threadReceivedLength.load(ordering: .sequentiallyConsistent)
    let byte = threadReceivedByte.load(ordering: .sequentiallyConsistent)
    try expect(length == 3 && byte == 0x5A, "the callback's receive returned \(length) (first byte \(byte))")
    try expect(try queue.attributes().currentMessages == 0, "the message is still queued")
    withExtendedLifetime(queue) {}
  },
]
