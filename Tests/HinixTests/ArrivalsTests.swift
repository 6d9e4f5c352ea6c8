import CHinix
import Synchronization
import Testing

@testable import Hinix

#if canImport(Glibc)
  import Glibc
#endif

@Suite(
  "Notification: SIGEV_THREAD and the arrivals stream", .timeLimit(.minutes(1)),
  .disabled(if: underThreadSanitizer, Comment(rawValue: sigevThreadUnderTSan)))
struct ArrivalsTests {
  @Test("A SIGEV_THREAD handler runs once when a message arrives on the empty queue")
  func threadNotification() async throws {
    try await withQueue { queue async throws in
      let calls = Atomic<Int>(0)
      let called = try EventFd()
      try queue.requestNotification(onThread: {
        calls.add(1, ordering: .relaxed)
        try? called.write(1)
      })
      #expect(try queue.status().notifyPID == Int(getpid()))
      #expect(try queue.status().notify == 2)  // SIGEV_THREAD
      try queue.send("one")
      #expect(try await called.async.read() == 1)
      try queue.send("two")  // not empty before: no second call, and none is registered
      #expect(try queue.status().notifyPID == 0)
      #expect(calls.load(ordering: .relaxed) == 1)
    }
  }

  @Test("A second registration fails with EBUSY naming this process")
  func busy() throws {
    try withQueue { queue in
      let arrivals = try queue.arrivals()
      let error = hinixError { _ = try queue.arrivals() }
      #expect(error?.errno == .resourceBusy)
      #expect(error?.detail == "process \(getpid()) is registered for notification on this queue")
      arrivals.finish()
      #expect(try queue.status().notifyPID == 0)
    }
  }

  @Test("A burst of 10,000 messages is all received by a consumer driven only by arrivals")
  func burst() async throws {
    try await withQueue(capacity: .init(maxMessages: 8, messageSize: 16)) { queue async throws in
      let total = 10_000
      let arrivals = try queue.arrivals()
      let producer = Task {
        try await onThread {
          for index in 0..<total {
            try withUnsafeBytes(of: UInt32(index)) { try queue.send($0) }
            if index % 1000 == 0 { usleep(1000) }  // let the queue run empty now and then
          }
        }
      }
      var received = 0
      var events = 0
      var buffer = [UInt8](repeating: 0, count: 16)
      for await _ in arrivals {
        events += 1
        while try buffer.withUnsafeMutableBytes({ try queue.tryReceive(into: $0) }) != nil {
          received += 1
        }
        if received == total { break }
      }
      try await producer.value
      arrivals.finish()
      #expect(received == total)
      #expect(events >= 1 && events <= total)
    }
  }

  @Test("An arrival between a drain and the next step is seen by that step")
  func arrivalBeforeRearm() async throws {
    try await withQueue { queue async throws in
      let arrivals = try queue.arrivals()
      var iterator = arrivals.makeAsyncIterator()
      try queue.send("a")
      #expect(await iterator.next() != nil)
      #expect(try queue.tryReceive()?.text == "a")
      // The registration fired; nothing is armed until the next step. A
      // message now makes no notification, but the step finds it queued.
      try queue.send("b")
      #expect(await iterator.next() != nil)
      #expect(try queue.tryReceive()?.text == "b")
      arrivals.finish()
      #expect(await iterator.next() == nil)
    }
  }

  @Test("Closing the queue ends a step that is waiting, promptly")
  func closeEndsWaitingStep() async throws {
    try await withQueue { queue async throws in
      let arrivals = try queue.arrivals()
      let consumer = Task {
        var count = 0
        for await _ in arrivals { count += 1 }
        return count
      }
      // Let the consumer reach its wait on the empty queue, then close.
      try await Task.sleep(for: .milliseconds(50))
      let clock = ContinuousClock()
      let start = clock.now
      try queue.close()
      #expect(await consumer.value == 0)
      #expect(start.duration(to: clock.now) < .seconds(5))
      #expect(arrivals.isFinished)
    }
  }

  @Test("Cancelling the consuming task ends the stream and frees the registration")
  func cancelled() async throws {
    try await withQueue { queue async throws in
      let arrivals = try queue.arrivals()
      let consumer = Task {
        var count = 0
        for await _ in arrivals { count += 1 }
        return count
      }
      try await Task.sleep(for: .milliseconds(20))
      consumer.cancel()
      #expect(await consumer.value == 0)
      arrivals.finish()
      #expect(try queue.status().notifyPID == 0)
    }
  }
}
