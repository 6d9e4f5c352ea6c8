import Testing

@testable import Hinix

@Suite("Queue names (mq_overview(7) DESCRIPTION)")
struct MsgQueueNameTests {
  @Test("A slash and 1 to 255 bytes is a valid name")
  func validNames() throws {
    for text in ["/a", "/jobs", "/with space", "/ünïcödé", "/" + String(repeating: "x", count: 255)] {
      #expect(try MsgQueueName(text).rawValue == text)
    }
  }

  @Test("A 255-byte name is accepted by the kernel too")
  func longestNameWorks() throws {
    let base = uniqueName("l")
    let name = base + String(repeating: "n", count: 256 - base.utf8.count)
    #expect(name.utf8.count == 256)
    let queue = try MsgQueue(name, options: .exclusive, capacity: small)
    defer { try? MsgQueue.unlink(name) }
    #expect(queue.name.rawValue == name)
  }

  @Test(
    "Invalid names fail before any system call, saying what is wrong",
    arguments: [
      ("", "empty"), ("jobs", "must start with \"/\""), ("/", "alone"),
      ("/a/b", "exactly one \"/\""), ("//a", "exactly one \"/\""), ("/.", "reserved"),
      ("/..", "reserved"), ("/a\u{0}b", "NUL"),
    ])
  func invalidNames(name: String, reason: String) throws {
    let error = hinixError { _ = try MsgQueueName(name) }
    #expect(error?.errno == .invalidArgument)
    #expect(error?.operation == .validation)
    #expect(error?.detail?.contains(reason) == true, "\(String(describing: error?.detail))")
  }

  @Test("A name over 255 bytes fails with ENAMETOOLONG, giving the length")
  func tooLong() {
    let error = hinixError { _ = try MsgQueueName("/" + String(repeating: "x", count: 256)) }
    #expect(error?.errno == .fileNameTooLong)
    #expect(error?.detail?.contains("256 bytes") == true)
  }

  @Test("Names are counted in UTF-8 bytes, not characters")
  func bytesNotCharacters() {
    // 128 two-byte characters: 256 bytes.
    let error = hinixError { _ = try MsgQueueName("/" + String(repeating: "é", count: 128)) }
    #expect(error?.errno == .fileNameTooLong)
  }

  @Test("addingSlashTo adds a missing leading slash and keeps a present one")
  func addingSlash() throws {
    #expect(try MsgQueueName(addingSlashTo: "jobs").rawValue == "/jobs")
    #expect(try MsgQueueName(addingSlashTo: "/jobs").rawValue == "/jobs")
    #expect(hinixError { _ = try MsgQueueName(addingSlashTo: "a/b") }?.errno == .invalidArgument)
  }

  @Test("Opening with an invalid name throws the validation error, not the kernel's")
  func openValidates() {
    let error = hinixError { _ = try MsgQueue.open("no-slash") }
    #expect(error?.operation == .validation)
    #expect(error?.queueName == "no-slash")
  }
}
