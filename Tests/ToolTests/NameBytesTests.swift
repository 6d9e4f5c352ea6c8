// Queue names are bytes: the tools take any name the kernel accepts byte for
// byte, never do anything to another queue, show names escaped, and exit
// non-zero when their output cannot be written (issue 11, section 3).
//
// Every test runs on a thread of its own that has entered a new IPC
// namespace (unshare(2) CLONE_NEWIPC moves only the calling thread), so the
// queues it makes, and the tools it spawns, see only each other: a name that
// is not UTF-8 never shows in the host's `hinix mq ls --json`, which other
// tests read. The names are unique anyway, and unlinked.

import FoundationEssentials
import CHinix
import Hinix
import Testing
import ToolTestSupport

#if canImport(Glibc)
  import Glibc
#endif

/// Runs `body` on a thread of its own in a new, empty IPC namespace, which
/// the tools it runs inherit.
func inPrivateIPCNamespace<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
  try await onThread {
    guard CHinix_unshare(CHinix_CLONE_NEWIPC) == 0 else {
      throw ToolRunError(message: "unshare(CLONE_NEWIPC): \(Errno(rawValue: errno))")
    }
    return try body()
  }
}

/// A unique name that is not UTF-8 (it ends in the byte 0xFF), and the
/// valid UTF-8 name that Swift's lossy decoding would turn it into (U+FFFD,
/// the bytes EF BF BD, in place of 0xFF).
struct MangledPair: Sendable {
  let raw: [UInt8]
  let replaced: [UInt8]

  init(_ tag: String) {
    let base = Array(toolQueueName(tag).utf8)
    raw = base + [0xFF]
    replaced = base + [0xEF, 0xBF, 0xBD]
  }

  /// How the tools print the raw name: the base, then `\xff`.
  var printedRaw: String { String(decoding: raw.dropLast(), as: UTF8.self) + "\\xff" }

  /// Creates both queues, the raw one with `rawMessages` messages of 8 bytes
  /// at most, the other with 5, so that they can be told apart.
  func create(rawMessages: Int = 3) throws {
    _ = try MsgQueue(
      MsgQueueName(bytes: raw), options: .exclusive, capacity: .init(maxMessages: rawMessages, messageSize: 8))
    _ = try MsgQueue(
      MsgQueueName(bytes: replaced), options: .exclusive, capacity: .init(maxMessages: 5, messageSize: 8))
  }

  func unlink() {
    try? MsgQueue.unlink(MsgQueueName(bytes: raw))
    try? MsgQueue.unlink(MsgQueueName(bytes: replaced))
  }

  /// `mq_maxmsg` of the queue called `name`, or nil if there is none.
  static func capacity(_ name: [UInt8]) -> Int? {
    (try? MsgQueue(MsgQueueName(bytes: name), access: .readOnly))?.maxMessages
  }

  /// The messages in the queue called `name`, received.
  static func drain(_ name: [UInt8]) throws -> [[UInt8]] {
    let queue = try MsgQueue(MsgQueueName(bytes: name), access: .readOnly)
    var messages: [[UInt8]] = []
    while let message = try queue.tryReceive() { messages.append(message.bytes) }
    return messages
  }
}

/// Whether `bytes` has a control character other than newline, or is not UTF-8.
func hasRawControlOrInvalidBytes(_ bytes: [UInt8]) -> Bool {
  String(validating: bytes, as: UTF8.self) == nil
    || bytes.contains { ($0 < 0x20 && $0 != 0x0A) || $0 == 0x7F }
}

/// The words of `text` split at runs of spaces.
private func words(_ line: Substring) -> [Substring] { line.split(separator: " ") }

@Suite(
  "Queue names are bytes: the tools take any name exactly, and show it escaped",
  .timeLimit(.minutes(3)), .enabled(if: isRoot, "needs root to create IPC namespaces"))
struct NameBytesTests {
  @Test("hinix mq rm $'/r\\xff' removes that queue, not /r\\u{FFFD}, which lossy decoding names")
  func removeExact() async throws {
    let names = MangledPair("rm")
    let (result, raw, replaced) = try await inPrivateIPCNamespace {
      defer { names.unlink() }
      try names.create()
      let result = try run("hinix", bytes: [Array("mq".utf8), Array("rm".utf8), names.raw])
      return (result, MangledPair.capacity(names.raw), MangledPair.capacity(names.replaced))
    }
    #expect(result.status == 0, "\(result)")
    #expect(result.stderr.isEmpty, "\(result)")
    #expect(raw == nil, "the named queue is still there")
    #expect(replaced == 5, "another queue was removed")
  }

  @Test("rm without the leading slash, and after -- with a leading -, takes the bytes as given")
  func removeWithoutSlashAndAfterTerminator() async throws {
    let names = MangledPair("rm2")
    let dashed = Array("/-".utf8) + Array(toolQueueName("dash").utf8.dropFirst()) + [0xFE]
    let (result, left) = try await inPrivateIPCNamespace {
      defer {
        names.unlink()
        try? MsgQueue.unlink(MsgQueueName(bytes: dashed))
      }
      try names.create()
      _ = try MsgQueue(MsgQueueName(bytes: dashed), options: .exclusive, capacity: .init(maxMessages: 1, messageSize: 8))
      let result = try run(
        "hinix", bytes: [Array("mq".utf8), Array("rm".utf8), Array(names.raw.dropFirst()), Array("--".utf8), Array(dashed.dropFirst())])
      return (
        result,
        [MangledPair.capacity(names.raw), MangledPair.capacity(dashed), MangledPair.capacity(names.replaced)]
      )
    }
    #expect(result.status == 0, "\(result)")
    #expect(left == [nil, nil, 5], "\(result)")
  }

  @Test("hinix mq create makes the queue with exactly the bytes given, and no other")
  func createExact() async throws {
    let names = MangledPair("create")
    let (result, raw, replaced) = try await inPrivateIPCNamespace {
      defer { names.unlink() }
      let result = try run(
        "hinix", bytes: [Array("mq".utf8), Array("create".utf8), names.raw] + ["--maxmsg", "2", "--msgsize", "16"].map { Array($0.utf8) })
      return (result, MangledPair.capacity(names.raw), MangledPair.capacity(names.replaced))
    }
    #expect(result.status == 0, "\(result)")
    #expect(raw == 2)
    #expect(replaced == nil, "a queue with the decoded name was created")
  }

  @Test("hinix mq stat shows that queue, its name escaped in text, null and base64 in JSON")
  func statExact() async throws {
    let names = MangledPair("stat")
    let (text, json) = try await inPrivateIPCNamespace {
      defer { names.unlink() }
      try names.create()
      let stat = [Array("mq".utf8), Array("stat".utf8), names.raw]
      return (try run("hinix", bytes: stat), try run("hinix", bytes: stat + [Array("--json".utf8)]))
    }
    #expect(text.status == 0, "\(text)")
    let lines = text.out.split(separator: "\n")
    #expect(lines.first.map(words) == ["name:", Substring(names.printedRaw)], "\(text)")
    #expect(lines.contains { words($0) == ["max", "messages:", "3"] }, "\(text)")
    #expect(!hasRawControlOrInvalidBytes(text.stdout))

    #expect(json.status == 0, "\(json)")
    let object = try decode(NameJSON.self, json.out)
    #expect(object.name == nil)
    #expect(object.nameBase64 == Data(names.raw).base64EncodedString())
    #expect(object.maxMessages == 3)
  }

  @Test("hinix mq watch watches that queue; --json gives queue null and queueBase64")
  func watchExact() async throws {
    let names = MangledPair("watch")
    let result = try await inPrivateIPCNamespace {
      defer { names.unlink() }
      try names.create()
      try MsgQueue(MsgQueueName(bytes: names.raw), access: .writeOnly).send("hi")
      return try run(
        "hinix", bytes: [Array("mq".utf8), Array("watch".utf8), names.raw] + ["--json", "--count", "1", "--timeout", "10"].map { Array($0.utf8) })
    }
    #expect(result.status == 0, "\(result)")
    let line = try decode(WatchNameJSON.self, result.out)
    #expect(line.queue == nil)
    #expect(line.queueBase64 == Data(names.raw).base64EncodedString())
    #expect(line.messages == 1, "the other queue, which is empty, was watched")
  }

  @Test("mqsend and mqrecv reach exactly the queue named by bytes that are not UTF-8")
  func sendAndReceiveExact() async throws {
    let names = MangledPair("sendrecv")
    let (sent, received, raw, replaced) = try await inPrivateIPCNamespace {
      defer { names.unlink() }
      try names.create()
      let sent = try run("mqsend", bytes: [names.raw, Array("one".utf8)])
      try MsgQueue(MsgQueueName(bytes: names.raw), access: .writeOnly).send("two")
      let received = try run("mqrecv", bytes: [Array("--nonblock".utf8), names.raw])
      return (sent, received, try MangledPair.drain(names.raw), try MangledPair.drain(names.replaced))
    }
    #expect(sent.status == 0, "\(sent)")
    #expect(received.status == 0, "\(received)")
    #expect(received.out == "one\n")
    #expect(raw == [Array("two".utf8)])
    #expect(replaced.isEmpty, "a message went to, or came from, another queue")
  }

  @Test("mqsend --create makes the queue with exactly the bytes given")
  func sendCreatesExact() async throws {
    let names = MangledPair("sendcreate")
    let (result, raw, replaced) = try await inPrivateIPCNamespace {
      defer { names.unlink() }
      let result = try run("mqsend", bytes: [Array("--create".utf8), names.raw, Array("x".utf8)])
      return (result, try? MangledPair.drain(names.raw), MangledPair.capacity(names.replaced))
    }
    #expect(result.status == 0, "\(result)")
    #expect(raw == [Array("x".utf8)])
    #expect(replaced == nil)
  }

  @Test("hinix mq ls shows every queue, names that are not UTF-8 included, with control characters escaped")
  func listEscapes() async throws {
    let names = MangledPair("ls")
    // mqsend -c $'/x\e[2Jevil' hi; hinix mq ls
    let evil = Array(toolQueueName("x").utf8) + [0x1B] + Array("[2Jevil".utf8)
    let (sent, table, json) = try await inPrivateIPCNamespace {
      defer {
        names.unlink()
        try? MsgQueue.unlink(MsgQueueName(bytes: evil))
      }
      try names.create()
      let sent = try run("mqsend", bytes: [Array("-c".utf8), evil, Array("hi".utf8)])
      return (sent, try run("hinix", ["mq", "ls"]), try run("hinix", ["mq", "ls", "--json"]))
    }
    #expect(sent.status == 0, "\(sent)")
    #expect(table.status == 0, "\(table)")
    #expect(!hasRawControlOrInvalidBytes(table.stdout), "\(table)")
    let rows = table.out.split(separator: "\n").dropFirst().map { words($0).first.map(String.init) ?? "" }
    let printedEvil = String(decoding: evil.prefix { $0 != 0x1B }, as: UTF8.self) + "\\x1b[2Jevil"
    #expect(
      rows.sorted() == [names.printedRaw, String(decoding: names.replaced, as: UTF8.self), printedEvil].sorted(),
      "\(table)")

    #expect(json.status == 0, "\(json)")
    let objects = try decode([NameJSON].self, json.out)
    let byBytes = Dictionary(uniqueKeysWithValues: objects.map { ($0.nameBase64, $0) })
    #expect(byBytes.count == 3, "\(json)")
    #expect(byBytes[Data(names.raw).base64EncodedString()]?.name == .some(nil), "\(json)")
    #expect(byBytes[Data(names.replaced).base64EncodedString()]?.name == String(decoding: names.replaced, as: UTF8.self))
    // JSON keeps the exact name of a UTF-8 name, its escape character included.
    #expect(byBytes[Data(evil).base64EncodedString()]?.name == String(decoding: evil, as: UTF8.self))
    #expect(!json.stdout.contains(0x1B), "\(json)")
  }

  @Test(
    "Error messages show a name escaped, on one line",
    arguments: [
      (["hinix", "mq", "stat"], "ENOENT"), (["hinix", "mq", "rm"], "ENOENT"),
      (["hinix", "mq", "watch"], "ENOENT"), (["mqsend"], "ENOENT"), (["mqrecv", "--nonblock"], "ENOENT"),
    ])
  func errorsEscapeNames(_ command: [String], _ errno: String) async throws {
    // A missing queue whose name has an escape sequence and a byte that is not UTF-8.
    let name = Array(toolQueueName("err").utf8) + [0x1B] + Array("[2J".utf8) + [0xFF]
    let printed = String(decoding: name.prefix { $0 != 0x1B }, as: UTF8.self) + "\\x1b[2J\\xff"
    let result = try await inPrivateIPCNamespace {
      try run(command[0], bytes: command.dropFirst().map { Array($0.utf8) } + [name] + (command[0] == "mqsend" ? [Array("m".utf8)] : []))
    }
    #expect(result.status == 1, "\(result)")
    #expect(result.errorLines.count == 1, "\(result)")
    #expect(result.err.contains(printed) && result.err.contains(errno), "\(result)")
    #expect(!hasRawControlOrInvalidBytes(result.stderr), "\(result)")
  }

  @Test("An existing queue: create's EEXIST names it escaped")
  func createExistingEscapes() async throws {
    let names = MangledPair("exists")
    let result = try await inPrivateIPCNamespace {
      defer { names.unlink() }
      try names.create()
      return try run("hinix", bytes: [Array("mq".utf8), Array("create".utf8), names.raw])
    }
    #expect(result.status == 1, "\(result)")
    #expect(result.errorLines.count == 1 && result.err.contains("EEXIST"), "\(result)")
    #expect(result.err.contains("\"\(names.printedRaw)\""), "\(result)")
    #expect(!hasRawControlOrInvalidBytes(result.stderr), "\(result)")
  }

  @Test(
    "An invalid name is a usage error that shows its bytes escaped",
    arguments: [["hinix", "mq", "rm"], ["hinix", "mq", "stat"], ["mqsend"], ["mqrecv"]])
  func invalidNameEscaped(_ command: [String]) throws {
    let name = Array("/a/".utf8) + [0xFF, 0x1B]
    let result = try run(command[0], bytes: command.dropFirst().map { Array($0.utf8) } + [name])
    #expect(result.status == 64, "\(result)")
    #expect(result.errorLines.count == 1, "\(result)")
    #expect(result.err.contains("invalid queue name") && result.err.contains("/a/\\xff\\x1b"), "\(result)")
    #expect(!hasRawControlOrInvalidBytes(result.stderr), "\(result)")
  }

  @Test(
    "An argument that is not UTF-8 where text is expected is refused in one line, shown escaped",
    arguments: [
      ["mq", "create", "/q", "--mode", "\u{FF}"], ["mq", "create", "/q", "--mode=\u{FF}"],
      ["mq", "watch", "/q", "--timeout", "1\u{FF}"], ["mq", "\u{FF}"],
    ])
  func nonUTF8TextArgument(_ arguments: [String]) throws {
    // "\u{FF}" stands for the single byte 0xFF.
    let raw = arguments.map { Array($0.utf8).replacing([0xC3, 0xBF], with: [0xFF]) }
    let result = try run("hinix", bytes: raw)
    #expect(result.status == 64, "\(result)")
    #expect(result.errorLines.count == 1, "\(result)")
    #expect(result.err.contains("\\xff"), "\(result)")
    #expect(!result.err.contains("\u{F8FF}"), "a stand-in leaked: \(result)")
    #expect(!hasRawControlOrInvalidBytes(result.stderr), "\(result)")
  }
}

@Suite(
  "Write errors on standard output: exit 1, saying why (ENOSPC), or silently for a closed pipe",
  .timeLimit(.minutes(3)), .enabled(if: isRoot, "needs root to create IPC namespaces and list queues"))
struct OutputErrorTests {
  /// Commands that print something and then exit 0 when the output is written.
  static let commands: [[String]] = [
    ["hinix", "mq", "ls"], ["hinix", "mq", "ls", "--json"], ["hinix", "mq", "stat", "QUEUE"],
    ["hinix", "mq", "stat", "QUEUE", "--json"], ["hinix", "mq", "limits"], ["hinix", "mq", "limits", "--json"],
    ["hinix", "mq", "watch", "QUEUE", "--count", "1"], ["hinix", "conform", "--list"],
    ["hinix", "--help"], ["hinix", "mq", "ls", "--help"], ["hinix", "help", "mq"], ["hinix", "--version"],
    ["mqsend", "--help"], ["mqsend", "--version"], ["mqrecv", "--help"], ["mqrecv", "QUEUE"],
  ]

  /// Runs `command` with standard output as `output`, in a namespace with
  /// QUEUE holding a message.
  static func run(_ command: [String], output: ToolOutput) async throws -> (ToolResult, ToolResult) {
    let name = toolQueueName("out")
    return try await inPrivateIPCNamespace {
      let queue = try MsgQueue(name, options: .exclusive, capacity: .init(maxMessages: 2, messageSize: 8))
      defer { try? MsgQueue.unlink(name) }
      let arguments = command.dropFirst().map { $0 == "QUEUE" ? name : $0 }
      try queue.send("x")
      let failed = try ToolTestSupport.run(command[0], bytes: arguments.map { Array($0.utf8) }, output: output)
      _ = try queue.tryReceive()
      try queue.send("x")
      let written = try ToolTestSupport.run(command[0], bytes: arguments.map { Array($0.utf8) })
      return (failed, written)
    }
  }

  @Test("A full disk (/dev/full): exit 1 and one line naming ENOSPC", arguments: commands)
  func full(_ command: [String]) async throws {
    let (result, written) = try await Self.run(command, output: .full)
    try #require(written.status == 0 && !written.stdout.isEmpty, "the command itself fails: \(written)")
    #expect(result.status == 1, "\(result)")
    #expect(result.errorLines.count == 1, "\(result)")
    #expect(result.err.contains("No space left on device (ENOSPC)"), "\(result)")
    #expect(result.err.contains("standard output"), "\(result)")
    #expect(!result.err.contains("EPIPE"), "\(result)")
  }

  @Test("A closed pipe (the reader has gone): exit 1, neither 0 nor killed by SIGPIPE", arguments: commands)
  func closedPipe(_ command: [String]) async throws {
    let (result, written) = try await Self.run(command, output: .closedPipe)
    try #require(written.status == 0 && !written.stdout.isEmpty, "the command itself fails: \(written)")
    #expect(result.status == 1, "\(result)")
    #expect(result.stderr.isEmpty, "\(result)")
  }
}

/// The name keys of a `hinix mq ls --json` or `stat --json` object.
struct NameJSON: Decodable, Equatable {
  var name: String?
  var nameBase64: String
  var maxMessages: Int?
}

/// The name keys of a `hinix mq watch --json` line.
struct WatchNameJSON: Decodable {
  var queue: String?
  var queueBase64: String
  var messages: Int
}
