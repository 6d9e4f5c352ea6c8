// queue.incoming (a blocking Sequence) and MsgQueue.waitUntilReadable/Writable(timeout:).
import CHinix
import SystemPackage
import Testing

@testable import Hinix

#if canImport(Glibc)
  import Glibc
#endif

@Suite("Synchronous iteration and waiting", .timeLimit(.minutes(2)))
struct IterationTests {
  @Test("incoming yields the queued messages in order and ends, without error, when the loop closes the queue")
  func incomingEndsOnClose() throws {
    try withQueue("incoming") { queue in
      try queue.send("a", priority: 1)
      try queue.send("b", priority: 1)
      try queue.send("urgent", priority: 9)
      let incoming = queue.incoming
      var seen: [String] = []
      for message in incoming {
        seen.append(message.text)
        if seen.count == 3 { try queue.close() }
      }
      #expect(seen == ["urgent", "a", "b"])
      #expect(incoming.error == nil)
    }
  }

  @Test("incoming blocks for a message sent later by another thread")
  func incomingBlocks() async throws {
    try await withQueue("incoming-wait") { queue in
      let consumer = Task.detached {
        try await onThread { () -> [String] in
          var seen: [String] = []
          for message in queue.incoming {
            seen.append(message.text)
            if message.text == "stop" { try queue.close() }
          }
          return seen
        }
      }
      let sender = try MsgQueue.open(queue.name.rawValue, access: .writeOnly)
      for text in ["1", "2", "stop"] { try sender.send(text) }
      #expect(try await consumer.value == ["1", "2", "stop"])
    }
  }

  @Test("A receive failure other than close ends incoming and is kept in its error")
  func incomingKeepsError() throws {
    try withQueue("incoming-error") { queue in
      let writeOnly = try MsgQueue.open(queue.name.rawValue, access: .writeOnly)
      let incoming = writeOnly.incoming
      var count = 0
      for _ in incoming { count += 1 }
      #expect(count == 0)
      // EBADF from the kernel (a write-only descriptor), while the queue is open: an error.
      #expect(incoming.error?.errno == .badFileDescriptor)
      #expect(incoming.error?.operation == .mqReceive)
      #expect(!writeOnly.isClosed)
    }
  }

  @Test("nextMessage() throws the failure, returns nil after close, and nil after a throw")
  func nextMessageThrows() throws {
    try withQueue("next") { queue in
      let writeOnly = try MsgQueue.open(queue.name.rawValue, access: .writeOnly)
      var failing = writeOnly.incoming.makeIterator()
      #expect(hinixError { _ = try failing.nextMessage() }?.errno == .badFileDescriptor)
      #expect(try failing.nextMessage() == nil)

      try queue.send("one")
      var messages = queue.incoming.makeIterator()
      #expect(try messages.nextMessage()?.text == "one")
      try queue.close()
      #expect(try messages.nextMessage() == nil)
    }
  }

  @Test("waitUntilReadable(timeout:) is false on an empty queue and true once a message is queued")
  func waitReadable() throws {
    try withQueue("readable") { queue in
      #expect(try !queue.waitUntilReadable(timeout: .zero))
      #expect(try !queue.waitUntilReadable(timeout: .milliseconds(20)))
      try queue.send("x")
      #expect(try queue.waitUntilReadable(timeout: .zero))
      #expect(try queue.waitUntilReadable())
      #expect(try queue.attributes().currentMessages == 1)  // waiting received nothing
    }
  }

  @Test("waitUntilReadable() without a timeout returns when another thread sends")
  func waitReadableBlocks() async throws {
    try await withQueue("readable-wait") { queue in
      let waiter = Task.detached { try await onThread { try queue.waitUntilReadable() } }
      try queue.send("x")
      #expect(try await waiter.value)
    }
  }

  @Test("waitUntilWritable(timeout:) is true with room and false on a full queue")
  func waitWritable() throws {
    try withQueue("writable", capacity: .init(maxMessages: 1, messageSize: 16)) { queue in
      #expect(try queue.waitUntilWritable(timeout: .zero))
      try queue.send("full")
      #expect(try !queue.waitUntilWritable(timeout: .zero))
      #expect(try !queue.waitUntilWritable(timeout: .milliseconds(20)))
      _ = try queue.receive()
      #expect(try queue.waitUntilWritable(timeout: .zero))
    }
  }

  @Test("Waiting on a closed queue fails with EBADF")
  func waitClosed() throws {
    try withQueue("wait-closed") { queue in
      try queue.close()
      #expect(hinixError { _ = try queue.waitUntilReadable(timeout: .zero) }?.errno == .badFileDescriptor)
      #expect(hinixError { _ = try queue.waitUntilWritable() }?.errno == .badFileDescriptor)
    }
  }
}
