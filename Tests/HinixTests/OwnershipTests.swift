// takeDescriptor(), inheritable queues, and handing a queue to a spawned child.
import CHinix
import Synchronization
import SystemPackage
import Testing

@testable import Hinix

#if canImport(Glibc)
  import Glibc
#endif

/// Suspends (never blocking a pool thread) until a call holds the
/// descriptor; throws after 2 minutes, to catch a hang.
func untilCallInFlight(_ guarded: GuardedDescriptor) async throws {
  let clock = ContinuousClock()
  let deadline = clock.now + .seconds(120)
  while guarded.callsInFlight == 0 {
    guard clock.now < deadline else { throw ToolRunError(message: "no call came to use the descriptor") }
    try await Task.sleep(for: .milliseconds(1))
  }
}

@Suite("Giving descriptors back and inheriting them", .timeLimit(.minutes(2)))
struct OwnershipTests {
  @Test("takeDescriptor() returns the open queue descriptor; the object is closed and never closes it")
  func takeQueue() throws {
    let name = uniqueName("take")
    var fd: FileDescriptor?
    do {
      let queue = try MsgQueue.createExclusive(name, maxMessages: 4, messageSize: 64)
      defer { _ = CHinix_mq_unlink(name) }
      try queue.send("kept")
      let original = queue.descriptor
      fd = try queue.takeDescriptor()
      #expect(fd == original)
      #expect(queue.isClosed)
      #expect(hinixError { _ = try queue.tryReceive() }?.errno == .badFileDescriptor)
      #expect(hinixError { _ = try queue.takeDescriptor() }?.errno == .badFileDescriptor)
      try queue.close()  // does nothing: the descriptor is no longer the object's
    }
    // The object is gone; its deinit did not close the descriptor either.
    let taken = try #require(fd)
    let adopted = try MsgQueue(adopting: taken)
    #expect(adopted.name.rawValue == name)
    #expect(try adopted.tryReceive()?.text == "kept")
    try adopted.close()
  }

  @Test("takeDescriptor() fails with EBUSY while a call is in flight, and works once it returned")
  func takeWhileBusy() async throws {
    try await withQueue("busy") { queue in
      let receiver = Task.detached { try await onThread { try queue.receive().text } }
      try await untilCallInFlight(queue.guarded)
      let error = hinixError { _ = try queue.takeDescriptor() }
      #expect(error?.errno == .resourceBusy)
      #expect(error?.detail?.contains("in flight") == true)
      #expect(!queue.isClosed)
      // A second descriptor wakes the receiver: the first is still usable.
      let sender = try MsgQueue.open(queue.name.rawValue, access: .writeOnly)
      try sender.send("wake")
      #expect(try await receiver.value == "wake")
      let fd = try queue.takeDescriptor()
      #expect(CHinix_mq_close(fd.rawValue) == 0)
    }
  }

  @Test("takeDescriptor() fails with EBUSY while an async receive waits")
  func takeWhileAsyncWaits() async throws {
    try await withQueue("busy-async") { queue in
      let receiver = Task { try await queue.async.receive() }
      try await untilCallInFlight(queue.guarded)
      #expect(hinixError { _ = try queue.takeDescriptor() }?.errno == .resourceBusy)
      receiver.cancel()
      _ = await receiver.result
      let fd = try queue.takeDescriptor()
      #expect(CHinix_mq_close(fd.rawValue) == 0)
    }
  }

  @Test("takeDescriptor() after close() fails with EBADF")
  func takeAfterClose() throws {
    try withQueue("closed") { queue in
      try queue.close()
      #expect(hinixError { _ = try queue.takeDescriptor() }?.errno == .badFileDescriptor)
    }
  }

  @Test("EventFd.takeDescriptor() keeps the counter's descriptor open after the object is gone")
  func takeEventFd() throws {
    var fd: FileDescriptor?
    do {
      let event = try EventFd(initialValue: 5)
      fd = try event.takeDescriptor()
      #expect(event.isClosed)
      #expect(hinixError { _ = try event.read() }?.errno == .badFileDescriptor)
    }
    let adopted = try EventFd(adopting: try #require(fd))
    #expect(try adopted.read() == 5)
    try adopted.close()
  }

  @Test("Pipe.End.takeDescriptor() leaves the pipe end open for its new owner")
  func takePipeEnd() throws {
    let pipe = try Pipe()
    let writer = try pipe.writer.takeDescriptor()
    #expect(pipe.writer.isClosed)
    #expect(hinixError { _ = try pipe.writer.write(UnsafeRawBufferPointer(start: nil, count: 0)) }?.errno == .badFileDescriptor)
    let bytes: [UInt8] = Array("hand-off".utf8)
    #expect(bytes.withUnsafeBytes { Glibc.write(writer.rawValue, $0.baseAddress, $0.count) } == bytes.count)
    #expect(Glibc.close(writer.rawValue) == 0)
    #expect(try pipe.reader.readToEnd() == bytes)
  }

  @Test("Queues are close-on-exec unless opened .inheritable; setInheritable switches it")
  func inheritableFlag() throws {
    try withQueue("cloexec") { queue in
      #expect(closeOnExec(queue.descriptor))
      #expect(try !queue.isInheritable())
      try queue.setInheritable(true)
      #expect(!closeOnExec(queue.descriptor))
      #expect(try queue.isInheritable())
      try queue.setInheritable(false)
      #expect(closeOnExec(queue.descriptor))
    }
    try withQueue("inheritable", options: .inheritable) { queue in
      #expect(!closeOnExec(queue.descriptor))
      #expect(try queue.isInheritable())
      // Inheritable descriptors reach every child the test process spawns
      // meanwhile (other tests' too): keep them so briefly.
      let event = try EventFd()
      #expect(closeOnExec(event.descriptor))
      try event.setInheritable(true)
      #expect(!closeOnExec(event.descriptor))
      try event.setInheritable(false)
      #expect(closeOnExec(event.descriptor))
      try event.close()
      let pipe = try Pipe()
      try pipe.reader.setInheritable(true)
      #expect(!closeOnExec(pipe.reader.descriptor))
      #expect(closeOnExec(pipe.writer.descriptor))
      try pipe.reader.setInheritable(false)
      #expect(closeOnExec(pipe.reader.descriptor))
      try queue.close()
      #expect(hinixError { try queue.setInheritable(false) }?.errno == .badFileDescriptor)
    }
  }

  /// Sends "ping" and spawns the hand-off child with the queue descriptor's
  /// number; returns the child's result and what the queue holds afterwards.
  private func handOff(_ queue: MsgQueue) async throws -> (ToolResult, String?) {
    try queue.send("ping")
    let number = queue.descriptor.rawValue
    let result = try await onThread {
      try run("hinix-test-helper", ["adopt", "\(number)"], timeout: .seconds(90))
    }
    let left = try queue.tryReceive()?.text
    #expect(try queue.tryReceive() == nil)
    return (result, left)
  }

  @Test("A queue opened .inheritable is adopted by a spawned child through its descriptor")
  func handOffInheritable() async throws {
    try await withQueue("handoff", options: .inheritable) { queue in
      let (result, reply) = try await handOff(queue)
      #expect(result.status == 0, "\(result)")
      #expect(result.out == "adopted \(queue.name)\n", "\(result)")
      #expect(reply == "pong ping from \(queue.name)")
    }
  }

  @Test("setInheritable(true) on an open queue hands it to a spawned child")
  func handOffAfterSetInheritable() async throws {
    try await withQueue("handoff-set") { queue in
      try queue.setInheritable(true)
      let (result, reply) = try await handOff(queue)
      #expect(result.status == 0, "\(result)")
      #expect(reply == "pong ping from \(queue.name)")
    }
  }

  @Test("A close-on-exec queue does not reach the child, which fails to adopt its number")
  func noHandOffByDefault() async throws {
    try await withQueue("handoff-none") { queue in
      let (result, reply) = try await handOff(queue)
      #expect(result.status == 3, "\(result)")
      #expect(result.err.contains("EBADF"), "\(result)")
      #expect(reply == "ping")  // the message stayed: nobody received it
    }
  }
}
