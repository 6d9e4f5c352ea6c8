// Checks of sending, receiving and attributes: mq_send(3), mq_receive(3),
// mq_getattr(3), mq_setattr(3). Each cites its clause in its own words.

import CHinix
import Hinix
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

// MARK: - Helpers (this file only)

/// A CLOCK_REALTIME deadline `milliseconds` from now.
fileprivate func trDeadline(_ milliseconds: Int, clock: clockid_t = CLOCK_REALTIME) -> timespec {
  var now = timespec()
  clock_gettime(clock, &now)
  var nanoseconds = now.tv_nsec + (milliseconds % 1000) * 1_000_000
  var seconds = now.tv_sec + milliseconds / 1000
  if nanoseconds >= 1_000_000_000 { nanoseconds -= 1_000_000_000; seconds += 1 }
  return timespec(tv_sec: seconds, tv_nsec: nanoseconds)
}

fileprivate func trElapsed(since start: ContinuousClock.Instant) -> Duration {
  start.duration(to: ContinuousClock().now)
}

/// A value set once by one thread and read by another after joining it.
fileprivate final class TrFlag: @unchecked Sendable {
  private let lock = Mutex<String?>(nil)
  func set(_ value: String?) { lock.withLock { $0 = value } }
  var value: String? { lock.withLock { $0 } }
}

/// Waits until `pid`'s main thread is blocked in system call `number`
/// (mq_timedsend or mq_timedreceive), as /proc/PID/syscall shows.
fileprivate func trWaitBlocked(_ pid: pid_t, inSyscall number: Int) throws {
  let clock = ContinuousClock()
  let deadline = clock.now + .seconds(5)
  while clock.now < deadline {
    let fd = open("/proc/\(pid)/syscall", O_RDONLY | O_CLOEXEC)
    if fd >= 0 {
      var buffer = [UInt8](repeating: 0, count: 256)
      let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
      close(fd)
      if count > 0, String(decoding: buffer[..<count], as: UTF8.self).hasPrefix("\(number) ") { return }
    }
    usleep(5_000)
  }
  throw HarnessError("process \(pid) did not block in system call \(number) within 5 s")
}

#if arch(x86_64)
  private let trBlockedSend = 242
  private let trBlockedReceive = 243
#else
  // The generic system call table (aarch64, riscv64).
  private let trBlockedSend = 182
  private let trBlockedReceive = 183
#endif

let transferChecks: [Check] = [
  // MARK: mq_send

  Check(
    "MQ-SEND-BLOCK-FULL", source: "mq_send(3) DESCRIPTION",
    clause: "On a full blocking queue, mq_send waits until another process's receive frees a slot, then succeeds",
    needs: [.processes],
    roles: [
      "late-receiver": { role in
        let fd = rawOpen(role.arguments[0], O_RDWR)
        guard fd >= 0 else { throw HarnessError("open: \(Errno(rawValue: systemErrno))") }
        usleep(200_000)
        role.report(try rawReceive(fd).text)
      }
    ]
  ) { context in
    let (name, fd) = try rawQueue(context, 1)
    try rawSend(fd, "first")
    let start = ContinuousClock().now
    let child = try context.spawn("late-receiver", arguments: [name])
    try rawSend(fd, "second")
    let elapsed = trElapsed(since: start)
    try expect(elapsed >= .milliseconds(150), "the send to a full queue returned after \(elapsed), without waiting")
    try expect(child.readLine() == "first", "the helper did not receive the first message")
    try expect(try rawReceive(fd).text == "second", "the blocked message was not queued")
  },

  Check(
    "MQ-SEND-EINTR", source: "mq_send(3) ERRORS",
    clause: "A send blocked on a full queue fails with EINTR when a handler installed without SA_RESTART runs",
    needs: [.signals]
  ) { context in
    let fd = try rawUnlinkedQueue(context, 1)
    try rawSend(fd, "full")
    // The signal is sent once the send is seen blocked, so it cannot come early.
    let interrupter = try BlockedCallInterrupter(restart: false, syscall: syscallMqTimedsend)
    var byte: UInt8 = 1
    let result = Int(CHinix_mq_send(fd, &byte, 1, 0))
    let error = systemErrno
    let signalled = interrupter.callReturned()
    try expect(signalled, "mq_send on a full queue returned (\(result), \(Errno(rawValue: error).symbolicName)) without blocking until the signal")
    errno = error
    try expectCErrno(EINTR, "a blocked mq_send hit by a signal", result)
    try expect(BlockedCallInterrupter.handlerRuns == 1, "the handler ran \(BlockedCallInterrupter.handlerRuns) times")
    try expect(try rawAttributes(fd).mq_curmsgs == 1, "the interrupted send queued its message")
  },

  Check(
    "MQ-SEND-SA_RESTART", source: "signal(7) Interruption of system calls",
    clause: "With SA_RESTART, a send blocked on a full queue resumes after the handler and succeeds once a slot frees",
    needs: [.signals]
  ) { context in
    let fd = try rawUnlinkedQueue(context, 1)
    try rawSend(fd, "full")
    // Ordering, not time: the signal comes once the send is seen blocked; the
    // slot is freed only after the handler ran and the send is blocked again.
    let freed = TrFlag()
    let interrupter = try BlockedCallInterrupter(restart: true, syscall: syscallMqTimedsend) { watcher in
      guard watcher.waitBlockedAgain() else { return }
      freed.set(try? rawReceiveText(fd))
    }
    let result = Int(CHinix_mq_send(fd, "after", 5, 0))
    let error = systemErrno
    let signalled = interrupter.callReturned()
    try expect(signalled, "mq_send on a full queue returned (\(result)) without blocking")
    try expect(result == 0, "the restarted send failed with \(Errno(rawValue: error).symbolicName)")
    try expect(BlockedCallInterrupter.handlerRuns == 1, "the handler ran \(BlockedCallInterrupter.handlerRuns) times")
    try expect(freed.value == "full", "the send returned before a slot was freed (freed: \(freed.value ?? "nothing"))")
    try expect(try rawReceive(fd).text == "after", "the restarted send's message is missing")
  },

  Check(
    "MQ-SEND-WAITER-ORDER", source: "POSIX mq_send (open_posix_testsuite assertion 6); kernel wq_add",
    clause: "Senders blocked on a full queue are released highest scheduling priority first, then in the order they blocked (A and B at nice 10 block first, C at nice 0 last: C is released first, then A, then B)",
    needs: [.processes], deadline: .seconds(20),
    roles: [
      "sender": { role in
        let fd = rawOpen(role.arguments[0], O_WRONLY)
        guard fd >= 0 else { throw HarnessError("open: \(Errno(rawValue: systemErrno))") }
        let nice = CInt(role.arguments[2])!
        if nice != 0 { errno = 0; guard Glibc.nice(nice) == nice || errno == 0 else { throw HarnessError("nice: \(Errno(rawValue: systemErrno))") } }
        role.report("ready")
        try rawSend(fd, role.arguments[1])
      }
    ]
  ) { context in
    let (name, fd) = try rawQueue(context, 1)
    try rawSend(fd, "filler")
    var children: [Child] = []
    for (tag, nice) in [("A", "10"), ("B", "10"), ("C", "0")] {
      let child = try context.spawn("sender", arguments: [name, tag, nice])
      try expect(child.readLine() == "ready", "sender \(tag) did not start")
      try trWaitBlocked(child.pid, inSyscall: trBlockedSend)
      children.append(child)
    }
    var order: [String] = []
    for _ in 0..<4 {
      order.append(try rawReceive(fd).text)
      usleep(20_000)
    }
    for child in children { try expect(child.wait() == 0, "a sender failed") }
    try expect(order == ["filler", "C", "A", "B"], "received in the order \(order), expected filler, C, A, B")
  },

  Check(
    "MQ-SEND-EFAULT", source: "kernel (mq_timedsend copy_from_user)",
    clause: "A message pointer or timeout pointer that is not mapped gives EFAULT"
  ) { context in
    let fd = try rawUnlinkedQueue(context)
    let bad = UnsafeRawPointer(bitPattern: 16)
    try expectCErrno(EFAULT, "mq_send from an unmapped buffer", Int(CHinix_mq_send(fd, bad, 8, 0)))
    var byte: UInt8 = 0
    let badTime = UnsafePointer<timespec>(bitPattern: 16)
    try expectCErrno(EFAULT, "mq_timedsend with an unmapped timeout", Int(CHinix_mq_timedsend(fd, &byte, 1, 0, badTime)))
    try expect(try rawAttributes(fd).mq_curmsgs == 0, "a faulting send queued a message")
  },

  // MARK: mq_timedsend

  Check(
    "MQ-TSEND-REALTIME", source: "mq_timedsend(3) DESCRIPTION",
    clause: "abs_timeout is an absolute CLOCK_REALTIME time: CLOCK_MONOTONIC now + 5 s is long past, so a full queue times out at once"
  ) { context in
    let fd = try rawUnlinkedQueue(context, 1)
    try rawSend(fd, "full")
    var monotonic = trDeadline(5000, clock: CLOCK_MONOTONIC)
    var byte: UInt8 = 0
    let start = ContinuousClock().now
    try expectCErrno(ETIMEDOUT, "mq_timedsend with a CLOCK_MONOTONIC-based deadline", Int(CHinix_mq_timedsend(fd, &byte, 1, 0, &monotonic)))
    let elapsed = trElapsed(since: start)
    try expect(elapsed < .seconds(2), "took \(elapsed): the deadline was not taken as CLOCK_REALTIME")
  },

  Check(
    "MQ-TSEND-NONBLOCK", source: "mq_timedsend(3) DESCRIPTION",
    clause: "With O_NONBLOCK, a full queue gives EAGAIN at once whatever the timeout"
  ) { context in
    let fd = try rawUnlinkedQueue(context, 1, flags: O_RDWR | O_NONBLOCK)
    try rawSend(fd, "full")
    var later = trDeadline(5000)
    var byte: UInt8 = 0
    let start = ContinuousClock().now
    try expectCErrno(EAGAIN, "mq_timedsend on a full non-blocking queue", Int(CHinix_mq_timedsend(fd, &byte, 1, 0, &later)))
    try expect(trElapsed(since: start) < .seconds(2), "the non-blocking timedsend waited")
  },

  Check(
    "MQ-TSEND-EINTR", source: "mq_timedsend(3) ERRORS; signal(7)",
    clause: "A blocked mq_timedsend fails with EINTR when a handler without SA_RESTART runs; with SA_RESTART it restarts and still times out at its original absolute deadline",
    needs: [.signals], deadline: .seconds(30)
  ) { context in
    let fd = try rawUnlinkedQueue(context, 1)
    try rawSend(fd, "full")
    var byte: UInt8 = 0
    do {
      // The signal is sent once the call is seen blocked; the deadline is far
      // enough that only a machine stalled for 10 s could see it pass first.
      let interrupter = try BlockedCallInterrupter(restart: false, syscall: syscallMqTimedsend)
      var deadline = trDeadline(10_000)
      let result = Int(CHinix_mq_timedsend(fd, &byte, 1, 0, &deadline))
      let error = systemErrno
      let signalled = interrupter.callReturned()
      if !signalled && error == ETIMEDOUT {
        throw HarnessError("the machine was too busy: the blocked mq_timedsend was not seen blocked within its 10 s deadline")
      }
      try expect(signalled, "mq_timedsend on a full queue returned (\(result), \(Errno(rawValue: error).symbolicName)) without blocking until the signal")
      errno = error
      try expectCErrno(EINTR, "an interrupted mq_timedsend", result)
    }
    do {
      let interrupter = try BlockedCallInterrupter(restart: true, syscall: syscallMqTimedsend)
      defer { interrupter.callReturned() }
      let start = ContinuousClock().now  // before the deadline: see MQ-TRECV-ETIMEDOUT
      var deadline = trDeadline(600)
      try expectCErrno(ETIMEDOUT, "an mq_timedsend restarted by SA_RESTART", Int(CHinix_mq_timedsend(fd, &byte, 1, 0, &deadline)))
      let elapsed = trElapsed(since: start)
      try expect(elapsed >= .milliseconds(595), "the restarted timedsend ended after \(elapsed), before its deadline")
      try expect(elapsed < .seconds(3), "the restarted timedsend ended after \(elapsed), long after its deadline")
    }
    try expect(BlockedCallInterrupter.handlerRuns == 2, "the handler ran \(BlockedCallInterrupter.handlerRuns) times, expected 2")
  },

  // MARK: mq_receive

  Check(
    "MQ-RECV-PRIO-OUT", source: "mq_receive(3) DESCRIPTION",
    clause: "A non-NULL msg_prio receives the message's priority; NULL is allowed"
  ) { context in
    let fd = try rawUnlinkedQueue(context)
    try rawSend(fd, "a", 17)
    try rawSend(fd, "b", 3)
    let first = try rawReceive(fd)
    try expect(first.text == "a" && first.priority == 17, "received \(first)")
    var buffer = [UInt8](repeating: 0, count: 64)
    let count = buffer.withUnsafeMutableBytes { CHinix_mq_receive(fd, $0.baseAddress, $0.count, nil) }
    try expect(count == 1 && buffer[0] == UInt8(ascii: "b"), "receive with msg_prio NULL returned \(count) (\(Errno(rawValue: systemErrno)))")
  },

  Check(
    "MQ-RECV-EMSGSIZE", "MQ-RECV-FAIL-NOT-REMOVED", source: "mq_receive(3) ERRORS; POSIX RETURN VALUE",
    clause: "msg_len below mq_msgsize gives EMSGSIZE, even for a shorter waiting message and even on an empty non-blocking queue (before EAGAIN); the failed receive removes nothing"
  ) { context in
    let (name, fd) = try rawQueue(context, 4, 64)
    var buffer = [UInt8](repeating: 0, count: 63)
    let empty = rawOpen(name, O_RDONLY | O_NONBLOCK)
    defer { CHinix_mq_close(empty) }
    try expectCErrno(EMSGSIZE, "a 63-byte receive on an empty non-blocking queue", buffer.withUnsafeMutableBytes { CHinix_mq_receive(empty, $0.baseAddress, $0.count, nil) })
    try rawSend(fd, "tiny", 2)
    try expectCErrno(EMSGSIZE, "a 63-byte receive with a 4-byte message waiting", buffer.withUnsafeMutableBytes { CHinix_mq_receive(fd, $0.baseAddress, $0.count, nil) })
    try expect(try rawAttributes(fd).mq_curmsgs == 1, "the failed receive removed the message")
    let message = try rawReceive(fd)
    try expect(message.text == "tiny" && message.priority == 2, "the message came back as \(message)")
  },

  Check(
    "MQ-RECV-EAGAIN", source: "mq_receive(3) ERRORS",
    clause: "An empty queue with O_NONBLOCK gives EAGAIN at once"
  ) { context in
    let fd = try rawUnlinkedQueue(context, flags: O_RDWR | O_NONBLOCK)
    var buffer = [UInt8](repeating: 0, count: 64)
    let start = ContinuousClock().now
    try expectCErrno(EAGAIN, "a receive from an empty non-blocking queue", buffer.withUnsafeMutableBytes { CHinix_mq_receive(fd, $0.baseAddress, $0.count, nil) })
    try expect(trElapsed(since: start) < .seconds(1), "the non-blocking receive waited")
  },

  Check(
    "MQ-RECV-EBADF", source: "mq_receive(3) ERRORS",
    clause: "A bad descriptor, a descriptor that is not a queue, or a queue not open for reading gives EBADF"
  ) { context in
    var buffer = [UInt8](repeating: 0, count: 64)
    func receive(_ fd: CInt) -> Int { buffer.withUnsafeMutableBytes { CHinix_mq_receive(fd, $0.baseAddress, $0.count, nil) } }
    try expectCErrno(EBADF, "mq_receive on descriptor -1", receive(-1))
    let null = open("/dev/null", O_RDONLY | O_CLOEXEC)
    defer { close(null) }
    try expectCErrno(EBADF, "mq_receive on /dev/null", receive(null))
    let (name, fd) = try rawQueue(context)
    try rawSend(fd, "x")
    let writer = rawOpen(name, O_WRONLY)
    defer { CHinix_mq_close(writer) }
    try expectCErrno(EBADF, "mq_receive on an O_WRONLY descriptor", receive(writer))
    try expect(try rawAttributes(fd).mq_curmsgs == 1, "the failed receive removed the message")
  },

  Check(
    "MQ-RECV-EINTR", source: "mq_receive(3) ERRORS",
    clause: "A receive blocked on an empty queue fails with EINTR when a handler without SA_RESTART runs",
    needs: [.signals]
  ) { context in
    let fd = try rawUnlinkedQueue(context)
    let interrupter = try BlockedCallInterrupter(restart: false, syscall: syscallMqTimedreceive)
    var buffer = [UInt8](repeating: 0, count: 64)
    let result = buffer.withUnsafeMutableBytes { CHinix_mq_receive(fd, $0.baseAddress, $0.count, nil) }
    let error = systemErrno
    let signalled = interrupter.callReturned()
    try expect(signalled, "mq_receive on an empty queue returned (\(result), \(Errno(rawValue: error).symbolicName)) without blocking until the signal")
    errno = error
    try expectCErrno(EINTR, "a blocked mq_receive hit by a signal", result)
    try expect(BlockedCallInterrupter.handlerRuns == 1, "the handler ran \(BlockedCallInterrupter.handlerRuns) times")
  },

  Check(
    "MQ-RECV-SA_RESTART", source: "signal(7) Interruption of system calls",
    clause: "With SA_RESTART, a receive blocked on an empty queue resumes after the handler and returns the message sent later",
    needs: [.signals]
  ) { context in
    let fd = try rawUnlinkedQueue(context)
    // Ordering, not time: the signal comes once the receive is seen blocked;
    // the message is sent only after the handler ran and the receive is blocked again.
    let sent = TrFlag()
    let interrupter = try BlockedCallInterrupter(restart: true, syscall: syscallMqTimedreceive) { watcher in
      guard watcher.waitBlockedAgain() else { return }
      sent.set((try? rawSend(fd, "late", 9)) != nil ? "sent" : "send failed")
    }
    var buffer = [UInt8](repeating: 0, count: 64)
    var priority: UInt32 = 0
    let count = buffer.withUnsafeMutableBytes { CHinix_mq_receive(fd, $0.baseAddress, $0.count, &priority) }
    let error = systemErrno
    let signalled = interrupter.callReturned()
    try expect(signalled, "mq_receive on an empty queue returned (\(count)) without blocking")
    try expect(count >= 0, "the restarted receive failed with \(Errno(rawValue: error).symbolicName)")
    try expect(BlockedCallInterrupter.handlerRuns == 1, "the handler ran \(BlockedCallInterrupter.handlerRuns) times")
    try expect(sent.value == "sent", "the receive returned before the message was sent")
    let text = String(decoding: buffer[..<count], as: UTF8.self)
    try expect(text == "late" && priority == 9, "received \(text.debugDescription) at priority \(priority)")
  },

  Check(
    "MQ-RECV-WAITERS-FIFO", source: "POSIX mq_receive (open_posix_testsuite assertion 6); kernel wq_add",
    clause: "Receivers of equal scheduling priority blocked on an empty queue get messages in the order they started waiting",
    needs: [.processes], deadline: .seconds(20),
    roles: [
      "receiver": { role in
        let fd = rawOpen(role.arguments[0], O_RDONLY)
        guard fd >= 0 else { throw HarnessError("open: \(Errno(rawValue: systemErrno))") }
        role.report("ready")
        role.report(role.arguments[1] + (try rawReceive(fd).text))
      }
    ]
  ) { context in
    let (name, fd) = try rawQueue(context)
    var children: [Child] = []
    for index in 0..<3 {
      let child = try context.spawn("receiver", arguments: [name, String(index)])
      try expect(child.readLine() == "ready", "receiver \(index) did not start")
      try trWaitBlocked(child.pid, inSyscall: trBlockedReceive)
      children.append(child)
    }
    for text in ["a", "b", "c"] {
      try rawSend(fd, text)
      usleep(20_000)
    }
    let pairs = children.map { $0.readLine() ?? "?" }.joined()
    try expect(pairs == "0a1b2c", "receivers got \(pairs), expected 0a1b2c")
  },

  Check(
    "MQ-RECV-EFAULT", source: "kernel (mq_timedreceive copy_to_user)",
    clause: "A buffer or timeout pointer that is not mapped gives EFAULT"
  ) { context in
    let fd = try rawUnlinkedQueue(context)
    var buffer = [UInt8](repeating: 0, count: 64)
    let badTime = UnsafePointer<timespec>(bitPattern: 16)
    try rawSend(fd, "x")
    try expectCErrno(EFAULT, "mq_timedreceive with an unmapped timeout", buffer.withUnsafeMutableBytes { CHinix_mq_timedreceive(fd, $0.baseAddress, $0.count, nil, badTime) })
    try expectCErrno(EFAULT, "mq_receive into an unmapped buffer", CHinix_mq_receive(fd, UnsafeMutableRawPointer(bitPattern: 16), 64, nil))
  },

  // MARK: mq_timedreceive

  Check(
    "MQ-TRECV-ETIMEDOUT", source: "mq_timedreceive(3) ERRORS",
    clause: "On an empty blocking queue, mq_timedreceive fails with ETIMEDOUT, no earlier than its absolute deadline"
  ) { context in
    let fd = try rawUnlinkedQueue(context)
    var buffer = [UInt8](repeating: 0, count: 64)
    // The start is read before the deadline is made, so the wait the kernel
    // owes is never shorter than the time measured from it (a pause between
    // the two, as on a loaded host or an emulated guest, cannot look early).
    let start = ContinuousClock().now
    var deadline = trDeadline(300)
    try expectCErrno(ETIMEDOUT, "mq_timedreceive with a 300 ms deadline", buffer.withUnsafeMutableBytes { CHinix_mq_timedreceive(fd, $0.baseAddress, $0.count, nil, &deadline) })
    let elapsed = trElapsed(since: start)
    try expect(elapsed >= .milliseconds(295), "timed out after \(elapsed), before the deadline")
    try expect(elapsed < .seconds(3), "timed out after \(elapsed), long after the deadline")
  },

  Check(
    "MQ-TRECV-EXPIRED", source: "mq_timedreceive(3) DESCRIPTION",
    clause: "On an empty queue with a deadline already past, mq_timedreceive returns ETIMEDOUT at once"
  ) { context in
    let fd = try rawUnlinkedQueue(context)
    var buffer = [UInt8](repeating: 0, count: 64)
    var past = timespec(tv_sec: 1, tv_nsec: 0)
    let start = ContinuousClock().now
    try expectCErrno(ETIMEDOUT, "mq_timedreceive with a past deadline", buffer.withUnsafeMutableBytes { CHinix_mq_timedreceive(fd, $0.baseAddress, $0.count, nil, &past) })
    try expect(trElapsed(since: start) < .seconds(1), "the expired timedreceive waited")
  },

  Check(
    "MQ-TRECV-AVAILABLE", source: "POSIX mq_timedreceive (open_posix_testsuite assertion 10)",
    clause: "With a message waiting, mq_timedreceive succeeds even when the deadline has passed"
  ) { context in
    let fd = try rawUnlinkedQueue(context)
    try rawSend(fd, "here", 4)
    var buffer = [UInt8](repeating: 0, count: 64)
    var past = timespec(tv_sec: 1, tv_nsec: 0)
    var priority: UInt32 = 0
    let count = buffer.withUnsafeMutableBytes { CHinix_mq_timedreceive(fd, $0.baseAddress, $0.count, &priority, &past) }
    try expect(count == 4 && priority == 4 && buffer[..<4] == Array("here".utf8)[...], "mq_timedreceive returned \(count) (\(Errno(rawValue: systemErrno)))")
  },

  Check(
    "MQ-TRECV-EINVAL-TS", source: "mq_timedreceive(3) ERRORS",
    clause: "A deadline with tv_nsec outside 0 ..< 1e9 fails with EINVAL, which Linux reports even when a message is waiting",
    kernelDiffers: true
  ) { context in
    let fd = try rawUnlinkedQueue(context)
    try rawSend(fd, "waiting")
    var buffer = [UInt8](repeating: 0, count: 64)
    for nanoseconds in [-1, 1_000_000_000] {
      var time = trDeadline(1000)
      time.tv_nsec = nanoseconds
      try expectCErrno(EINVAL, "mq_timedreceive with tv_nsec \(nanoseconds) and a message waiting", buffer.withUnsafeMutableBytes { CHinix_mq_timedreceive(fd, $0.baseAddress, $0.count, nil, &time) })
    }
    try expect(try rawAttributes(fd).mq_curmsgs == 1, "the failed receive removed the message")
  },

  Check(
    "MQ-TRECV-REALTIME", source: "mq_timedreceive(3) DESCRIPTION",
    clause: "abs_timeout is an absolute CLOCK_REALTIME time: CLOCK_MONOTONIC now + 5 s is long past, so an empty queue times out at once"
  ) { context in
    let fd = try rawUnlinkedQueue(context)
    var buffer = [UInt8](repeating: 0, count: 64)
    var monotonic = trDeadline(5000, clock: CLOCK_MONOTONIC)
    let start = ContinuousClock().now
    try expectCErrno(ETIMEDOUT, "mq_timedreceive with a CLOCK_MONOTONIC-based deadline", buffer.withUnsafeMutableBytes { CHinix_mq_timedreceive(fd, $0.baseAddress, $0.count, nil, &monotonic) })
    let elapsed = trElapsed(since: start)
    try expect(elapsed < .seconds(2), "took \(elapsed): the deadline was not taken as CLOCK_REALTIME")
  },

  Check(
    "MQ-TRECV-NONBLOCK", source: "mq_timedreceive(3) DESCRIPTION",
    clause: "With O_NONBLOCK, an empty queue gives EAGAIN at once whatever the timeout"
  ) { context in
    let fd = try rawUnlinkedQueue(context, flags: O_RDWR | O_NONBLOCK)
    var buffer = [UInt8](repeating: 0, count: 64)
    var later = trDeadline(5000)
    let start = ContinuousClock().now
    try expectCErrno(EAGAIN, "mq_timedreceive on an empty non-blocking queue", buffer.withUnsafeMutableBytes { CHinix_mq_timedreceive(fd, $0.baseAddress, $0.count, nil, &later) })
    try expect(trElapsed(since: start) < .seconds(2), "the non-blocking timedreceive waited")
  },

  Check(
    "MQ-TRECV-EINTR", source: "mq_timedreceive(3) ERRORS",
    clause: "A blocked mq_timedreceive fails with EINTR, before its deadline, when a handler without SA_RESTART runs",
    needs: [.signals], deadline: .seconds(30)
  ) { context in
    let fd = try rawUnlinkedQueue(context)
    // The signal is sent once the call is seen blocked, well before its 10 s deadline.
    let interrupter = try BlockedCallInterrupter(restart: false, syscall: syscallMqTimedreceive)
    var buffer = [UInt8](repeating: 0, count: 64)
    var deadline = trDeadline(10_000)
    let result = buffer.withUnsafeMutableBytes { CHinix_mq_timedreceive(fd, $0.baseAddress, $0.count, nil, &deadline) }
    let error = systemErrno
    let signalled = interrupter.callReturned()
    if !signalled && error == ETIMEDOUT {
      throw HarnessError("the machine was too busy: the blocked mq_timedreceive was not seen blocked within its 10 s deadline")
    }
    try expect(signalled, "mq_timedreceive on an empty queue returned (\(result), \(Errno(rawValue: error).symbolicName)) without blocking until the signal")
    errno = error
    try expectCErrno(EINTR, "an interrupted mq_timedreceive, before its deadline", result)
    try expect(BlockedCallInterrupter.handlerRuns == 1, "the handler ran \(BlockedCallInterrupter.handlerRuns) times")
  },

  // MARK: mq_getattr and mq_setattr

  Check(
    "MQ-GETATTR-FIELDS", "MQ-GETATTR-CURMSGS", source: "mq_getattr(3) DESCRIPTION",
    clause: "mq_getattr reports mq_flags (0 or O_NONBLOCK only), mq_maxmsg, mq_msgsize and mq_curmsgs, the number of messages queued now"
  ) { context in
    let (name, fd) = try rawQueue(context, 5, 100)
    var attributes = try rawAttributes(fd)
    try expect(attributes.mq_flags == 0 && attributes.mq_maxmsg == 5 && attributes.mq_msgsize == 100 && attributes.mq_curmsgs == 0,
      "got flags \(attributes.mq_flags), \(attributes.mq_maxmsg) × \(attributes.mq_msgsize), \(attributes.mq_curmsgs) queued")
    let nonBlocking = rawOpen(name, O_RDONLY | O_NONBLOCK)
    defer { CHinix_mq_close(nonBlocking) }
    let flags = try rawAttributes(nonBlocking).mq_flags
    try expect(flags == Int(O_NONBLOCK), "an O_NONBLOCK descriptor reports mq_flags \(String(flags, radix: 8)) (octal)")
    for text in ["a", "b", "c"] { try rawSend(fd, text) }
    attributes = try rawAttributes(fd)
    try expect(attributes.mq_curmsgs == 3, "mq_curmsgs is \(attributes.mq_curmsgs) after 3 sends")
    _ = try rawReceive(fd, size: 100)
    try expect(try rawAttributes(nonBlocking).mq_curmsgs == 2, "mq_curmsgs is not 2 after a receive")
  },

  Check(
    "MQ-GETATTR-EBADF", source: "mq_getattr(3) ERRORS",
    clause: "A bad descriptor, or one that is not a queue, gives EBADF"
  ) { _ in
    var attributes = mq_attr()
    try expectCErrno(EBADF, "mq_getattr on descriptor -1", Int(CHinix_mq_getattr(-1, &attributes)))
    let null = open("/dev/null", O_RDONLY | O_CLOEXEC)
    defer { close(null) }
    try expectCErrno(EBADF, "mq_getattr on /dev/null", Int(CHinix_mq_getattr(null, &attributes)))
  },

  Check(
    "MQ-SETATTR-NONBLOCK", "MQ-SETATTR-OLDATTR", source: "mq_setattr(3) DESCRIPTION",
    clause: "Only O_NONBLOCK in mq_flags changes (maxmsg, msgsize and curmsgs are ignored); oldattr receives the attributes as mq_getattr reported them before"
  ) { context in
    let fd = try rawUnlinkedQueue(context, 3, 40)
    try rawSend(fd, "m")
    let before = try rawAttributes(fd)
    var new = mq_attr()
    new.mq_flags = Int(O_NONBLOCK)
    new.mq_maxmsg = 9
    new.mq_msgsize = 999
    new.mq_curmsgs = 7
    var old = mq_attr()
    try expect(CHinix_mq_setattr(fd, &new, &old) == 0, "mq_setattr failed: \(Errno(rawValue: systemErrno))")
    try expect(old.mq_flags == before.mq_flags && old.mq_maxmsg == before.mq_maxmsg && old.mq_msgsize == before.mq_msgsize && old.mq_curmsgs == before.mq_curmsgs,
      "oldattr is \(old.mq_flags)/\(old.mq_maxmsg)/\(old.mq_msgsize)/\(old.mq_curmsgs), mq_getattr said \(before.mq_flags)/\(before.mq_maxmsg)/\(before.mq_msgsize)/\(before.mq_curmsgs)")
    var after = try rawAttributes(fd)
    try expect(after.mq_flags == Int(O_NONBLOCK) && after.mq_maxmsg == 3 && after.mq_msgsize == 40 && after.mq_curmsgs == 1,
      "after setattr: flags \(after.mq_flags), \(after.mq_maxmsg) × \(after.mq_msgsize), \(after.mq_curmsgs) queued")
    new.mq_flags = 0
    try expect(CHinix_mq_setattr(fd, &new, &old) == 0, "clearing O_NONBLOCK failed: \(Errno(rawValue: systemErrno))")
    try expect(old.mq_flags == Int(O_NONBLOCK), "oldattr did not report O_NONBLOCK")
    after = try rawAttributes(fd)
    try expect(after.mq_flags == 0, "O_NONBLOCK was not cleared")
    try expect(CHinix_mq_setattr(fd, &new, nil) == 0, "mq_setattr with oldattr NULL failed: \(Errno(rawValue: systemErrno))")
  },

  Check(
    "MQ-SETATTR-EINVAL", source: "mq_setattr(3) ERRORS",
    clause: "mq_flags with any bit other than O_NONBLOCK gives EINVAL and changes nothing; the flags are checked before the descriptor"
  ) { context in
    let fd = try rawUnlinkedQueue(context)
    for flags in [Int(O_APPEND), Int(O_NONBLOCK | O_APPEND), Int(O_CLOEXEC), 1] {
      var new = mq_attr()
      new.mq_flags = flags
      try expectCErrno(EINVAL, "mq_setattr with mq_flags 0o\(String(flags, radix: 8))", Int(CHinix_mq_setattr(fd, &new, nil)))
      try expect(try rawAttributes(fd).mq_flags == 0, "the failed mq_setattr changed mq_flags")
      try expectCErrno(EINVAL, "mq_setattr on descriptor -1 with mq_flags 0o\(String(flags, radix: 8))", Int(CHinix_mq_setattr(-1, &new, nil)))
    }
  },

  Check(
    "MQ-SETATTR-EBADF", source: "mq_setattr(3) ERRORS",
    clause: "A bad descriptor, or one that is not a queue, gives EBADF"
  ) { _ in
    var new = mq_attr()
    new.mq_flags = Int(O_NONBLOCK)
    try expectCErrno(EBADF, "mq_setattr on descriptor -1", Int(CHinix_mq_setattr(-1, &new, nil)))
    let null = open("/dev/null", O_RDONLY | O_CLOEXEC)
    defer { close(null) }
    try expectCErrno(EBADF, "mq_setattr on /dev/null", Int(CHinix_mq_setattr(null, &new, nil)))
  },

  Check(
    "MQ-SETATTR-PER-DESC", source: "mq_getattr(3); open(2)",
    clause: "O_NONBLOCK belongs to the open description: another mq_open of the same queue keeps mq_flags 0"
  ) { context in
    let (name, fd) = try rawQueue(context)
    var new = mq_attr()
    new.mq_flags = Int(O_NONBLOCK)
    try expect(CHinix_mq_setattr(fd, &new, nil) == 0, "mq_setattr failed: \(Errno(rawValue: systemErrno))")
    let second = rawOpen(name, O_RDWR)
    defer { CHinix_mq_close(second) }
    try expect(second >= 0, "the second mq_open failed")
    try expect(try rawAttributes(second).mq_flags == 0, "the second descriptor reports O_NONBLOCK")
    try expect(try rawAttributes(fd).mq_flags == Int(O_NONBLOCK), "the first descriptor lost O_NONBLOCK")
  },

  Check(
    "MQ-SETATTR-FCNTL", source: "kernel (Linux: the mqd is a file descriptor)",
    clause: "O_NONBLOCK set by mq_setattr is the file status flag fcntl sees (F_GETFL 0x802 for a queue opened O_RDWR without O_CLOEXEC), and fcntl(F_SETFL) changes mq_flags",
    kernelDiffers: true
  ) { context in
    let fd = CHinix_mq_open_attr(context.queueName("fcntl"), O_RDWR | O_CREAT | O_EXCL, 0o600, 4, 64)
    try expectOpened(fd, "mq_open failed")
    defer { CHinix_mq_close(fd) }
    var new = mq_attr()
    new.mq_flags = Int(O_NONBLOCK)
    try expect(CHinix_mq_setattr(fd, &new, nil) == 0, "mq_setattr failed: \(Errno(rawValue: systemErrno))")
    let status = fcntl(fd, F_GETFL)
    try expect(status == O_RDWR | O_NONBLOCK, "F_GETFL is 0x\(String(status, radix: 16)) after mq_setattr, expected 0x802")
    try expect(fcntl(fd, F_SETFL, O_RDWR) == 0, "F_SETFL failed")
    try expect(try rawAttributes(fd).mq_flags == 0, "fcntl did not clear mq_flags")
    try expect(fcntl(fd, F_SETFL, O_RDWR | O_NONBLOCK) == 0, "F_SETFL failed")
    try expect(try rawAttributes(fd).mq_flags == Int(O_NONBLOCK), "fcntl did not set mq_flags")
  },
]
