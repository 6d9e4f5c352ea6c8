// No caller-supplied value reaches a trap: huge and negative timeouts,
// deadlines beyond Int64's seconds, sizes and limits out of range, and an
// async call when the reactor cannot start.
import CHinix
import Testing

@testable import Hinix

#if canImport(Glibc)
  import Glibc
#endif

/// Timeouts too long to mean anything but "as long as it takes", among them
/// ones past Int64's seconds (whose `components` would trap) and ones whose
/// milliseconds overflow Int64.
let hugeTimeouts: [Duration] = [
  .seconds(Int64.max),
  Duration(secondsComponent: Int64.max, attosecondsComponent: 999_999_999_999_999_999),
  .seconds(Int64.max / 1000),
  Duration(secondsComponent: Int64.max / 1000, attosecondsComponent: 999_999_999_999_999_999),
  .seconds(Int64.max) * 16,
  Duration(attoseconds: .max),
]

/// Timeouts of zero or less: each tries once without waiting.
let nonPositiveTimeouts: [Duration] = [
  .zero, .nanoseconds(-1), .seconds(-1), .seconds(Int64.min), Duration(attoseconds: .min),
]

/// Runs `body` on a new thread after a short pause, so that the caller is
/// (most likely) waiting by then; the call must return whenever it runs.
func later(_ body: @escaping @Sendable () throws -> Void) -> Task<Void, any Error> {
  Task.detached {
    try await onThread {
      pause(20)
      try body()
    }
  }
}

@Suite("Extreme values never trap", .timeLimit(.minutes(2)))
struct ExtremeValueTests {
  @Test("A huge receive timeout waits until a message comes", arguments: hugeTimeouts)
  func hugeReceiveTimeout(timeout: Duration) async throws {
    try await withQueue("hrt") { queue async throws in
      let sender = later { try queue.send("late", priority: 3) }
      let message = try await onThread { try queue.receive(timeout: timeout) }
      #expect(message == MsgQueue.Message(bytes: Array("late".utf8), priority: 3))
      try await sender.value
      let second = later { try queue.send("buffer") }
      let received = try await onThread {
        var buffer = [UInt8](repeating: 0, count: queue.messageSize)
        let got = try buffer.withUnsafeMutableBytes { try queue.receive(into: $0, timeout: timeout) }
        return Array(buffer[..<got.count])
      }
      #expect(received == Array("buffer".utf8))
      try await second.value
    }
  }

  @Test("A huge send timeout waits until the full queue has room", arguments: hugeTimeouts)
  func hugeSendTimeout(timeout: Duration) async throws {
    try await withQueue("hst", capacity: .init(maxMessages: 1, messageSize: 16)) { queue async throws in
      try queue.send("first")
      let receiver = later { _ = try queue.receive() }
      try await onThread { try queue.send("second", timeout: timeout) }
      try await receiver.value
      #expect(try queue.tryReceive()?.text == "second")
      // The String, Sequence and buffer overloads all take the same path.
      try queue.send(Array("third".utf8), timeout: timeout)
      #expect(try queue.tryReceive()?.text == "third")
    }
  }

  @Test("A huge eventfd timeout waits until the counter is written", arguments: hugeTimeouts)
  func hugeEventFdTimeout(timeout: Duration) async throws {
    let event = try EventFd()
    let writer = later { try event.write(5) }
    #expect(try await onThread { try event.read(timeout: timeout) } == 5)
    try await writer.value
    let second = later { try event.write(2) }
    #expect(try await onThread { try event.waitUntilReadable(timeout: timeout) })
    try await second.value
    #expect(try event.tryRead() == 2)
    try event.close()
  }

  @Test("A timeout of zero or less tries once: it receives a queued message, else times out", arguments: nonPositiveTimeouts)
  func nonPositive(timeout: Duration) throws {
    try withQueue("npt", capacity: .init(maxMessages: 1, messageSize: 16)) { queue in
      #expect(hinixError { _ = try queue.receive(timeout: timeout) }?.errno == .timedOut)
      try queue.send("one", timeout: timeout)
      #expect(hinixError { try queue.send("two", timeout: timeout) }?.errno == .timedOut)
      #expect(try queue.receive(timeout: timeout).text == "one")
    }
    let event = try EventFd()
    #expect(hinixError { _ = try event.read(timeout: timeout) }?.errno == .timedOut)
    #expect(try event.waitUntilReadable(timeout: timeout) == false)
    try event.write(3)
    #expect(try event.waitUntilReadable(timeout: timeout))
    #expect(try event.read(timeout: timeout) == 3)
  }

  @Test("Deadlines saturate for durations beyond Int64's seconds")
  func deadlinesSaturate() {
    #expect((Deadline.now + .seconds(Int64.max) * 16).seconds == .max)
    #expect(Deadline.after(Duration(attoseconds: .max)).seconds == .max)
    #expect((Deadline(seconds: -1) + Duration(attoseconds: .min)).seconds == .min)
    #expect((Deadline(seconds: -1) + .seconds(Int64.min)).seconds == .min)
    #expect((Deadline(seconds: .max, nanoseconds: 999_999_999) + .seconds(1)).seconds == .max)
    var odd = Deadline(seconds: 1)
    odd.nanoseconds = .max  // the fields are var: out of range on purpose
    #expect(odd.description == Deadline(seconds: 1, nanoseconds: .max).description)
    #expect((odd + .zero) == Deadline(seconds: 1, nanoseconds: .max))
  }

  @Test("A deadline far in the future waits for the message; one before the epoch has passed")
  func extremeDeadlines() async throws {
    try await withQueue("xd", capacity: .init(maxMessages: 1, messageSize: 16)) { queue async throws in
      let far = Deadline.after(.seconds(Int64.max) * 16)
      let sender = later { try queue.send("far") }
      #expect(try await onThread { try queue.receive(deadline: far) }.text == "far")
      try await sender.value
      let past = Deadline.now + Duration(attoseconds: .min)
      #expect(past.seconds < 0)
      #expect(hinixError { _ = try queue.receive(deadline: past) }?.errno == .timedOut)
      try queue.send("x")
      #expect(hinixError { try queue.send("y", deadline: past) }?.errno == .timedOut)
      #expect(try queue.receive(deadline: past).text == "x")
    }
  }

  @Test("chargedBytes saturates, and is 0 for negative sizes")
  func chargedBytesSaturates() {
    #expect(SystemLimits.chargedBytes(maxMessages: .max, messageSize: .max) == .max)
    #expect(SystemLimits.chargedBytes(maxMessages: .max, messageSize: 0) == .max)
    #expect(SystemLimits.chargedBytes(maxMessages: .min, messageSize: .min) == 0)
    #expect(SystemLimits.chargedBytes(maxMessages: .min, messageSize: 64) == 0)
    #expect(SystemLimits.chargedBytes(maxMessages: 4, messageSize: -1) == 0)
  }

  @Test("readToEnd rejects a negative limit with EINVAL")
  func negativeReadLimit() throws {
    let pipe = try Pipe()
    let error = hinixError { _ = try pipe.reader.readToEnd(limit: -1) }
    #expect(error?.errno == .invalidArgument)
    #expect(error?.detail == "the limit is -1 bytes; it must be at least 0")
  }

  @Test("Duration helpers saturate")
  func durationHelpers() {
    #expect(Duration.seconds(Int64.max).roundedUpMilliseconds == .max)
    #expect(Duration(secondsComponent: Int64.max / 1000, attosecondsComponent: 999_999_999_999_999_999).roundedUpMilliseconds == .max)
    #expect(Duration.seconds(-5).roundedUpMilliseconds == 0)
    #expect(Duration.nanoseconds(1).roundedUpMilliseconds == 1)
    #expect((Duration.seconds(Int64.max) * 16).saturatingComponents == (.max, 0))
    #expect((Duration.seconds(Int64.min) * 16).saturatingComponents == (.min, 0))
    #expect(Duration.milliseconds(-1500).saturatingComponents == Duration.milliseconds(-1500).components)
    #expect(SuspendingClock().deadline(after: .seconds(Int64.max)) == nil)
  }
}

@Suite("An async call when the reactor cannot start", .timeLimit(.minutes(2)))
struct ReactorStartTests {
  @Test("Out of descriptors: EMFILE naming RLIMIT_NOFILE, and a later call succeeds")
  func outOfDescriptors() async throws {
    // In a child process: a fresh process has no reactor yet, and lowering
    // RLIMIT_NOFILE would disturb the tests running beside this one.
    await #expect(processExitsWith: .success) {
      let event = try EventFd()
      try event.write(1)
      var limit = rlimit()
      getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
      let cap = UInt64(openDescriptors() + 4)
      limit.rlim_cur = rlim_t(cap)
      precondition(setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0)
      var held: [CInt] = []
      while true {
        let fd = open("/dev/null", O_RDONLY | O_CLOEXEC)
        if fd < 0 { break }
        held.append(fd)
      }
      precondition(errno == EMFILE && !held.isEmpty)
      var failure: HinixError?
      do {
        try await event.async.wait()
      } catch let error as HinixError {
        failure = error
      }
      #expect(failure?.errno == .tooManyOpenFiles)
      #expect(failure?.operation == .epollCreate1)
      #expect(failure?.limit == .descriptors(limit: cap))
      #expect(Reactor.running == nil)
      for fd in held { close(fd) }
      // The failure was not remembered: with descriptors back, the reactor starts.
      try await event.async.wait()
      #expect(Reactor.running != nil)
      #expect(try await event.async.read() == 1)
    }
  }

  @Test(
    "Out of threads: EAGAIN from pthread_create, and a later call succeeds",
    .enabled(if: canSetUID, "needs CAP_SETUID to switch to a uid that RLIMIT_NPROC binds"))
  func outOfThreads() async throws {
    await #expect(processExitsWith: .success) {
      let event = try EventFd()
      try event.write(1)
      // RLIMIT_NPROC counts the threads of the real uid, and does not bind
      // root: a fresh uid has exactly this process's threads.
      precondition(setuid(uid_t(67_000 + getpid() % 1_000)) == 0, "setuid: \(errno)")
      var limit = rlimit()
      getrlimit(__rlimit_resource_t(__RLIMIT_NPROC.rawValue), &limit)
      let saved = limit
      limit.rlim_cur = 1
      precondition(setrlimit(__rlimit_resource_t(__RLIMIT_NPROC.rawValue), &limit) == 0)
      var failure: HinixError?
      do {
        try await event.async.wait()
      } catch let error as HinixError {
        failure = error
      }
      limit = saved
      precondition(setrlimit(__rlimit_resource_t(__RLIMIT_NPROC.rawValue), &limit) == 0)
      #expect(failure?.errno == .resourceTemporarilyUnavailable)
      #expect(failure?.operation == .pthreadCreate)
      #expect(Reactor.running == nil)
      // No descriptor was left behind by the failed start: the next one succeeds.
      try await event.async.wait()
      #expect(Reactor.running != nil)
      #expect(try await event.async.read() == 1)
    }
  }
}
