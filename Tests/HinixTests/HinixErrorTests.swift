// HinixError's shape: an immutable value whose operation is a type, thrown
// with typed throws by every synchronous call.
import SystemPackage
import Testing

@testable import Hinix

/// The error type of `body`, whose closure is written `() throws(HinixError)`:
/// it compiles only if every call in it throws `HinixError` and nothing else
/// (an untyped call would be an error converting `any Error`).
private func thrownType<E: Error>(_ body: () throws(E) -> Void) -> E.Type { E.self }

@Suite("HinixError")
struct HinixErrorTests {
  @Test("An operation's description is the C function's name, so messages are unchanged")
  func operationNames() {
    let names: [(HinixError.Operation, String)] = [
      (.mqOpen, "mq_open"), (.mqClose, "mq_close"), (.mqUnlink, "mq_unlink"),
      (.mqSend, "mq_send"), (.mqTimedSend, "mq_timedsend"), (.mqReceive, "mq_receive"),
      (.mqTimedReceive, "mq_timedreceive"), (.mqGetAttr, "mq_getattr"),
      (.mqSetAttr, "mq_setattr"), (.mqNotify, "mq_notify"), (.eventfd, "eventfd"),
      (.pipe2, "pipe2"), (.read, "read"), (.preadv2, "preadv2"), (.write, "write"),
      (.close, "close"), (.poll, "poll"), (.fcntl, "fcntl"), (.readlink, "readlink"),
      (.epollCreate1, "epoll_create1"), (.epollCtl, "epoll_ctl"), (.epollWait, "epoll_wait"),
      (.pthreadCreate, "pthread_create"), (.validation, "validation"),
    ]
    for (operation, name) in names {
      #expect(operation.description == name)
      #expect(operation.rawValue == name)
      #expect(HinixError.Operation(rawValue: name) == operation)
    }
    #expect(Set(names.map(\.0)).count == names.count)
    let error = HinixError(.timedOut, operation: .mqTimedReceive, queueName: "/q", detail: "none came")
    #expect(error.description == "mq_timedreceive(\"/q\"): Timed out (ETIMEDOUT): none came")
    let custom = HinixError(.notPermitted, operation: .init(rawValue: "fsopen(\"mqueue\")"))
    #expect(custom.description == "fsopen(\"mqueue\"): Operation not permitted (EPERM)")
  }

  @Test("A validation error reads as an invalid argument, as before")
  func validationDescription() {
    let error = hinixError { _ = try MsgQueueName("jobs") }
    #expect(error?.operation == .validation)
    #expect(
      error?.description
        == "invalid argument \"jobs\": Invalid argument (EINVAL): a queue name must start with \"/\" (try \"/jobs\")")
  }

  @Test("withDetail returns a copy with another detail and the same everything else")
  func withDetail() {
    let original = HinixError(
      .tooManyOpenFiles, operation: .mqOpen, queueName: "/q", limit: .descriptors(limit: 64),
      detail: "first")
    let changed = original.withDetail("second")
    #expect(original.detail == "first")
    #expect(changed.detail == "second")
    #expect(changed.errno == original.errno)
    #expect(changed.operation == original.operation)
    #expect(changed.queueName == original.queueName)
    #expect(changed.limit == original.limit)
    #expect(changed == HinixError(
      .tooManyOpenFiles, operation: .mqOpen, queueName: "/q", limit: .descriptors(limit: 64),
      detail: "second"))
    #expect(original.withDetail(nil).detail == nil)
  }

  @Test("The synchronous calls are declared to throw HinixError and nothing else")
  func typedThrows() throws {
    try withQueue("typed") { queue in
      var buffer = [UInt8](repeating: 0, count: queue.messageSize)
      #expect(thrownType { () throws(HinixError) in _ = try MsgQueue.open(queue.name.rawValue) } == HinixError.self)
      #expect(thrownType { () throws(HinixError) in _ = try MsgQueue(queue.name) } == HinixError.self)
      #expect(thrownType { () throws(HinixError) in try queue.send("x") } == HinixError.self)
      #expect(thrownType { () throws(HinixError) in _ = try queue.trySend([1, 2], priority: 1) } == HinixError.self)
      #expect(thrownType { () throws(HinixError) in try queue.send("x", timeout: .zero) } == HinixError.self)
      #expect(thrownType { () throws(HinixError) in _ = try queue.receive() } == HinixError.self)
      #expect(thrownType { () throws(HinixError) in _ = try queue.tryReceive() } == HinixError.self)
      #expect(thrownType { () throws(HinixError) in _ = try queue.receive(timeout: .zero) } == HinixError.self)
      #expect(thrownType { () throws(HinixError) in _ = try queue.receive(deadline: .expired) } == HinixError.self)
      #expect(
        thrownType { () throws(HinixError) in
          _ = try buffer.withUnsafeMutableBufferPointer { pointer throws(HinixError) in
            try queue.tryReceive(into: UnsafeMutableRawBufferPointer(pointer))
          }
        } == HinixError.self)
      #expect(thrownType { () throws(HinixError) in _ = try queue.attributes() } == HinixError.self)
      #expect(thrownType { () throws(HinixError) in _ = try queue.status() } == HinixError.self)
      #expect(thrownType { () throws(HinixError) in try queue.cancelNotification() } == HinixError.self)
      #expect(thrownType { () throws(HinixError) in try MsgQueue.unlink("/hinix-no-such-queue-typed") } == HinixError.self)
      #expect(thrownType { () throws(HinixError) in _ = try EventFd().tryRead() } == HinixError.self)
      #expect(thrownType { () throws(HinixError) in _ = try EventFd().read(timeout: .zero) } == HinixError.self)
      #expect(thrownType { () throws(HinixError) in _ = try Pipe().reader.readToEnd(limit: 0) } == HinixError.self)
      #expect(thrownType { () throws(HinixError) in _ = try MsgQueueName(addingSlashTo: "x") } == HinixError.self)
      #expect(HinixError.self == MsgQueue.Messages.Failure.self)
    }
    // A catch needs no cast: the error is a HinixError.
    let event = try EventFd()
    do {
      _ = try event.read(timeout: .zero)
      Issue.record("the counter was zero")
    } catch {
      #expect(error.errno == .timedOut)
      #expect(error.operation == .read)
    }
  }
}
