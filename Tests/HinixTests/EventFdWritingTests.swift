// EventFd.tryWrite, write(_:timeout:) and async.write.
import CHinix
import SystemPackage
import Testing

@testable import Hinix

#if canImport(Glibc)
  import Glibc
#endif

@Suite("Writing an eventfd without blocking", .timeLimit(.minutes(2)))
struct EventFdWritingTests {
  @Test("tryWrite adds when the value fits and returns false, changing nothing, when it does not")
  func tryWriteFits() throws {
    let event = try EventFd()
    let flags = statusFlags(event.descriptor)
    #expect(try event.tryWrite(3))
    #expect(try event.tryWrite())
    #expect(try event.read() == 4)
    // Fill to 2 below the maximum: 2 fits, 3 does not.
    #expect(try event.tryWrite(EventFd.maximumValue - 2))
    #expect(try !event.tryWrite(3))
    #expect(try event.tryWrite(2))
    #expect(try !event.tryWrite(1))
    #expect(try event.tryWrite(0))
    #expect(try event.read() == EventFd.maximumValue)
    #expect(statusFlags(event.descriptor) == flags)  // O_NONBLOCK untouched
    #expect(statusFlags(event.descriptor) & O_NONBLOCK == 0)
  }

  @Test("tryWrite on a full counter returns false for every size, also in semaphore mode")
  func tryWriteFull() throws {
    for event in [try EventFd(), try EventFd.semaphore()] {
      try event.write(EventFd.maximumValue)
      #expect(try !event.tryWrite(1))
      #expect(try !event.tryWrite(EventFd.maximumValue))
      #expect(try event.read() == (event.options.contains(.semaphore) ? 1 : EventFd.maximumValue))
      #expect(try event.tryWrite(1))
    }
  }

  @Test("tryWrite rejects 0xffffffffffffffff and a closed eventfd")
  func tryWriteErrors() throws {
    let event = try EventFd()
    let error = hinixError { _ = try event.tryWrite(.max) }
    #expect(error?.errno == .invalidArgument)
    #expect(error?.detail?.contains("0xfffffffffffffffe") == true)
    try event.close()
    #expect(hinixError { _ = try event.tryWrite(1) }?.errno == .badFileDescriptor)
  }

  @Test("write(_:timeout:) times out with ETIMEDOUT while the value does not fit")
  func writeTimesOut() throws {
    let event = try EventFd()
    try event.write(EventFd.maximumValue)
    let error = hinixError { try event.write(1, timeout: .milliseconds(30)) }
    #expect(error?.errno == .timedOut)
    // Writable (1 fits) but 5 does not: still a timeout, not a spin forever or a block.
    #expect(try event.read() == EventFd.maximumValue)
    try event.write(EventFd.maximumValue - 2)
    #expect(hinixError { try event.write(5, timeout: .milliseconds(30)) }?.errno == .timedOut)
    #expect(try event.read() == EventFd.maximumValue - 2)
  }

  @Test("write(_:timeout:) completes once a reader makes room")
  func writeWaitsForReader() async throws {
    let event = try EventFd()
    try event.write(EventFd.maximumValue - 1)
    let writer = Task.detached { try await onThread { try event.write(7, timeout: .seconds(60)) } }
    // The writer cannot finish before this read; once it does, the count is 7.
    #expect(try event.read() == EventFd.maximumValue - 1)
    try await writer.value
    #expect(try event.read() == 7)
  }

  @Test("async.write suspends while the value does not fit and completes after a read")
  func asyncWrite() async throws {
    let event = try EventFd()
    try await event.async.write(2)
    #expect(try event.read() == 2)
    try event.write(EventFd.maximumValue)
    let writer = Task { try await event.async.write(9) }
    #expect(try event.read() == EventFd.maximumValue)
    try await writer.value
    #expect(try event.read() == 9)
  }

  @Test("async.write ends with CancellationError when cancelled, and with EBADF when the eventfd closes")
  func asyncWriteEnds() async throws {
    let event = try EventFd()
    try event.write(EventFd.maximumValue)
    let cancelled = Task { try await event.async.write(1) }
    cancelled.cancel()
    await #expect(throws: CancellationError.self) { try await cancelled.value }

    let closed = Task { try await event.async.write(1) }
    try await untilCallInFlight(event.guarded)  // the writer waits in the reactor
    try event.close()
    let error = await #expect(throws: HinixError.self) { try await closed.value }
    #expect(error?.errno == .badFileDescriptor)
    #expect(event.isClosed)
  }
}
