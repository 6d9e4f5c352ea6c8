import Hinix
import Testing
import ToolTestSupport

#if canImport(Glibc)
  import Glibc
#endif

@Suite("mqsend", .timeLimit(.minutes(2)))
struct MqSendTests {
  typealias Fixture = SendRecvFixture

  // MARK: Sending

  @Test("It sends MESSAGE to an existing queue, silently, with priority 0")
  func sendsMessage() throws {
    try Fixture.withQueue("send") { queue throws in
      let result = try run("mqsend", [queue.name.rawValue, "hello"])
      #expect(result.status == 0, "\(result)")
      #expect(result.stdout.isEmpty && result.stderr.isEmpty, "\(result)")
      let messages = try Fixture.drain(queue)
      #expect(messages.map(\.text) == ["hello"] && messages.map(\.priority) == [0])
    }
  }

  @Test("It adds the missing '/': NAME lands in /NAME")
  func addsSlash() throws {
    try Fixture.withQueue("slash") { queue throws in
      let result = try run("mqsend", [String(queue.name.rawValue.dropFirst()), "hi"])
      #expect(result.status == 0, "\(result)")
      #expect(try Fixture.drain(queue).map(\.text) == ["hi"])
    }
  }

  @Test("An empty MESSAGE and an empty standard input are each one empty message")
  func emptyMessages() throws {
    try Fixture.withQueue("empty") { queue throws in
      #expect(try run("mqsend", [queue.name.rawValue, ""]).status == 0)
      #expect(try run("mqsend", [queue.name.rawValue], input: .empty).status == 0)
      #expect(try Fixture.drain(queue).map(\.bytes) == [[], []])
    }
  }

  @Test("A MESSAGE argument that is not UTF-8 is refused (64) rather than sent altered")
  func invalidUTF8Argument() throws {
    try Fixture.withQueue("utf8") { queue throws in
      let result = try Fixture.run(
        "mqsend", [Array(queue.name.rawValue.utf8), [0x61, 0xFF]], output: .discarded)
      Fixture.expectFailure(
        result, "mqsend", status: 64, containing: ["MESSAGE is not valid UTF-8", "standard input"])
      #expect(try queue.attributes().currentMessages == 0)
    }
  }

  // A NAME that is not UTF-8 is no longer refused: it reaches exactly the
  // queue with those bytes, never the one Swift's decoding would name
  // (NameBytesTests: sendAndReceiveExact, sendCreatesExact).

  @Test("-p sets the priority")
  func priority() throws {
    try Fixture.withQueue("prio") { queue throws in
      #expect(try run("mqsend", ["-p", "32767", queue.name.rawValue, "top"]).status == 0)
      let messages = try Fixture.drain(queue)
      #expect(messages.map(\.text) == ["top"] && messages.map(\.priority) == [32767])
    }
  }

  // MARK: Standard input

  @Test("Standard input without --lines or -0 is one message, byte for byte")
  func wholeInput() throws {
    let bytes: [UInt8] = [0, 0x0A, 0xFF, 0xC3, 0x28, 0x0A, 0]
    try Fixture.withQueue("whole") { queue throws in
      let result = try run("mqsend", [queue.name.rawValue], input: .bytes(bytes))
      #expect(result.status == 0, "\(result)")
      #expect(try Fixture.drain(queue).map(\.bytes) == [bytes])
    }
  }

  @Test(
    "--lines sends one message per line, without the newline",
    arguments: [
      ("one\n\nthree\n", ["one", "", "three"]),
      ("a\nb", ["a", "b"]),
      ("\n", [""]),
      ("a\r\n", ["a\r"]),
    ])
  func lines(input: String, expected: [String]) throws {
    try Fixture.withQueue("lines") { queue throws in
      let result = try run(
        "mqsend", ["--lines", queue.name.rawValue], input: .bytes(Array(input.utf8)))
      #expect(result.status == 0, "\(result)")
      #expect(try Fixture.drain(queue).map(\.text) == expected)
    }
  }

  @Test("--lines on empty input sends nothing and succeeds")
  func linesEmpty() throws {
    try Fixture.withQueue("noline") { queue throws in
      let result = try run("mqsend", ["--lines", queue.name.rawValue], input: .empty)
      #expect(result.status == 0, "\(result)")
      #expect(try queue.attributes().currentMessages == 0)
    }
  }

  @Test("-0 sends NUL-separated messages; newlines are data")
  func nullSeparated() throws {
    try Fixture.withQueue("null") { queue throws in
      let input: [UInt8] = Array("x\ny".utf8) + [0] + [0xFF] + [0] + [0]
      let result = try run("mqsend", ["-0", queue.name.rawValue], input: .bytes(input))
      #expect(result.status == 0, "\(result)")
      #expect(try Fixture.drain(queue).map(\.bytes) == [Array("x\ny".utf8), [0xFF], []])
    }
  }

  @Test("--repeat sends the messages that many times, in order")
  func repeats() throws {
    try Fixture.withQueue("repeat", maxMessages: 8) { queue throws in
      let result = try run(
        "mqsend", ["--lines", "--repeat", "3", queue.name.rawValue],
        input: .bytes(Array("a\nb\n".utf8)))
      #expect(result.status == 0, "\(result)")
      #expect(try Fixture.drain(queue).map(\.text) == ["a", "b", "a", "b", "a", "b"])
    }
  }

  // MARK: Creating

  @Test("--create makes a 4 × 512-byte queue, mode 600, when -n, -s and --mode are not given")
  func createDefaults() throws {
    let name = toolQueueName("create")
    defer { try? MsgQueue.unlink(name) }
    let result = try run("mqsend", ["--create", name, "first"])
    #expect(result.status == 0, "\(result)")
    let queue = try MsgQueue.open(name)
    #expect(queue.maxMessages == 4 && queue.messageSize == 512)
    #expect(try Fixture.mode(of: queue) == 0o600)
    #expect(try Fixture.drain(queue).map(\.text) == ["first"])
  }

  @Test("-c -n -s --mode create the queue as asked")
  func createSized() throws {
    let name = toolQueueName("sized")
    defer { try? MsgQueue.unlink(name) }
    let result = try run("mqsend", ["-c", "-n", "2", "-s", "128", "--mode", "640", name, "x"])
    #expect(result.status == 0, "\(result)")
    let queue = try MsgQueue.open(name)
    #expect(queue.maxMessages == 2 && queue.messageSize == 128)
    #expect(try Fixture.mode(of: queue) == 0o640)
  }

  @Test("--create on an existing queue keeps the queue and its size")
  func createExisting() throws {
    try Fixture.withQueue("exists") { queue throws in
      let result = try run("mqsend", ["-c", "-n", "8", "-s", "1024", queue.name.rawValue, "x"])
      #expect(result.status == 0, "\(result)")
      let attributes = try queue.attributes()
      #expect(
        attributes.maxMessages == 4 && attributes.messageSize == 64
          && attributes.currentMessages == 1)
    }
  }

  @Test("--exclusive fails with EEXIST on an existing queue and sends nothing")
  func exclusiveExisting() throws {
    try Fixture.withQueue("excl") { queue throws in
      let result = try run("mqsend", ["--exclusive", queue.name.rawValue, "x"])
      Fixture.expectFailure(result, "mqsend", status: 1, containing: ["EEXIST"])
      #expect(try queue.attributes().currentMessages == 0)
    }
  }

  @Test("A created queue stays when the message does not fit it (--create asked for it)")
  func createdQueueStaysAfterTooLong() throws {
    let name = toolQueueName("stays")
    defer { try? MsgQueue.unlink(name) }
    let result = try run("mqsend", ["-c", "-s", "8", name, "0123456789"])
    Fixture.expectFailure(result, "mqsend", status: 1, containing: ["10 bytes", "at most 8 bytes"])
    #expect(try MsgQueue.open(name).attributes().currentMessages == 0)
  }

  // MARK: Failures

  @Test("A message longer than the queue's message size names both sizes and sends nothing")
  func tooLong() throws {
    try Fixture.withQueue("long") { queue throws in
      let long = String(repeating: "x", count: 100)
      let result = try run("mqsend", [queue.name.rawValue, long])
      Fixture.expectFailure(
        result, "mqsend", status: 1,
        containing: [
          "the message is 100 bytes", "\"\(queue.name)\"", "at most 64 bytes", "nothing was sent",
        ])
      #expect(try queue.attributes().currentMessages == 0)
    }
  }

  @Test("One message too long among several: none is sent, and the error says which")
  func oneOfSeveralTooLong() throws {
    try Fixture.withQueue("long2") { queue throws in
      let input = "short\n" + String(repeating: "y", count: 65) + "\nshort\n"
      let result = try run(
        "mqsend", ["--lines", queue.name.rawValue], input: .bytes(Array(input.utf8)))
      Fixture.expectFailure(
        result, "mqsend", status: 1, containing: ["message 2 is 65 bytes", "at most 64 bytes"])
      #expect(try queue.attributes().currentMessages == 0)
    }
  }

  @Test("A missing queue fails with ENOENT and is not created")
  func missingQueue() throws {
    let name = toolQueueName("missing")
    defer { try? MsgQueue.unlink(name) }
    let result = try run("mqsend", [name, "x"])
    Fixture.expectFailure(result, "mqsend", status: 1, containing: ["ENOENT", name])
    #expect(!Fixture.exists(name))
  }

  @Test("--nonblock on a full queue fails with EAGAIN, and the queue keeps exactly its messages")
  func fullNonblocking() throws {
    try Fixture.withQueue("full") { queue throws in
      for index in 0..<4 { try queue.send("old \(index)") }
      let result = try run("mqsend", ["--nonblock", queue.name.rawValue, "new"])
      Fixture.expectFailure(
        result, "mqsend", status: 1, containing: ["is full", "EAGAIN", "the message was not sent"])
      #expect(try Fixture.drain(queue).map(\.text) == ["old 0", "old 1", "old 2", "old 3"])
    }
  }

  @Test("--nonblock that fills the queue part-way says how many were sent")
  func partlySentNonblocking() throws {
    try Fixture.withQueue("part") { queue throws in
      try queue.send("old 0")
      try queue.send("old 1")
      let input = Array("a\nb\nc\n".utf8)
      let result = try run(
        "mqsend", ["--nonblock", "--lines", queue.name.rawValue], input: .bytes(input))
      Fixture.expectFailure(
        result, "mqsend", status: 1, containing: ["sent 2 of 3 messages", "was full", "EAGAIN"])
      #expect(try Fixture.drain(queue).map(\.text) == ["old 0", "old 1", "a", "b"])
    }
  }

  @Test("--timeout on a full queue fails after about the timeout, with ETIMEDOUT")
  func sendTimeout() throws {
    try Fixture.withQueue("tsend", maxMessages: 1) { queue throws in
      try queue.send("old")
      let clock = ContinuousClock()
      let start = clock.now
      let result = try run("mqsend", ["--timeout", "0.2", queue.name.rawValue, "new"])
      let elapsed = clock.now - start
      Fixture.expectFailure(
        result, "mqsend", status: 1,
        containing: ["timed out", "0.2 seconds", "ETIMEDOUT", "not sent"])
      #expect(elapsed >= .milliseconds(200) && elapsed < .seconds(5), "\(elapsed)")
      #expect(try Fixture.drain(queue).map(\.text) == ["old"])
    }
  }

  @Test("--timeout with room in the queue sends at once")
  func sendTimeoutWithRoom() throws {
    try Fixture.withQueue("troom") { queue throws in
      let result = try run("mqsend", ["--timeout", "5", queue.name.rawValue, "x"])
      #expect(result.status == 0, "\(result)")
      #expect(try Fixture.drain(queue).map(\.text) == ["x"])
    }
  }

  @Test("-n over msg_max fails with EINVAL naming msg_max, and creates nothing")
  func overMessageCountLimit() throws {
    let name = toolQueueName("msgmax")
    defer { try? MsgQueue.unlink(name) }
    let result = try run("mqsend", ["-c", "-n", "100000", name, "x"])
    Fixture.expectFailure(result, "mqsend", status: 1, containing: ["EINVAL", "msg_max"])
    #expect(!Fixture.exists(name))
  }

  @Test("-s over msgsize_max fails with EINVAL naming msgsize_max, and creates nothing")
  func overMessageSizeLimit() throws {
    let name = toolQueueName("sizemax")
    defer { try? MsgQueue.unlink(name) }
    let result = try run("mqsend", ["-c", "-s", "100000000", name, "x"])
    Fixture.expectFailure(result, "mqsend", status: 1, containing: ["EINVAL", "msgsize_max"])
    #expect(!Fixture.exists(name))
  }

  @Test("Unreadable standard input fails before any queue is opened: --create creates nothing")
  func unreadableInput() throws {
    let name = toolQueueName("unread")
    defer { try? MsgQueue.unlink(name) }
    let result = try run("mqsend", ["--create", name], input: .unreadable)
    Fixture.expectFailure(
      result, "mqsend", status: 1, containing: ["standard input", "nothing was sent"])
    #expect(!Fixture.exists(name))
  }

  // MARK: Usage errors

  @Test(
    "An invalid queue name is a usage error (64), and no queue is created",
    arguments: Fixture.invalidNames)
  func invalidName(name: String) throws {
    let result = try run("mqsend", ["--create", name, "x"])
    Fixture.expectFailure(result, "mqsend", status: 64, containing: ["invalid queue name"])
  }

  @Test(
    "Bad options are usage errors (64), and no queue is created",
    arguments: [
      ["-p", "32768"], ["-p", "-1"], ["-p", "high"], ["--priority=-1"],
      ["-n", "-1"], ["--nmsg=-1"], ["-n", "0"], ["-n", "four"], ["-s", "0"], ["--maxsz=-5"],
      ["--mode", "999"], ["--mode", "rw"], ["--timeout", "-1"], ["--timeout=-1"],
      ["--timeout", "soon"],
      ["--timeout", "1", "--nonblock"], ["--repeat", "0"], ["--repeat", "x"], ["--lines", "-0"],
      ["--bogus"],
    ])
  func badOption(options: [String]) throws {
    let name = toolQueueName("usage")
    defer { try? MsgQueue.unlink(name) }
    let result = try run("mqsend", ["--create"] + options + [name], input: .bytes(Array("x".utf8)))
    Fixture.expectFailure(result, "mqsend", status: 64)
    #expect(!Fixture.exists(name))
  }

  @Test(
    "Options that cannot apply are usage errors (64)",
    arguments: [
      ["-n", "2"], ["-s", "64"], ["--mode", "600"],  // without --create
      ["--create", "--lines"], ["--create", "-0"],  // with a MESSAGE argument
    ])
  func inapplicableOption(options: [String]) throws {
    let name = toolQueueName("inapp")
    defer { try? MsgQueue.unlink(name) }
    let result = try run("mqsend", options + [name, "message"])
    Fixture.expectFailure(result, "mqsend", status: 64)
    #expect(!Fixture.exists(name))
  }

  @Test("A missing NAME is a usage error (64)")
  func missingName() throws {
    Fixture.expectFailure(try run("mqsend", []), "mqsend", status: 64, containing: ["<name>"])
  }

  @Test("--help explains the command, with examples")
  func help() throws {
    let result = try run("mqsend", ["--help"])
    #expect(result.status == 0, "\(result)")
    for text in [
      "USAGE: mqsend", "EXAMPLES", "--create", "--nonblock", "--lines", "--null", "--repeat",
    ] {
      #expect(result.out.contains(text), "\(text) missing from:\n\(result.out)")
    }
  }
}

// MARK: - Shared with MqRecvTests

/// What the mqsend and mqrecv tests share: small queues that are always
/// unlinked, and the checks every failure must pass.
enum SendRecvFixture {
  /// Names no tool accepts: two slashes, "/" alone, empty, 256 bytes after the slash.
  static let invalidNames = ["a/b", "/a/b", "//a", "/", "", String(repeating: "x", count: 256)]

  /// Creates a small queue with a unique name, exclusively, runs `body`, and
  /// unlinks the queue whatever happens.
  static func withQueue<R>(
    _ tag: String, maxMessages: Int = 4, messageSize: Int = 64, _ body: (MsgQueue) throws -> R
  ) throws -> R {
    let name = toolQueueName(tag)
    let queue = try MsgQueue.createExclusive(
      name, maxMessages: maxMessages, messageSize: messageSize)
    defer { try? MsgQueue.unlink(name) }
    return try body(queue)
  }

  /// Receives every queued message, without waiting.
  static func drain(_ queue: MsgQueue) throws -> [MsgQueue.Message] {
    var messages: [MsgQueue.Message] = []
    while let message = try queue.tryReceive() { messages.append(message) }
    return messages
  }

  /// Whether a queue called `name` exists.
  static func exists(_ name: String) -> Bool {
    do {
      _ = try MsgQueue.open(name)
      return true
    } catch where error.errno == .noSuchFileOrDirectory {
      return false
    } catch {
      Issue.record("open(\(name)): \(error)")
      return true
    }
  }

  /// The queue's permission bits, from fstat(2) on its descriptor.
  static func mode(of queue: MsgQueue) throws -> mode_t {
    try queue.withDescriptor { descriptor in
      var status = stat()
      #expect(fstat(descriptor.rawValue, &status) == 0)
      return status.st_mode & 0o777
    }
  }

  /// Checks a failed run: exactly `status`, and exactly one line on standard
  /// error, starting with "`tool`: " and containing each of `texts`.
  static func expectFailure(
    _ result: ToolResult, _ tool: String, status: CInt, containing texts: [String] = [],
    sourceLocation: SourceLocation = #_sourceLocation
  ) {
    #expect(result.status == status, "\(result)", sourceLocation: sourceLocation)
    #expect(!result.timedOut, "\(result)", sourceLocation: sourceLocation)
    let newlines = result.stderr.count { $0 == UInt8(ascii: "\n") }
    #expect(
      newlines == 1 && result.err.hasSuffix("\n"), "not one line: \(result)",
      sourceLocation: sourceLocation)
    #expect(result.err.hasPrefix("\(tool): "), "\(result)", sourceLocation: sourceLocation)
    for text in texts {
      #expect(
        result.err.contains(text), "\(text.debugDescription) missing: \(result)",
        sourceLocation: sourceLocation)
    }
  }

  /// Where ``run(_:_:output:)`` sends the tool's standard output.
  enum Output {
    /// /dev/null.
    case discarded
    /// A pipe whose read end is closed already, so the first write fails with
    /// EPIPE, or kills the tool with SIGPIPE unless it ignores that signal.
    case brokenPipe
  }

  /// Runs a built tool as the runner's `run` does, but with arguments as raw
  /// bytes, which need not be UTF-8, and standard output as `output` says.
  /// The tool starts with default signal handling, whatever the test runner set.
  static func run(_ tool: String, _ arguments: [[UInt8]], output: Output) throws -> ToolResult {
    // Close-on-exec from the start, so no other test's child can inherit the read end.
    let pipe = try Pipe()
    try pipe.reader.close()
    let errorPath = "/tmp/hinix-tooltest-\(getpid())-\(UInt64.random(in: 0 ... .max))-err"
    defer { unlink(errorPath) }

    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    switch output {
    case .discarded: posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    case .brokenPipe: posix_spawn_file_actions_adddup2(&actions, pipe.writer.descriptor.rawValue, 1)
    }
    posix_spawn_file_actions_addopen(&actions, 2, errorPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var defaults = sigset_t()
    sigfillset(&defaults)
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    var mask = sigset_t()
    sigemptyset(&mask)
    posix_spawnattr_setsigmask(&attributes, &mask)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

    let path = toolDirectory + "/" + tool
    var argv =
      ([Array(path.utf8)] + arguments).map { bytes -> UnsafeMutablePointer<CChar>? in
        (bytes + [0]).withUnsafeBytes {
          strdup($0.baseAddress!.assumingMemoryBound(to: CChar.self))
        }
      } + [nil]
    defer { argv.forEach { free($0) } }
    var environment: [UnsafeMutablePointer<CChar>?] = [strdup("LANG=C.UTF-8"), nil]
    defer { environment.forEach { free($0) } }
    var pid: pid_t = 0
    let spawned = withExtendedLifetime(pipe) {
      posix_spawn(&pid, path, &actions, &attributes, &argv, &environment)
    }
    try #require(spawned == 0)
    var status: CInt = 0
    while waitpid(pid, &status, 0) == -1 && errno == EINTR {}

    let error = try FileDescriptor.open(FilePath(errorPath), .readOnly)
    defer { try? error.close() }
    var stderr = [UInt8](repeating: 0, count: 4096)
    let count = try stderr.withUnsafeMutableBytes { try error.read(into: $0) }
    let exitStatus: CInt = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    return ToolResult(
      status: exitStatus, stdout: [], stderr: Array(stderr[..<count]), timedOut: false)
  }

  /// ``run(_:_:output:)`` with arguments that are text.
  static func run(_ tool: String, _ arguments: [String], output: Output) throws -> ToolResult {
    try run(tool, arguments.map { Array($0.utf8) }, output: output)
  }
}
