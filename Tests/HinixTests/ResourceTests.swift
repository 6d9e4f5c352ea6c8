import CAllocationCounter
import CHinix
import SystemPackage
import Testing

@testable import Hinix

#if canImport(Glibc)
  import Glibc
#endif

/// Why the allocation tests cannot run in this build, or nil: under a
/// sanitizer (`swift test --sanitize=thread|address`) the sanitizer owns
/// malloc, so the counter that interposes it is compiled out.
let allocationCounterUnavailable: Comment? = CAllocationCounter_sanitizer().map {
  "built with \(String(cString: $0)), which replaces malloc, so the allocation counter (Tests/CAllocationCounter) is compiled out"
}

@Suite("Resources: heap allocations and descriptors", .timeLimit(.minutes(1)))
struct ResourceTests {
  @Test(
    "Sending from a buffer and receiving into a buffer make no heap allocation",
    .disabled(if: allocationCounterUnavailable != nil, allocationCounterUnavailable))
  func noAllocationOnBufferPaths() throws {
    try #require(CAllocationCounter_isActive() != 0, "the malloc interposer must be in effect, or this test proves nothing")
    try withQueue(capacity: .init(maxMessages: 4, messageSize: 256)) { queue throws in
      let message = [UInt8](repeating: 0x5A, count: 200)
      var buffer = [UInt8](repeating: 0, count: 256)
      try message.withUnsafeBytes { source in
        try buffer.withUnsafeMutableBytes { target in
          // Warm up every path first: a first call may resolve its symbols
          // lazily or initialise a global (Deadline.expired), and either may
          // allocate once; the loop measures the steady state. (Warming only
          // send and receive once let 1 allocation through in a parallel run.)
          try queue.send(source, priority: 1)
          _ = try queue.receive(into: target)
          _ = try queue.trySend(source)
          _ = try queue.tryReceive(into: target)
          try queue.send(source, deadline: .expired)
          _ = try queue.receive(into: target, deadline: .expired)
          CAllocationCounter_start()
          for round in 0..<1000 {
            try queue.send(source, priority: UInt32(round % 7))
            _ = try queue.receive(into: target)
            _ = try queue.trySend(source)
            _ = try queue.tryReceive(into: target)
            try queue.send(source, deadline: .expired)
            _ = try queue.receive(into: target, deadline: .expired)
          }
          let allocations = CAllocationCounter_stop()
          #expect(allocations == 0, "\(allocations) allocations in 6,000 buffer operations")
        }
      }
      // The counter does see allocations the library makes elsewhere.
      try queue.send("x")
      CAllocationCounter_start()
      _ = try queue.receive()
      #expect(CAllocationCounter_stop() >= 1)
    }
  }

  @Test(
    "Sending an array's bytes and eventfd reads and writes make no heap allocation",
    .disabled(if: allocationCounterUnavailable != nil, allocationCounterUnavailable))
  func noAllocationArrayAndEventFd() throws {
    try #require(CAllocationCounter_isActive() != 0)
    let event = try EventFd()
    try withQueue { queue throws in
      let bytes: [UInt8] = [1, 2, 3, 4]
      func round() throws {
        try queue.send(bytes)
        _ = try queue.trySend(bytes[...])
        try event.write(2)
        _ = try event.read()
        _ = try event.tryRead()
        var buffer = (0 as UInt64, 0 as UInt64, 0 as UInt64, 0 as UInt64, 0 as UInt64, 0 as UInt64, 0 as UInt64, 0 as UInt64)
        _ = try withUnsafeMutableBytes(of: &buffer) { try queue.receive(into: $0) }
        _ = try withUnsafeMutableBytes(of: &buffer) { try queue.receive(into: $0) }
      }
      // Warm up: the runtime instantiates generic metadata on first use, once.
      try round()
      CAllocationCounter_start()
      for _ in 0..<1000 { try round() }
      let allocations = CAllocationCounter_stop()
      #expect(allocations == 0, "\(allocations) allocations")
    }
  }

  @Test("No descriptor is leaked, on success paths or error paths")
  func noDescriptorLeaks() async throws {
    await #expect(processExitsWith: .success) {
      signal(SIGPIPE, SIG_IGN)
      let before = descriptorTable()
      for round in 0..<20 {
        let name = "/hinix-leak-\(getpid())-\(round)"
        do {
          let queue = try MsgQueue(name, options: .exclusive, capacity: small)
          let reader = try MsgQueue(name, access: .readOnly)
          _ = hinixError { _ = try MsgQueue(name, options: .exclusive, capacity: small) }  // EEXIST
          _ = hinixError { try reader.send("x") }  // EBADF
          _ = hinixError { try queue.send([UInt8](repeating: 0, count: 65)) }  // EMSGSIZE
          _ = hinixError {  // EINVAL over msg_max
            _ = try MsgQueue(name + "b", options: .exclusive, capacity: .init(maxMessages: 1 << 20, messageSize: 1))
          }
          try queue.send("y")
          _ = try reader.receive()
          _ = try queue.status()
          try queue.requestNotification(.withoutSignal)
          try MsgQueue.unlink(name)
          if round % 2 == 0 { try queue.close() }
        }
        _ = hinixError { _ = try MsgQueue.open(name) }  // ENOENT
        do {
          let event = try EventFd()
          let copy = try event.duplicate()
          try copy.write(1)
          if round % 2 == 0 { try event.close() }
        }
        do {
          let pipe = try Pipe()
          try pipe.writer.writeAll([1])
          if round % 2 == 0 { try pipe.reader.close() }
        }
      }
      // A leak is a descriptor that appears. The harness may close one of its
      // own meanwhile, so compare additions, not equality; twenty rounds that
      // each open several descriptors cannot all hide in a slot it freed.
      let after = descriptorTable()
      let added = after.filter { before[$0.key] != $0.value }
      #expect(added.isEmpty, "before: \(before)\nafter: \(after)")
      #expect(!before.isEmpty)
    }
  }

  @Test("The counting method sees a leaked descriptor, so the leak test can fail")
  func leakDetectionWorks() async throws {
    await #expect(processExitsWith: .success) {
      let before = descriptorTable()
      let fd = CHinix_eventfd(0, CHinix_EFD_CLOEXEC)
      #expect(fd >= 0)
      var expected = before
      expected[fd] = "anon_inode:[eventfd]"
      #expect(descriptorTable() == expected)
      // An object that goes away closes its descriptor; a queue shows as its path.
      do { _ = try EventFd(initialValue: 1).tryRead() }
      #expect(descriptorTable() == expected)
      let name = "/hinix-detect-\(getpid())"
      let queue = try MsgQueue(name, options: .exclusive, capacity: small)
      try MsgQueue.unlink(name)
      #expect(descriptorTable()[queue.descriptor.rawValue]?.hasPrefix(name) == true)
    }
  }
}

