import CHinix
import SystemPackage
import Testing

@testable import Hinix

#if canImport(Glibc)
  import Glibc
#endif

@Suite("EINTR: blocking calls retry by default; timed calls keep their deadline", .timeLimit(.minutes(1)))
struct InterruptTests {
  @Test("A signal interrupts a blocking receive: EINTR without retry, the message with it, and the deadline is kept")
  func interruptedReceive() async throws {
    await #expect(processExitsWith: .success) {
      installCountingHandler(SIGUSR1)
      let name = "/hinix-eintr-\(getpid())"
      let queue = try MsgQueue(name, options: .exclusive, capacity: small)
      defer { try? MsgQueue.unlink(name) }
      let target = pthread_self()

      // retryOnInterrupt: false surfaces the interruption.
      startThread { pause(100); pthread_kill(target, SIGUSR1) }
      let interrupted = hinixError { _ = try queue.receive(retryOnInterrupt: false) }
      #expect(interrupted?.errno == .interrupted)
      #expect(caughtSignals.load(ordering: .sequentiallyConsistent) == 1)

      // By default the call goes on waiting and gets the message that comes later.
      startThread {
        pause(100)
        pthread_kill(target, SIGUSR1)
        pause(100)
        try? queue.send("after the signal")
      }
      #expect(try queue.receiveString() == "after the signal")
      #expect(caughtSignals.load(ordering: .sequentiallyConsistent) == 2)

      // A timed call interrupted late keeps its original deadline: about
      // 600 ms in all, not 600 ms more after the signal (about 1,050 ms).
      startThread { pause(450); pthread_kill(target, SIGUSR1) }
      let clock = ContinuousClock()
      let start = clock.now
      let timedOut = hinixError { _ = try queue.receive(timeout: .milliseconds(600)) }
      let elapsed = start.duration(to: clock.now)
      #expect(timedOut?.errno == .timedOut)
      #expect(caughtSignals.load(ordering: .sequentiallyConsistent) == 3)
      #expect(elapsed >= .milliseconds(590))
      #expect(elapsed < .milliseconds(960), "\(elapsed): the deadline was restarted after EINTR")

      // EventFd reads retry too.
      let event = try EventFd()
      startThread {
        pause(100)
        pthread_kill(target, SIGUSR1)
        pause(100)
        try? event.write(5)
      }
      #expect(try event.read() == 5)
      startThread { pause(100); pthread_kill(target, SIGUSR1) }
      #expect(hinixError { _ = try event.read(retryOnInterrupt: false) }?.errno == .interrupted)
    }
  }
}

@Suite("Notification (mq_notify(3))", .timeLimit(.minutes(1)))
struct NotificationTests {
  @Test("A registration shows in the status line, blocks a second one with EBUSY, and cancels")
  func registerAndCancel() throws {
    try withQueue { queue throws in
      try queue.requestNotification(.withoutSignal)
      let status = try queue.status()
      #expect(status.notifyPID == Int(getpid()))
      #expect(status.notify == 1)  // SIGEV_NONE
      let busy = hinixError { try queue.requestNotification(.withoutSignal) }
      #expect(busy?.errno == .resourceBusy)
      #expect(busy?.detail == "process \(getpid()) is registered for notification on this queue")
      try queue.cancelNotification()
      #expect(try queue.status().notifyPID == 0)
      try queue.requestNotification(.withoutSignal)
    }
  }

  @Test("Closing any other descriptor of the queue in this process drops the registration")
  func closeDropsRegistration() throws {
    try withQueue { queue throws in
      try queue.requestNotification(.signal(SIGUSR2))
      #expect(try queue.status().notifyPID == Int(getpid()))
      #expect(try queue.status().signal == Int(SIGUSR2))
      let other = try MsgQueue.open(queue.name.rawValue, access: .readOnly)
      try other.close()
      #expect(try queue.status().notifyPID == 0)
    }
  }

  @Test("EBUSY from another process names the process that holds the registration")
  func busyAcrossProcesses() async throws {
    // The child derives the name from its parent's pid: exit tests cannot capture values.
    let name = "/hinix-busy-\(getpid())"
    let queue = try MsgQueue(name, options: .exclusive, capacity: small)
    defer { try? MsgQueue.unlink(name) }
    try queue.requestNotification(.withoutSignal)
    await #expect(processExitsWith: .success) {
      let queue = try MsgQueue.open("/hinix-busy-\(getppid())")
      let busy = hinixError { try queue.requestNotification(.signal(SIGUSR2)) }
      #expect(busy?.errno == .resourceBusy)
      #expect(busy?.detail == "process \(getppid()) is registered for notification on this queue")
    }
    #expect(try queue.status().notifyPID == Int(getpid()))
  }

  @Test("A signal notification arrives once, with SI_MESGQ and the value, when a message reaches the empty queue")
  func signalNotification() async throws {
    await #expect(processExitsWith: .success) {
      installCountingHandler(SIGUSR2)
      let name = "/hinix-notify-\(getpid())"
      let queue = try MsgQueue(name, options: .exclusive, capacity: small)
      defer { try? MsgQueue.unlink(name) }
      try queue.requestNotification(.signal(SIGUSR2, value: 77))
      try queue.send("one")
      for _ in 0..<200 where caughtSignals.load(ordering: .sequentiallyConsistent) == 0 { pause(5) }
      #expect(caughtSignals.load(ordering: .sequentiallyConsistent) == 1)
      #expect(lastSignalCode.load(ordering: .relaxed) == Int(SI_MESGQ))
      #expect(lastSignalValue.load(ordering: .relaxed) == 77)
      // One-shot: the registration is gone, and a second message sends nothing.
      #expect(try queue.status().notifyPID == 0)
      _ = try queue.receive()
      try queue.send("two")
      pause(50)
      #expect(caughtSignals.load(ordering: .sequentiallyConsistent) == 1)
    }
  }

  @Test("An invalid signal number fails with EINVAL")
  func invalidSignal() throws {
    try withQueue { queue throws in
      #expect(hinixError { try queue.requestNotification(.signal(1000)) }?.errno == .invalidArgument)
    }
  }
}

@Suite("Status line, polling, deadlines and error text", .timeLimit(.minutes(1)))
struct StatusAndMiscTests {
  @Test("QSIZE counts the bytes queued, not the messages (3 + 5 + 0 → 8)")
  func queuedBytes() throws {
    try withQueue { queue throws in
      try queue.send("abc")
      try queue.send("defgh")
      try queue.send([UInt8]())
      let status = try queue.status()
      #expect(status.queuedBytes == 8)
      #expect(status.notifyPID == 0)
      #expect(try queue.attributes().currentMessages == 3)
    }
  }

  @Test("The status line parses the kernel's exact format and rejects anything else")
  func statusParsing() {
    let line = "QSIZE:8          NOTIFY:0     SIGNO:10    NOTIFY_PID:1234  \n"
    #expect(MsgQueue.Status(parsing: line) == .some(.init(parsing: line)!))
    let status = MsgQueue.Status(parsing: line)
    #expect(status?.queuedBytes == 8)
    #expect(status?.signal == 10)
    #expect(status?.notifyPID == 1234)
    #expect(MsgQueue.Status(parsing: "QSIZE:8 NOTIFY:x") == nil)
    #expect(MsgQueue.Status(parsing: "") == nil)
  }

  @Test("The descriptor polls readable iff a message is queued and writable iff there is room")
  func pollReadiness() throws {
    try withQueue(capacity: .init(maxMessages: 2, messageSize: 16)) { queue throws in
      let readable = Int16(POLLIN)
      let writable = Int16(POLLOUT)
      #expect(readyEvents(queue.descriptor) & (readable | writable) == writable)
      try queue.send("a")
      #expect(readyEvents(queue.descriptor) & (readable | writable) == readable | writable)
      try queue.send("b")
      #expect(readyEvents(queue.descriptor) & (readable | writable) == readable)
    }
  }

  @Test("Deadlines normalise nanoseconds, add durations and order in time")
  func deadlines() {
    #expect(Deadline(seconds: 1, nanoseconds: 1_500_000_000) == Deadline(seconds: 2, nanoseconds: 500_000_000))
    #expect(Deadline(seconds: 1, nanoseconds: -1) == Deadline(seconds: 0, nanoseconds: 999_999_999))
    #expect(Deadline(seconds: 1) + .milliseconds(1500) == Deadline(seconds: 2, nanoseconds: 500_000_000))
    #expect(Deadline.expired < Deadline.now)
    #expect(Deadline.now < Deadline.after(.seconds(1)))
    #expect(Deadline(seconds: 3, nanoseconds: 5).description == "3.000000005")
    // Huge durations saturate instead of trapping.
    #expect((Deadline.now + .seconds(Int64.max)).seconds == .max)
    #expect((Deadline(seconds: .min + 1) + .seconds(-5)).seconds == .min)
    let time = Deadline(seconds: 7, nanoseconds: 9).timespec
    #expect(time.tv_sec == 7 && time.tv_nsec == 9)
  }

  @Test("An error's description names the call, the queue, the errno and the explanation")
  func errorDescription() {
    let error = HinixError(
      .messageTooLong, operation: .mqSend, queueName: "/jobs",
      detail: "the message is 65 bytes and the queue's message size is 64")
    #expect(error.description == "mq_send(\"/jobs\"): Message too long (EMSGSIZE): the message is 65 bytes and the queue's message size is 64")
    #expect(HinixError(.timedOut, operation: .mqTimedReceive).isTimeoutOrWouldBlock)
    #expect(!HinixError(.badFileDescriptor, operation: .mqSend).isTimeoutOrWouldBlock)
    #expect(Errno.resourceBusy.symbolicName == "EBUSY")
  }
}
