import CHinix
import Synchronization
import SystemPackage
import Testing

@testable import Hinix

#if canImport(Glibc)
  import Glibc
#endif

@Suite("async: suspending sends, receives and reads", .timeLimit(.minutes(1)))
struct AsyncTests {
  @Test("An async receive is resumed by a send from another thread")
  func receiveAcrossThreads() async throws {
    try await withQueue { queue async throws in
      let receiver = Task { try await queue.async.receive() }
      try await onThread {
        pause(30)
        try queue.send("ping", priority: 7)
      }
      let message = try await receiver.value
      #expect(message.text == "ping")
      #expect(message.priority == 7)
    }
  }

  @Test("An async send on a full queue is resumed by a receive on another thread")
  func sendAcrossThreads() async throws {
    try await withQueue { queue async throws in
      for index in 0..<4 { try queue.send("\(index)") }
      let sender = Task { try await queue.async.send("last", priority: 1) }
      try await Task.sleep(for: .milliseconds(30))
      #expect(try await onThread { try queue.receive() }.text == "0")
      try await sender.value
      #expect(try queue.attributes().currentMessages == 4)
    }
  }

  @Test("More async receivers than pool threads all wait without blocking a thread")
  func manyWaiters() async throws {
    try await withQueue(capacity: .init(maxMessages: 4, messageSize: 16)) { queue async throws in
      let receivers = 32
      try await withThrowingTaskGroup(of: UInt32.self) { group in
        for _ in 0..<receivers {
          group.addTask { try await queue.async.receive().priority }
        }
        // The senders run as tasks on the same 2-thread pool: they can only
        // run if the receivers suspended instead of blocking.
        for index in 0..<receivers {
          try await queue.async.send("m", priority: UInt32(index))
        }
        var seen = Set<UInt32>()
        for try await priority in group { seen.insert(priority) }
        #expect(seen == Set(0..<UInt32(receivers)))
      }
    }
  }

  @Test("Buffer forms round-trip without a Message")
  func bufferForms() async throws {
    try await withQueue { queue async throws in
      let payload: [UInt8] = [1, 2, 3, 4]
      let outgoing = UnsafeMutableRawBufferPointer.allocate(byteCount: 4, alignment: 8)
      defer { outgoing.deallocate() }
      outgoing.copyBytes(from: payload)
      try await queue.async.send(UnsafeRawBufferPointer(outgoing), priority: 3)
      let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 8)
      defer { buffer.deallocate() }
      let received = try await queue.async.receive(into: buffer)
      #expect(received.count == 4 && received.priority == 3)
      #expect(Array(buffer[..<4]) == payload)
    }
  }

  @Test("A receive cancelled mid-wait returns promptly and leaves the message for the next receiver")
  func cancelledReceive() async throws {
    try await withQueue { queue async throws in
      var latencies: [Duration] = []
      for _ in 0..<20 {
        let receiver = Task { try await queue.async.receive() }
        try await Task.sleep(for: .milliseconds(10))
        let clock = ContinuousClock()
        let start = clock.now
        receiver.cancel()
        let result = await receiver.result
        let latency = start.duration(to: clock.now)
        #expect(throws: CancellationError.self) { try result.get() }
        latencies.append(latency)
        // The cancelled receive is out of the reactor: a message sent now stays queued.
        try queue.send("kept")
        #expect(try queue.attributes().currentMessages == 1)
        #expect(try await queue.async.receive().text == "kept")
      }
      // Cancellation resumes the waiter synchronously; what remains is
      // scheduling two tasks on a pool shared with the other tests.
      latencies.sort()
      #expect(latencies[latencies.count / 2] < .milliseconds(100), "latencies: \(latencies)")
      #expect(latencies.last! < .seconds(2), "latencies: \(latencies)")
    }
  }

  @Test("A send cancelled while the queue is full throws CancellationError and sends nothing")
  func cancelledSend() async throws {
    try await withQueue { queue async throws in
      for index in 0..<4 { try queue.send("\(index)") }
      let sender = Task { try await queue.async.send("late") }
      try await Task.sleep(for: .milliseconds(20))
      sender.cancel()
      await #expect(throws: CancellationError.self) { try await sender.value }
      var texts: [String] = []
      while let message = try queue.tryReceive() { texts.append(message.text) }
      #expect(texts == ["0", "1", "2", "3"])
    }
  }

  @Test("Async calls work on a descriptor opened non-blocking")
  func nonBlockingDescriptor() async throws {
    try await withQueue(options: .nonBlocking) { queue async throws in
      let receiver = Task { try await queue.async.receive() }
      try await Task.sleep(for: .milliseconds(20))
      try await queue.async.send("nb")
      #expect(try await receiver.value.text == "nb")
    }
  }

  @Test("A receive cancelled while messages race in never loses one")
  func cancellationRace() async throws {
    try await withQueue(capacity: .init(maxMessages: 8, messageSize: 16)) { queue async throws in
      var delivered = 0
      for round in 0..<200 {
        let receiver = Task { try? await queue.async.receive() }
        if round % 2 == 0 { await Task.yield() }
        async let sent: Void = onThread { try queue.send("x") }
        receiver.cancel()
        try await sent
        if await receiver.value != nil { delivered += 1 }
        while try queue.tryReceive() != nil { delivered += 1 }
      }
      #expect(delivered == 200)
    }
  }

  @Test("Closing the queue wakes an async receive with EBADF and closes the descriptor")
  func closeWhileAwaiting() async throws {
    try await withQueue { queue async throws in
      let receiver = Task { try await queue.async.receive() }
      while queue.guarded.callsInFlight == 0 { try await Task.sleep(for: .milliseconds(2)) }
      try await Task.sleep(for: .milliseconds(20))
      try queue.close()
      let error = await #expect(throws: HinixError.self) { try await receiver.value }
      #expect(error?.errno == .badFileDescriptor)
      #expect(queue.guarded.callsInFlight == 0)
      #expect(queue.isClosed)
    }
  }

  @Test("messages yields each message and ends when the queue is closed")
  func messagesSequence() async throws {
    try await withQueue { queue async throws in
      let consumer = Task {
        var texts: [String] = []
        for try await message in queue.messages { texts.append(message.text) }
        return texts
      }
      for index in 0..<10 { try await queue.async.send("\(index)") }
      while try queue.attributes().currentMessages > 0 { try await Task.sleep(for: .milliseconds(2)) }
      try await Task.sleep(for: .milliseconds(20))
      try queue.close()
      #expect(try await consumer.value == (0..<10).map { "\($0)" })
    }
  }

  @Test("messages ends when its task is cancelled")
  func messagesCancelled() async throws {
    try await withQueue { queue async throws in
      let consumer = Task {
        var count = 0
        for try await _ in queue.messages { count += 1 }
        return count
      }
      try queue.send("one")
      while try queue.attributes().currentMessages > 0 { try await Task.sleep(for: .milliseconds(2)) }
      consumer.cancel()
      #expect(try await consumer.value == 1)
    }
  }

  @Test("EventFd: an async read is resumed by a write; wait does not consume")
  func eventFdAsync() async throws {
    let event = try EventFd()
    let reader = Task { try await event.async.read() }
    try await onThread {
      pause(20)
      try event.write(5)
    }
    #expect(try await reader.value == 5)
    let waiter = Task { try await event.async.wait() }
    try event.write(2)
    try await waiter.value
    #expect(try event.tryRead() == 2)
    let cancelled = Task { try await event.async.read() }
    try await Task.sleep(for: .milliseconds(10))
    cancelled.cancel()
    await #expect(throws: CancellationError.self) { try await cancelled.value }
    let closed = Task { try await event.async.read() }
    try await Task.sleep(for: .milliseconds(10))
    try event.close()
    await #expect(throws: HinixError.self) { try await closed.value }
  }

  @Test("Async waits, cancellations and closes leak no descriptor")
  func noLeaks() async throws {
    // In a child process: other tests open and close descriptors meanwhile.
    let result = await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
      _ = try await withQueue("leak") { queue async throws in  // start the reactor first
        try queue.send("x")
        return try await queue.async.receive()
      }
      let before = descriptorTable()
      for round in 0..<30 {
        try await withQueue("leak") { queue async throws in
          let waiter = Task { try await queue.async.receive() }
          let event = try EventFd()
          let reader = Task { try await event.async.read() }
          try await Task.sleep(for: .milliseconds(2))
          switch round % 3 {
          case 0: waiter.cancel(); reader.cancel()
          case 1: try queue.close(); try event.close()
          default: try queue.send("y"); try event.write(1)
          }
          _ = await waiter.result
          _ = await reader.result
          // Close explicitly: the finished tasks' closures, which hold the
          // objects, may be freed a moment later than this point.
          try queue.close()
          try event.close()
        }
      }
      let after = descriptorTable()
      #expect(after == before)
      if after != before {
        let text = Array("before: \(before)\nafter: \(after)\n".utf8)
        _ = text.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
      }
    }
    if let result, !result.standardErrorContent.isEmpty {
      Issue.record("child: \(String(decoding: result.standardErrorContent, as: UTF8.self))")
    }
  }
}

@Suite("Monotonic timeouts", .timeLimit(.minutes(1)))
struct MonotonicTimeoutTests {
  @Test("Duration timeouts last their length and report ETIMEDOUT")
  func timeoutsHoldTheirLength() throws {
    try withQueue { queue throws in
      let clock = ContinuousClock()
      let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 8)
      defer { buffer.deallocate() }
      var start = clock.now
      var error = hinixError { _ = try queue.receive(into: buffer, timeout: .milliseconds(80)) }
      var elapsed = start.duration(to: clock.now)
      #expect(error?.errno == .timedOut)
      #expect(error?.detail == "no message came before the deadline")
      #expect(elapsed >= .milliseconds(80) && elapsed < .milliseconds(500))
      start = clock.now
      error = hinixError { _ = try queue.receive(timeout: .milliseconds(50)) }
      elapsed = start.duration(to: clock.now)
      #expect(error?.errno == .timedOut && elapsed >= .milliseconds(50))
      for _ in 0..<4 { try queue.send("f") }
      start = clock.now
      error = hinixError { try queue.send("over", timeout: .milliseconds(50)) }
      elapsed = start.duration(to: clock.now)
      #expect(error?.errno == .timedOut && elapsed >= .milliseconds(50))
      #expect(error?.operation == .mqTimedSend)
    }
  }

  @Test("A timed receive returns a message that arrives during the wait")
  func timedReceiveWakes() async throws {
    try await withQueue { queue async throws in
      let receiver = Task { try await onThread { try queue.receive(timeout: .seconds(10)) } }
      try await Task.sleep(for: .milliseconds(30))
      try queue.send("late")
      #expect(try await receiver.value.text == "late")
    }
  }

  @Test("A timed receive that loses the race waits again for the time left")
  func lostRaceWaitsAgain() async throws {
    try await withQueue { queue async throws in
      let clock = ContinuousClock()
      let start = clock.now
      let loser = Task {
        try await onThread { () -> String in
          do throws(HinixError) { return try queue.receive(timeout: .seconds(20)).text } catch {
            return "\(error.errno)"
          }
        }
      }
      // A second, blocking receiver takes the first message.
      let winner = Task { try await onThread { try queue.receive().text } }
      try await Task.sleep(for: .milliseconds(50))
      try queue.send("a")
      try await Task.sleep(for: .milliseconds(50))
      try queue.send("b")
      let results = try await [loser.value, winner.value].sorted()
      // The loser woke for "a", found it gone, and waited again for "b".
      #expect(results == ["a", "b"])
      #expect(start.duration(to: clock.now) < .seconds(20))
    }
  }
}
