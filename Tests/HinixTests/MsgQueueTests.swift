import CHinix
import SystemPackage
import Testing

@testable import Hinix

#if canImport(Glibc)
  import Glibc
#endif

@Suite("MsgQueue: opening, creating, unlinking", .timeLimit(.minutes(1)))
struct MsgQueueOpenTests {
  @Test("create reads its attributes back from the kernel")
  func createReadsAttributes() throws {
    try withQueue { queue throws in
      #expect(queue.maxMessages == 4)
      #expect(queue.messageSize == 64)
      let attributes = try queue.attributes()
      #expect(attributes == .init(maxMessages: 4, messageSize: 64, currentMessages: 0, isNonBlocking: false))
    }
  }

  @Test("create on an existing queue opens it and keeps the old attributes (mq_open(3) O_CREAT)")
  func createExistingKeepsAttributes() throws {
    try withQueue { first throws in
      let second = try MsgQueue.create(first.name.rawValue, maxMessages: 8, messageSize: 128)
      #expect(second.maxMessages == 4)
      #expect(second.messageSize == 64)
      #expect(try second.attributes().messageSize == 64)
      // The convenience receive is sized from the real size: a 64-byte message fits.
      try first.send([UInt8](repeating: 7, count: 64))
      #expect(try second.receive().bytes.count == 64)
    }
  }

  @Test("createExclusive fails with EEXIST when the name is taken")
  func exclusiveExisting() throws {
    try withQueue { queue throws in
      let error = hinixError {
        _ = try MsgQueue.createExclusive(queue.name.rawValue, maxMessages: 4, messageSize: 64)
      }
      #expect(error?.errno == .fileExists)
      #expect(error?.operation == .mqOpen)
      #expect(error?.queueName == queue.name.rawValue)
    }
  }

  @Test("open of a missing queue fails with ENOENT and says to create it")
  func openMissing() {
    let error = hinixError { _ = try MsgQueue.open(uniqueName("missing")) }
    #expect(error?.errno == .noSuchFileOrDirectory)
    #expect(error?.detail?.contains("create") == true)
  }

  @Test("Two opens of one name share one queue")
  func sharedByName() throws {
    try withQueue { queue throws in
      let other = try MsgQueue.open(queue.name.rawValue, access: .writeOnly)
      try other.send("hello")
      #expect(try queue.receiveString() == "hello")
    }
  }

  @Test("unlink removes the name; the open queue lives on until closed")
  func unlinkKeepsOpenQueue() throws {
    let name = uniqueName("u")
    let queue = try MsgQueue(name, options: .exclusive, capacity: small)
    try MsgQueue.unlink(name)
    #expect(hinixError { _ = try MsgQueue.open(name) }?.errno == .noSuchFileOrDirectory)
    try queue.send("still here")
    #expect(try queue.receiveString() == "still here")
  }

  @Test("unlink of a missing queue fails with ENOENT")
  func unlinkMissing() {
    let error = hinixError { try MsgQueue.unlink(uniqueName("gone")) }
    #expect(error?.errno == .noSuchFileOrDirectory)
    #expect(error?.operation == .mqUnlink)
  }

  @Test("A new queue is owner-only (0600) by default")
  func defaultPermissions() throws {
    try withQueue { queue throws in
      var info = stat()
      #expect(fstat(queue.descriptor.rawValue, &info) == 0)
      #expect(info.st_mode & 0o7777 == 0o600)
    }
  }

  @Test("Permissions asked for are applied (less the umask)")
  func customPermissions() throws {
    let name = uniqueName("p")
    let queue = try MsgQueue(name, options: .exclusive, permissions: [.ownerReadWrite, .groupRead], capacity: small)
    defer { try? MsgQueue.unlink(name) }
    var info = stat()
    #expect(fstat(queue.descriptor.rawValue, &info) == 0)
    let mask = umask(0)
    umask(mask)
    #expect(info.st_mode & 0o7777 == 0o640 & ~mask)
  }

  @Test("Every queue descriptor is close-on-exec")
  func closeOnExecAlways() throws {
    try withQueue { queue throws in
      #expect(closeOnExec(queue.descriptor))
      let again = try MsgQueue.open(queue.name.rawValue)
      #expect(closeOnExec(again.descriptor))
    }
  }

  @Test("close is idempotent, and calls after it fail with EBADF")
  func closeOnce() throws {
    try withQueue { queue throws in
      #expect(!queue.isClosed)
      try queue.close()
      try queue.close()
      #expect(queue.isClosed)
      let error = hinixError { try queue.send("late") }
      #expect(error?.errno == .badFileDescriptor)
      #expect(error?.detail?.contains("closed") == true)
      #expect(hinixError { _ = try queue.withDescriptor { $0 } }?.errno == .badFileDescriptor)
    }
  }

  @Test("Closing while another thread is blocked in a receive waits for that call")
  func closeDuringBlockedReceive() async throws {
    try await withQueue { queue async throws in
      let receiver = Task { try await onThread { try queue.receiveString() } }
      // Once the receive is in flight, close: the descriptor must stay open for it.
      while queue.guarded.callsInFlight == 0 { try await Task.sleep(for: .milliseconds(5)) }
      try queue.close()
      #expect(queue.guarded.callsInFlight == 1)
      #expect(fcntl(queue.guarded.rawValue, F_GETFD) != -1, "closed under a call in flight")
      #expect(queue.isClosed)
      let sender = try MsgQueue.open(queue.name.rawValue, access: .writeOnly)
      try sender.send("wake")
      #expect(try await receiver.value == "wake")
      #expect(queue.guarded.callsInFlight == 0)
    }
  }
}

@Suite("MsgQueue: sending and receiving", .timeLimit(.minutes(1)))
struct MsgQueueTransferTests {
  @Test("Bytes and priority round-trip")
  func roundTrip() throws {
    try withQueue { queue throws in
      try queue.send([1, 2, 3, 0, 255], priority: 9)
      let message = try queue.receive()
      #expect(message.bytes == [1, 2, 3, 0, 255])
      #expect(message.priority == 9)
    }
  }

  @Test("An empty message round-trips")
  func emptyMessage() throws {
    try withQueue { queue throws in
      try queue.send([UInt8](), priority: 1)
      let message = try queue.receive()
      #expect(message.bytes.isEmpty)
      #expect(message.priority == 1)
    }
  }

  @Test("Highest priority first (mq_overview(7), mq_send(3))")
  func priorityOrder() throws {
    try withQueue { queue throws in
      for priority: UInt32 in [1, 32767, 0, 5] { try queue.send([UInt8(priority % 256)], priority: priority) }
      let order = try (0..<4).map { _ in try queue.receive().priority }
      #expect(order == [32767, 5, 1, 0])
    }
  }

  @Test("FIFO within one priority")
  func fifoWithinPriority() throws {
    try withQueue { queue throws in
      for index: UInt8 in 0..<4 { try queue.send([index], priority: index % 2 == 0 ? 3 : 7) }
      let order = try (0..<4).map { _ in try queue.receive().bytes[0] }
      #expect(order == [1, 3, 0, 2])
    }
  }

  @Test("Priority 32768 is rejected with EINVAL before the kernel is called")
  func priorityOutOfRange() throws {
    try withQueue { queue throws in
      let error = hinixError { try queue.send("x", priority: 32768) }
      #expect(error?.errno == .invalidArgument)
      #expect(error?.limit == .priority(requested: 32768, maximum: 32768))
      #expect(try queue.attributes().currentMessages == 0)
      #expect(MsgQueue.priorityLimit == 32768)
      #expect(MsgQueue.priorityLimit == UInt32(CHinix_MQ_PRIO_MAX), "the literal must match MQ_PRIO_MAX")
    }
  }

  @Test("A message longer than the queue's message size fails with EMSGSIZE, naming both sizes")
  func sendTooLong() throws {
    try withQueue { queue throws in
      let error = hinixError { try queue.send([UInt8](repeating: 1, count: 65)) }
      #expect(error?.errno == .messageTooLong)
      #expect(error?.detail == "the message is 65 bytes and the queue's message size is 64")
    }
  }

  @Test("A receive buffer smaller than the message size fails with EMSGSIZE and leaves the message queued")
  func receiveShortBuffer() throws {
    try withQueue { queue throws in
      try queue.send("hi")
      var buffer = [UInt8](repeating: 0, count: 63)
      let error = hinixError { _ = try buffer.withUnsafeMutableBytes { try queue.receive(into: $0) } }
      #expect(error?.errno == .messageTooLong)
      #expect(error?.detail?.contains("63 bytes") == true)
      #expect(try queue.attributes().currentMessages == 1)
    }
  }

  @Test("receive(into:) returns the length and priority, in the caller's buffer")
  func receiveIntoBuffer() throws {
    try withQueue { queue throws in
      try queue.send("abc", priority: 4)
      var buffer = [UInt8](repeating: 0, count: 64)
      let got = try buffer.withUnsafeMutableBytes { try queue.receive(into: $0) }
      #expect(got == .init(count: 3, priority: 4))
      #expect(Array(buffer[..<3]) == Array("abc".utf8))
    }
  }

  @Test("Sending from a raw buffer, a slice, a UTF-8 view and a non-contiguous sequence")
  func sendKinds() throws {
    try withQueue { queue throws in
      let bytes: [UInt8] = [10, 20, 30, 40]
      try bytes.withUnsafeBytes { try queue.send($0, priority: 1) }
      try queue.send(bytes[1...], priority: 1)
      try queue.send("hé".utf8, priority: 1)
      try queue.send((0..<3).lazy.map { UInt8($0 * 2) }, priority: 1)
      #expect(try queue.receive().bytes == [10, 20, 30, 40])
      #expect(try queue.receive().bytes == [20, 30, 40])
      #expect(try queue.receive().text == "hé")
      #expect(try queue.receive().bytes == [0, 2, 4])
    }
  }

  @Test("Text that is not UTF-8 is received with replacement characters; the bytes stay exact")
  func invalidUTF8() throws {
    try withQueue { queue throws in
      try queue.send([0x61, 0xFF, 0x62])
      let message = try queue.receive()
      #expect(message.bytes == [0x61, 0xFF, 0x62])
      #expect(message.text == "a\u{FFFD}b")
    }
  }

  @Test("trySend reports a full queue without setting O_NONBLOCK")
  func trySendFull() throws {
    try withQueue { queue throws in
      for index in 0..<4 { #expect(try queue.trySend([UInt8(index)])) }
      #expect(try queue.trySend([9]) == false)
      #expect(try queue.attributes().isNonBlocking == false)
      #expect(statusFlags(queue.descriptor) & O_NONBLOCK == 0)
      #expect(try queue.attributes().currentMessages == 4)
    }
  }

  @Test("tryReceive reports an empty queue with nil")
  func tryReceiveEmpty() throws {
    try withQueue { queue throws in
      #expect(try queue.tryReceive() == nil)
      var buffer = [UInt8](repeating: 0, count: 64)
      #expect(try buffer.withUnsafeMutableBytes { try queue.tryReceive(into: $0) } == nil)
      try queue.send("x", priority: 2)
      #expect(try queue.tryReceive() == .init(bytes: [0x78], priority: 2))
    }
  }

  @Test("A non-blocking queue fails with EAGAIN when full and when empty")
  func nonBlockingEAGAIN() throws {
    try withQueue(options: .nonBlocking) { queue throws in
      #expect(try queue.attributes().isNonBlocking)
      let empty = hinixError { _ = try queue.receive() }
      #expect(empty?.errno == .resourceTemporarilyUnavailable)
      #expect(empty?.detail == "the queue is empty")
      for _ in 0..<4 { try queue.send("x") }
      let full = hinixError { try queue.send("x") }
      #expect(full?.errno == .resourceTemporarilyUnavailable)
      #expect(full?.detail == "the queue is full")
    }
  }

  @Test("setNonBlocking switches the flag and reports the old one (mq_setattr(3))")
  func setNonBlocking() throws {
    try withQueue { queue throws in
      #expect(try queue.setNonBlocking(true) == false)
      #expect(try queue.attributes().isNonBlocking)
      #expect(hinixError { _ = try queue.receive() }?.errno == .resourceTemporarilyUnavailable)
      #expect(try queue.setNonBlocking(false) == true)
      #expect(try queue.attributes().isNonBlocking == false)
    }
  }

  @Test("A timed receive on an empty queue fails with ETIMEDOUT after the timeout")
  func receiveTimeout() throws {
    try withQueue { queue throws in
      let clock = ContinuousClock()
      let start = clock.now
      let error = hinixError { _ = try queue.receive(timeout: .milliseconds(50)) }
      #expect(error?.errno == .timedOut)
      #expect(error?.operation == .mqTimedReceive)
      #expect(start.duration(to: clock.now) >= .milliseconds(45))
    }
  }

  @Test("A timed send on a full queue fails with ETIMEDOUT")
  func sendTimeout() throws {
    try withQueue { queue throws in
      for _ in 0..<4 { try queue.send("x") }
      let error = hinixError { try queue.send("y", timeout: .milliseconds(20)) }
      #expect(error?.errno == .timedOut)
      #expect(error?.detail == "the queue stayed full until the deadline")
      let deadline = hinixError { try queue.send("y".utf8, deadline: .expired) }
      #expect(deadline?.errno == .timedOut)
    }
  }

  @Test("Deadline variants succeed when the queue is ready, even with a past deadline")
  func deadlineWhenReady() throws {
    try withQueue { queue throws in
      try queue.send("now".utf8, priority: 3, deadline: .expired)
      #expect(try queue.receive(deadline: .expired) == .init(bytes: Array("now".utf8), priority: 3))
      try queue.send("later".utf8, timeout: .seconds(1))
      var buffer = [UInt8](repeating: 0, count: 64)
      let got = try buffer.withUnsafeMutableBytes { try queue.receive(into: $0, deadline: .after(.seconds(1))) }
      #expect(got.count == 5)
    }
  }

  @Test("A timeout of practically forever works: no overflow, the kernel accepts the deadline")
  func hugeTimeout() throws {
    try withQueue { queue throws in
      try queue.send("x", timeout: .seconds(Int64.max))
      #expect(try queue.receive(timeout: .seconds(Int64.max)).text == "x")
    }
  }

  @Test("A blocked receive is woken by a send from another thread")
  func blockedReceiveWakes() async throws {
    try await withQueue { queue async throws in
      let receiver = Task { try await onThread { try queue.receive() } }
      try await Task.sleep(for: .milliseconds(50))
      try queue.send("ping", priority: 11)
      let message = try await receiver.value
      #expect(message.text == "ping")
      #expect(message.priority == 11)
    }
  }

  @Test("A blocked send on a full queue is woken by a receive")
  func blockedSendWakes() async throws {
    try await withQueue { queue async throws in
      for _ in 0..<4 { try queue.send("x") }
      let sender = Task { try await onThread { try queue.send("last") } }
      try await Task.sleep(for: .milliseconds(50))
      #expect(try queue.receiveString() == "x")
      try await sender.value
      #expect(try queue.attributes().currentMessages == 4)
    }
  }

  @Test("A read-only descriptor cannot send (EBADF); a write-only one cannot receive")
  func accessModes() throws {
    try withQueue { queue throws in
      let reader = try MsgQueue.open(queue.name.rawValue, access: .readOnly)
      let writer = try MsgQueue.open(queue.name.rawValue, access: .writeOnly)
      let sendError = hinixError { try reader.send("x") }
      #expect(sendError?.errno == .badFileDescriptor)
      #expect(sendError?.detail == "the queue was opened read-only (O_RDONLY)")
      let receiveError = hinixError { _ = try writer.receive() }
      #expect(receiveError?.errno == .badFileDescriptor)
      #expect(receiveError?.detail == "the queue was opened write-only (O_WRONLY)")
      try writer.send("ok")
      #expect(try reader.receiveString() == "ok")
    }
  }

  @Test("Many threads sending and receiving deliver every message exactly once")
  func concurrentExactlyOnce() async throws {
    try await withQueue(capacity: .init(maxMessages: 8, messageSize: 16)) { queue in
      let producers = 4
      let perProducer = 250
      let received = try await withThrowingTaskGroup(of: [UInt32].self) { group in
        for producer in 0..<producers {
          group.addTask {
            try await onThread {
              for index in 0..<perProducer {
                let value = UInt32(producer * perProducer + index)
                try withUnsafeBytes(of: value) { try queue.send($0, priority: UInt32(index % 3)) }
              }
              return []
            }
          }
        }
        for _ in 0..<2 {
          group.addTask {
            try await onThread {
              var got: [UInt32] = []
              for _ in 0..<(producers * perProducer / 2) {
                let message = try queue.receive()
                got.append(message.bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) })
              }
              return got
            }
          }
        }
        return try await group.reduce(into: []) { $0 += $1 }
      }
      #expect(received.count == producers * perProducer)
      #expect(Set(received) == Set(0..<UInt32(producers * perProducer)))
    }
  }
}
