// Queue names are bytes: MsgQueueName keeps them exactly, the library passes
// exactly them to the kernel, and shows them escaped.

import CHinix
import SystemPackage
import Testing

@testable import Hinix

#if canImport(Glibc)
  import Glibc
#endif

@Suite("Queue names as bytes")
struct NameBytesLibraryTests {
  @Test("Any bytes but / and NUL make a name; rawValue is lossy for them, text is nil, bytes exact")
  func bytesNames() throws {
    let bytes: [UInt8] = [0x2F, 0x72, 0xFF, 0x1B, 0x0A, 0x80]
    let name = try MsgQueueName(bytes: bytes)
    #expect(name.bytes == bytes)
    #expect(name.text == nil)
    #expect(name.rawValue == "/r\u{FFFD}\u{1B}\n\u{FFFD}")
    #expect(name != (try MsgQueueName(name.rawValue)), "the lossy String names another queue")
    #expect(try MsgQueueName(addingSlashTo: bytes.dropFirst()).bytes == bytes)
    #expect(try MsgQueueName("/jobs").text == "/jobs")
  }

  @Test(
    "Invalid byte names fail as String names do",
    arguments: [
      ([], "empty"), ([0x72, 0xFF], "must start with \"/\""), ([0x2F], "alone"),
      ([0x2F, 0xFF, 0x2F, 0x61], "exactly one \"/\""), ([0x2F, 0xFF, 0x00], "NUL"),
      ([0x2F, 0x2E], "reserved"), ([0x2F, 0x2E, 0x2E], "reserved"),
    ] as [([UInt8], String)])
  func invalidBytes(bytes: [UInt8], reason: String) {
    let error = hinixError { _ = try MsgQueueName(bytes: bytes) }
    #expect(error?.errno == .invalidArgument)
    #expect(error?.detail?.contains(reason) == true, "\(String(describing: error?.detail))")
    #expect(error.map { !$0.description.unicodeScalars.contains { $0.value < 0x20 } } == true)
  }

  @Test("256 bytes after the slash is too long, whatever the bytes")
  func tooLong() {
    let error = hinixError { _ = try MsgQueueName(bytes: [0x2F] + [UInt8](repeating: 0xFF, count: 256)) }
    #expect(error?.errno == .fileNameTooLong)
  }

  @Test(
    "description escapes what is not printable UTF-8 as \\xNN, and a backslash as \\\\",
    arguments: [
      ([0x2F, 0x6A, 0x6F, 0x62, 0x73], "/jobs"),
      (Array("/ünï ✓".utf8), "/ünï ✓"),
      ([0x2F, 0x72, 0xFF], "/r\\xff"),
      ([0x2F, 0x78, 0x1B, 0x5B, 0x32, 0x4A], "/x\\x1b[2J"),
      ([0x2F, 0x61, 0x09, 0x0A, 0x0D, 0x7F], "/a\\x09\\x0a\\x0d\\x7f"),
      ([0x2F, 0x61, 0x5C, 0x62], "/a\\\\b"),
      ([0x2F, 0xC2, 0x9B], "/\\xc2\\x9b"),  // U+009B, the C1 CSI
      (Array("/a\u{202E}b".utf8), "/a\\xe2\\x80\\xaeb"),  // right-to-left override
      ([0x2F, 0xE2, 0x82], "/\\xe2\\x82"),  // a truncated sequence
    ] as [([UInt8], String)])
  func description(bytes: [UInt8], shown: String) throws {
    #expect(try MsgQueueName(bytes: bytes).description == shown)
  }

  @Test("Names order by their bytes")
  func ordering() throws {
    let names = try [[0x2F, 0xFF], [0x2F, 0x61], [0x2F, 0xC3, 0xA9], [0x2F, 0x61, 0x62]].map {
      try MsgQueueName(bytes: $0)
    }
    #expect(names.sorted().map(\.bytes) == [[0x2F, 0x61], [0x2F, 0x61, 0x62], [0x2F, 0xC3, 0xA9], [0x2F, 0xFF]])
  }

  @Test(
    "Create, open, adopt and unlink reach the queue with exactly the bytes, not the one U+FFFD names",
    .enabled(if: canUnshareIPC, "needs CAP_SYS_ADMIN to create an IPC namespace"))
  func kernelGetsExactBytes() async throws {
    let base = Array(uniqueName("bytes").utf8)
    let raw = try MsgQueueName(bytes: base + [0xFF])
    let replaced = try MsgQueueName(bytes: base + [0xEF, 0xBF, 0xBD])
    // On a thread of its own in a new IPC namespace: no other test, and no
    // `hinix mq ls` of the host's queues, sees a name that is not UTF-8.
    let outcome = try await onThread { () throws -> [String] in
      guard CHinix_unshare(CHinix_CLONE_NEWIPC) == 0 else { return ["unshare: \(errno)"] }
      defer {
        try? MsgQueue.unlink(raw)
        try? MsgQueue.unlink(replaced)
      }
      var problems: [String] = []
      let created = try MsgQueue(raw, options: .exclusive, capacity: .init(maxMessages: 3, messageSize: 8))
      let other = try MsgQueue(replaced, options: .exclusive, capacity: .init(maxMessages: 5, messageSize: 8))
      try created.send("raw")
      if try MsgQueue(raw, access: .readOnly).receiveString() != "raw" { problems.append("open by bytes") }
      // A duplicate descriptor, adopted: its name is read back from /proc, byte for byte.
      let duplicate = try created.withDescriptor { try $0.duplicate() }
      let adopted = try MsgQueue(adopting: duplicate)
      if adopted.name != raw { problems.append("adopted name \(adopted.name)") }
      try MsgQueue.unlink(raw)
      if (try? MsgQueue(raw, access: .readOnly)) != nil { problems.append("unlink left it") }
      if (try? MsgQueue(replaced, access: .readOnly))?.maxMessages != 5 { problems.append("the other queue is gone") }
      // The error for the missing queue names it escaped.
      do {
        _ = try MsgQueue(raw, access: .readOnly)
      } catch let error as HinixError {
        if error.queueName != raw.description || !error.description.contains("\\xff\")") {
          problems.append("error: \(error)")
        }
      }
      _ = other
      return problems
    }
    #expect(outcome.isEmpty, "\(outcome)")
  }
}
