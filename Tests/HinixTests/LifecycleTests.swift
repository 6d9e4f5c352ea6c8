import CHinix
import SystemPackage
import Testing

@testable import Hinix

#if canImport(Glibc)
  import Glibc
#endif

@Suite("Lifecycle: temporary queues and adopted descriptors", .timeLimit(.minutes(1)))
struct LifecycleTests {
  @Test("A temporary queue exists during its scope and is unlinked after it, also on throw")
  func temporaryQueue() throws {
    struct Boom: Error {}
    var seen: MsgQueue?
    let text = try MsgQueue.withTemporary(maxMessages: 4, messageSize: 64) { queue in
      seen = queue
      #expect(queue.name.rawValue.hasPrefix("/hinix-tmp-\(getpid())-"))
      #expect(queue.maxMessages == 4 && queue.messageSize == 64)
      let other = try MsgQueue.open(queue.name.rawValue)  // another opener finds it
      try other.send("hi")
      return try queue.receiveString()
    }
    #expect(text == "hi")
    let name = try #require(seen).name.rawValue
    #expect(seen?.isClosed == true)
    #expect(hinixError { _ = try MsgQueue.open(name) }?.errno == .noSuchFileOrDirectory)

    var thrownName = ""
    #expect(throws: Boom.self) {
      try MsgQueue.withTemporary(maxMessages: 4, messageSize: 64) { queue in
        thrownName = queue.name.rawValue
        throw Boom()
      }
    }
    #expect(hinixError { _ = try MsgQueue.open(thrownName) }?.errno == .noSuchFileOrDirectory)
  }

  @Test("An async temporary queue is unlinked when its scope ends")
  func temporaryAsync() async throws {
    let name = try await MsgQueue.withTemporary(maxMessages: 4, messageSize: 64) { queue in
      try await queue.async.send("x")
      #expect(try await queue.async.receiveString() == "x")
      return queue.name.rawValue
    }
    #expect(hinixError { _ = try MsgQueue.open(name) }?.errno == .noSuchFileOrDirectory)
  }

  @Test("MsgQueue(adopting:) accepts a queue descriptor, with its name, access and size")
  func adoptQueue() throws {
    let name = uniqueName("adopt")
    let fd = CHinix_mq_open_attr(name, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600, 4, 64)
    try #require(fd >= 0)
    defer { _ = CHinix_mq_unlink(name) }
    let queue = try MsgQueue(adopting: FileDescriptor(rawValue: fd))
    #expect(queue.name.rawValue == name)
    #expect(queue.access == .readOnly)
    #expect(queue.maxMessages == 4 && queue.messageSize == 64)
    let writer = try MsgQueue.open(name, access: .writeOnly)
    try writer.send("adopted")
    #expect(try queue.receiveString() == "adopted")
    try queue.close()
    #expect(fcntl(fd, F_GETFD) == -1 || descriptorTable()[fd] != name)  // closed by the new owner
  }

  @Test("MsgQueue(adopting:) rejects a pipe and an eventfd, saying what they are")
  func adoptRejects() throws {
    var fds: [CInt] = [0, 0]
    try #require(CHinix_pipe2(&fds, O_CLOEXEC) == 0)
    defer { close(fds[0]); close(fds[1]) }
    let error = hinixError { _ = try MsgQueue(adopting: FileDescriptor(rawValue: fds[0])) }
    #expect(error?.errno == .badFileDescriptor)
    #expect(error?.detail == "descriptor \(fds[0]) is a pipe (FIFO), not a message queue")
    #expect(fcntl(fds[0], F_GETFD) != -1, "a rejected descriptor stays open")

    let event = try EventFd()
    let eventError = hinixError { _ = try MsgQueue(adopting: event.descriptor) }
    #expect(eventError?.detail == "descriptor \(event.descriptor.rawValue) is an eventfd, not a message queue")
    let closed = hinixError { _ = try MsgQueue(adopting: FileDescriptor(rawValue: 9999)) }
    #expect(closed?.errno == .badFileDescriptor)
    #expect(closed?.detail == "descriptor 9999 is not open")
  }

  @Test("EventFd(adopting:) accepts an eventfd, reading its mode, and rejects a pipe and a queue")
  func adoptEventFd() throws {
    let fd = CHinix_eventfd(3, CHinix_EFD_SEMAPHORE | CHinix_EFD_NONBLOCK | CHinix_EFD_CLOEXEC)
    try #require(fd >= 0)
    let event = try EventFd(adopting: FileDescriptor(rawValue: fd))
    #expect(event.options.contains(.semaphore))
    #expect(event.options.contains(.nonBlocking))
    #expect(!event.options.contains(.inheritable))
    #expect(try event.read() == 1)  // semaphore mode
    try event.close()

    var fds: [CInt] = [0, 0]
    try #require(CHinix_pipe2(&fds, O_CLOEXEC) == 0)
    defer { close(fds[0]); close(fds[1]) }
    let error = hinixError { _ = try EventFd(adopting: FileDescriptor(rawValue: fds[1])) }
    #expect(error?.errno == .invalidArgument)
    #expect(error?.detail == "descriptor \(fds[1]) is a pipe (FIFO), not an eventfd")
    try withQueue { queue in
      let queueError = hinixError { _ = try EventFd(adopting: queue.descriptor) }
      #expect(queueError?.detail?.hasPrefix("descriptor \(queue.descriptor.rawValue) is a message queue (/hinix-test-") == true)
    }
  }
}
