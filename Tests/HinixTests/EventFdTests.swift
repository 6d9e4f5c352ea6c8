import CHinix
import SystemPackage
import Testing

@testable import Hinix

#if canImport(Glibc)
  import Glibc
#endif

@Suite("EventFd (eventfd(2))", .timeLimit(.minutes(1)))
struct EventFdTests {
  @Test("Counter mode: writes add up, a read returns the sum and resets it")
  func counterMode() throws {
    let event = try EventFd()
    try event.write(3)
    try event.write(4)
    #expect(try event.read() == 7)
    #expect(try event.tryRead() == nil)
  }

  @Test("The initial value is the counter's start")
  func initialValue() throws {
    let event = try EventFd(initialValue: 5)
    #expect(try event.read() == 5)
    let widest = try EventFd(initialValue: .max)
    #expect(try widest.read() == UInt64(UInt32.max))
  }

  @Test("Semaphore mode: each read returns 1 and decrements")
  func semaphoreMode() throws {
    let event = try EventFd.semaphore(initialValue: 3)
    #expect(event.options.contains(.semaphore))
    #expect(try (0..<3).map { _ in try event.read() } == [1, 1, 1])
    #expect(try event.tryRead() == nil)
    try event.write(2)
    #expect(try event.read() == 1)
    #expect(try event.read() == 1)
  }

  @Test("The counter saturates at 0xfffffffffffffffe: one more would block (EAGAIN when non-blocking)")
  func saturation() throws {
    #expect(EventFd.maximumValue == CHinix_EVENTFD_MAX, "the literal must match the C shim's value")
    let event = try EventFd(options: .nonBlocking)
    try event.write(EventFd.maximumValue)
    let error = hinixError { try event.write(1) }
    #expect(error?.errno == .resourceTemporarilyUnavailable)
    #expect(error?.detail?.contains("0xfffffffffffffffe") == true)
    #expect(try event.read() == 0xffff_ffff_ffff_fffe)
  }

  @Test("Writing 0xffffffffffffffff fails with EINVAL")
  func writeMaxIsInvalid() throws {
    let event = try EventFd()
    let error = hinixError { try event.write(.max) }
    #expect(error?.errno == .invalidArgument)
    #expect(error?.operation == .write)
    #expect(try event.tryRead() == nil)
  }

  @Test("A non-blocking read of a zero counter fails with EAGAIN")
  func nonBlockingRead() throws {
    let event = try EventFd(options: .nonBlocking)
    #expect(hinixError { _ = try event.read() }?.errno == .resourceTemporarilyUnavailable)
    #expect(statusFlags(event.descriptor) & O_NONBLOCK != 0)
  }

  @Test("tryRead does not set O_NONBLOCK on a blocking eventfd")
  func tryReadKeepsFlags() throws {
    let event = try EventFd()
    #expect(try event.tryRead() == nil)
    #expect(statusFlags(event.descriptor) & O_NONBLOCK == 0)
    try event.write(9)
    #expect(try event.tryRead() == 9)
  }

  @Test("A timed read of a zero counter fails with ETIMEDOUT after the timeout")
  func readTimeout() throws {
    let event = try EventFd()
    let clock = ContinuousClock()
    let start = clock.now
    let error = hinixError { _ = try event.read(timeout: .milliseconds(40)) }
    #expect(error?.errno == .timedOut)
    #expect(start.duration(to: clock.now) >= .milliseconds(40))
  }

  @Test("A blocked read is woken by a write from another thread")
  func blockedReadWakes() async throws {
    let event = try EventFd()
    let reader = Task { try await onThread { try event.read() } }
    try await Task.sleep(for: .milliseconds(50))
    try event.write(42)
    #expect(try await reader.value == 42)
  }

  @Test("A timed read is woken by a write before its timeout")
  func timedReadWakes() async throws {
    let event = try EventFd()
    let reader = Task { try await onThread { try event.read(timeout: .seconds(10)) } }
    try await Task.sleep(for: .milliseconds(30))
    try event.write(2)
    #expect(try await reader.value == 2)
  }

  @Test("waitUntilReadable reports readiness without consuming the count")
  func waitUntilReadable() throws {
    let event = try EventFd()
    #expect(try event.waitUntilReadable(timeout: .milliseconds(10)) == false)
    try event.write(1)
    #expect(try event.waitUntilReadable(timeout: .zero))
    #expect(try event.read() == 1)
  }

  @Test("The descriptor polls readable iff the counter is not zero")
  func pollable() throws {
    let event = try EventFd()
    #expect(readyEvents(event.descriptor) & Int16(POLLIN) == 0)
    #expect(readyEvents(event.descriptor) & Int16(POLLOUT) != 0)
    try event.write(1)
    #expect(readyEvents(event.descriptor) & Int16(POLLIN) != 0)
  }

  @Test("Close-on-exec by default; inheritable leaves it off")
  func closeOnExecFlags() throws {
    // Keep each object alive while its descriptor is inspected.
    let plain = try EventFd()
    let inheritable = try EventFd(options: .inheritable)
    try plain.withDescriptor { #expect(closeOnExec($0)) }
    try inheritable.withDescriptor { #expect(!closeOnExec($0)) }
  }

  @Test("duplicate shares the counter, is close-on-exec and closes on its own")
  func duplicate() throws {
    let event = try EventFd(options: .inheritable)
    let copy = try event.duplicate()
    #expect(copy.descriptor != event.descriptor)
    #expect(closeOnExec(copy.descriptor))
    try event.write(6)
    #expect(try copy.read() == 6)
    try copy.close()
    try event.write(1)
    #expect(try event.read() == 1)
  }

  @Test("close is idempotent, and reads after it fail with EBADF")
  func closeOnce() throws {
    let event = try EventFd()
    try event.close()
    try event.close()
    #expect(event.isClosed)
    #expect(hinixError { _ = try event.read() }?.errno == .badFileDescriptor)
    #expect(hinixError { try event.write(1) }?.errno == .badFileDescriptor)
  }
}

@Suite("Pipe (pipe(7))", .timeLimit(.minutes(1)))
struct PipeTests {
  @Test("Bytes written to the writer come out of the reader")
  func roundTrip() throws {
    let pipe = try Pipe()
    try pipe.writer.writeAll([1, 2, 3])
    var buffer = [UInt8](repeating: 0, count: 16)
    let count = try buffer.withUnsafeMutableBytes { try pipe.reader.read(into: $0) }
    #expect(Array(buffer[..<count]) == [1, 2, 3])
  }

  @Test("readToEnd returns everything once the writer is closed")
  func readToEnd() async throws {
    let pipe = try Pipe()
    let payload = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
    // More than the pipe's 64 KiB buffer: the writer must run beside the reader.
    let writer = Task {
      try await onThread {
        try pipe.writer.writeAll(payload)
        try pipe.writer.close()
      }
    }
    let bytes = try await onThread { try pipe.reader.readToEnd() }
    try await writer.value
    #expect(bytes == payload)
  }

  @Test("readToEnd refuses more than its limit")
  func readToEndLimit() throws {
    let pipe = try Pipe()
    try pipe.writer.writeAll([UInt8](repeating: 0, count: 100))
    try pipe.writer.close()
    #expect(hinixError { _ = try pipe.reader.readToEnd(limit: 10) }?.errno == .messageTooLong)
  }

  @Test("Both ends are close-on-exec")
  func closeOnExecEnds() throws {
    let pipe = try Pipe()
    #expect(closeOnExec(pipe.reader.descriptor))
    #expect(closeOnExec(pipe.writer.descriptor))
  }

  @Test("A non-blocking pipe fails with EAGAIN when empty")
  func nonBlocking() throws {
    let pipe = try Pipe(nonBlocking: true)
    var buffer = [UInt8](repeating: 0, count: 4)
    let error = hinixError { _ = try buffer.withUnsafeMutableBytes { try pipe.reader.read(into: $0) } }
    #expect(error?.errno == .resourceTemporarilyUnavailable)
  }

  @Test("Writing with the read end closed fails with EPIPE")
  func brokenPipe() throws {
    signal(SIGPIPE, SIG_IGN)
    let pipe = try Pipe()
    try pipe.reader.close()
    #expect(hinixError { try pipe.writer.writeAll([1]) }?.errno == .brokenPipe)
  }
}
