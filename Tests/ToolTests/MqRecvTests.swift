import Hinix
import Synchronization
import Foundation
import Testing
import ToolTestSupport

#if canImport(Glibc)
  import Glibc
#endif

@Suite("mqrecv", .timeLimit(.minutes(2)))
struct MqRecvTests {
  typealias Fixture = SendRecvFixture

  // MARK: Receiving and printing

  @Test("It receives one message and prints it as a line of text")
  func receivesOne() throws {
    try Fixture.withQueue("recv") { queue throws in
      try queue.send("first")
      try queue.send("second")
      let result = try run("mqrecv", [queue.name.rawValue])
      #expect(result.status == 0, "\(result)")
      #expect(result.out == "first\n" && result.stderr.isEmpty, "\(result)")
      #expect(try Fixture.drain(queue).map(\.text) == ["second"])
    }
  }

  @Test("It adds the missing '/': NAME is read from /NAME")
  func addsSlash() throws {
    try Fixture.withQueue("slash") { queue throws in
      try queue.send("hi")
      let result = try run("mqrecv", [String(queue.name.rawValue.dropFirst())])
      #expect(result.status == 0, "\(result)")
      #expect(result.out == "hi\n")
    }
  }

  @Test(
    "--count --priority prints messages highest priority first, each after its priority and a tab")
  func priorityOrder() throws {
    try Fixture.withQueue("order") { queue throws in
      for (priority, text) in [("1", "low"), ("9", "high"), ("5", "middle"), ("9", "high again")] {
        let sent = try run("mqsend", ["-p", priority, queue.name.rawValue, text])
        #expect(sent.status == 0, "\(sent)")
      }
      let result = try run("mqrecv", ["--count", "4", "--priority", queue.name.rawValue])
      #expect(result.status == 0, "\(result)")
      #expect(result.out == "9\thigh\n9\thigh again\n5\tmiddle\n1\tlow\n")
    }
  }

  @Test("Text output escapes control bytes, invalid UTF-8 and backslashes, and keeps valid UTF-8")
  func textEscapes() throws {
    try Fixture.withQueue("text") { queue throws in
      try queue.send([0x41, 0x00, 0x1B, 0xFF, 0x5C, 0x09] + Array("é✓".utf8))
      let result = try run("mqrecv", [queue.name.rawValue])
      #expect(result.status == 0, "\(result)")
      #expect(result.out == "A\\x00\\x1b\\xff\\\\\té✓\n")
    }
  }

  @Test("--format hex prints the bytes as hex pairs, after the priority with --priority")
  func hexFormat() throws {
    try Fixture.withQueue("hex") { queue throws in
      try queue.send([0x00, 0x41, 0xFF], priority: 3)
      try queue.send([UInt8](), priority: 2)
      let result = try run(
        "mqrecv", ["--format", "hex", "--priority", "--count", "2", queue.name.rawValue])
      #expect(result.status == 0, "\(result)")
      #expect(result.out == "3\t00 41 ff\n2\t\n")
    }
  }

  @Test("--format json prints one object per message, with text only for valid UTF-8")
  func jsonFormat() throws {
    try Fixture.withQueue("json") { queue throws in
      try queue.send("hi \"/\"", priority: 2)
      try queue.send([0xFF])
      let result = try run("mqrecv", ["--format", "json", "--count", "2", queue.name.rawValue])
      #expect(result.status == 0, "\(result)")
      #expect(
        result.out == #"""
          {"base64":"aGkgIi8i","length":6,"priority":2,"text":"hi \"/\""}
          {"base64":"/w==","length":1,"priority":0}

          """#)
    }
  }

  @Test("--raw writes the exact bytes and nothing else")
  func raw() throws {
    try Fixture.withQueue("raw") { queue throws in
      try queue.send([0x0A, 0x00, 0xFF])
      let result = try run("mqrecv", ["--raw", queue.name.rawValue])
      #expect(result.status == 0, "\(result)")
      #expect(result.stdout == [0x0A, 0x00, 0xFF])
    }
  }

  @Test(
    "mqsend from standard input then mqrecv --raw reproduces any bytes exactly",
    arguments: [(0, 64), (1, 64), (2, 64), (63, 64), (64, 64), (1024, 1024)])
  func roundTrip(size: Int, messageSize: Int) throws {
    var bytes = (0..<size).map { _ in UInt8.random(in: 0...255) }
    if size >= 1 { bytes[0] = 0 }  // NUL
    if size >= 2 { bytes[size - 1] = 0xC3 }  // a UTF-8 lead byte with nothing after it
    try Fixture.withQueue("trip", messageSize: messageSize) { queue throws in
      let sent = try run("mqsend", [queue.name.rawValue], input: .bytes(bytes))
      #expect(sent.status == 0, "\(sent)")
      let received = try run("mqrecv", ["--raw", queue.name.rawValue])
      #expect(received.status == 0, "\(received)")
      #expect(received.stdout == bytes)
      #expect(try queue.attributes().currentMessages == 0)
    }
  }

  // MARK: --follow

  @Test("--follow --nonblock drains the queue and exits 0")
  func followNonblockDrains() throws {
    try Fixture.withQueue("drain") { queue throws in
      for text in ["a", "b", "c"] { try queue.send(text) }
      let result = try run("mqrecv", ["--follow", "--nonblock", queue.name.rawValue])
      #expect(result.status == 0, "\(result)")
      #expect(result.out == "a\nb\nc\n" && result.stderr.isEmpty, "\(result)")
      #expect(try queue.attributes().currentMessages == 0)
    }
  }

  @Test("--follow --timeout prints messages as they come and exits 0 once none comes for that long")
  func followTimeout() throws {
    let name = toolQueueName("follow")
    let queue = try MsgQueue.createExclusive(name, maxMessages: 4, messageSize: 64)
    defer { try? MsgQueue.unlink(name) }
    try queue.send("before")
    // The receiver runs on a thread of its own and the send is timed with a
    // plain sleep: a task on Swift's cooperative pool (2 threads here) may
    // resume late when other tests keep both threads busy.
    let outcome = Mutex<Result<ToolResult, any Error>?>(nil)
    let receiver = Thread { outcome.withLock { $0 = Result { try run("mqrecv", ["--follow", "--timeout", "3", name]) } } }
    receiver.start()
    usleep(300_000)
    try queue.send("during")
    while outcome.withLock({ $0 == nil }) { usleep(10_000) }
    let result = try #require(outcome.withLock { $0 }).get()
    #expect(result.status == 0, "\(result)")
    #expect(result.out == "before\nduring\n" && result.stderr.isEmpty, "\(result)")
  }

  // MARK: Failures

  @Test("A missing queue fails with ENOENT and is not created")
  func missingQueue() throws {
    let name = toolQueueName("missing")
    defer { try? MsgQueue.unlink(name) }
    let result = try run("mqrecv", [name])
    Fixture.expectFailure(result, "mqrecv", status: 1, containing: ["ENOENT", name])
    #expect(result.stdout.isEmpty)
    #expect(!Fixture.exists(name))
  }

  @Test("--nonblock on an empty queue fails with EAGAIN")
  func emptyNonblocking() throws {
    try Fixture.withQueue("empty") { queue throws in
      let result = try run("mqrecv", ["--nonblock", queue.name.rawValue])
      Fixture.expectFailure(result, "mqrecv", status: 1, containing: ["is empty", "EAGAIN"])
      #expect(result.stdout.isEmpty)
    }
  }

  @Test("--timeout on an empty queue fails after about the timeout, with ETIMEDOUT")
  func receiveTimeout() throws {
    try Fixture.withQueue("trecv") { queue throws in
      let clock = ContinuousClock()
      let start = clock.now
      let result = try run("mqrecv", ["--timeout", "0.2", queue.name.rawValue])
      let elapsed = clock.now - start
      Fixture.expectFailure(
        result, "mqrecv", status: 1,
        containing: ["timed out", "no message", "0.2 seconds", "ETIMEDOUT"])
      #expect(elapsed >= .milliseconds(200) && elapsed < .seconds(5), "\(elapsed)")
    }
  }

  @Test("--count that runs out of messages prints what came and says how many")
  func countShort() throws {
    try Fixture.withQueue("short") { queue throws in
      try queue.send("only")
      let timedOut = try run("mqrecv", ["--count", "3", "--timeout", "0.2", queue.name.rawValue])
      Fixture.expectFailure(
        timedOut, "mqrecv", status: 1, containing: ["received 1 of 3 messages", "timed out"])
      #expect(timedOut.out == "only\n")

      try queue.send("again")
      let empty = try run("mqrecv", ["--count", "2", "--nonblock", queue.name.rawValue])
      Fixture.expectFailure(
        empty, "mqrecv", status: 1, containing: ["received 1 of 2 messages", "was empty"])
      #expect(empty.out == "again\n")
    }
  }

  @Test("A closed standard output (EPIPE) ends mqrecv with status 1 and no message")
  func brokenPipe() throws {
    try Fixture.withQueue("pipe") { queue throws in
      try queue.send("nobody reads this")
      let result = try Fixture.run(
        "mqrecv", ["--timeout", "5", queue.name.rawValue], output: .brokenPipe)
      #expect(result.status == 1, "\(result)")
      #expect(result.stderr.isEmpty, "\(result)")
    }
  }

  // MARK: Usage errors

  @Test("An invalid queue name is a usage error (64)", arguments: Fixture.invalidNames)
  func invalidName(name: String) throws {
    let result = try run("mqrecv", ["--nonblock", name])
    Fixture.expectFailure(result, "mqrecv", status: 64, containing: ["invalid queue name"])
  }

  // A NAME that is not UTF-8 is no longer refused: it reaches exactly the
  // queue with those bytes (NameBytesTests: sendAndReceiveExact).

  @Test(
    "Bad and conflicting options are usage errors (64), and nothing is received",
    arguments: [
      ["--count", "0"], ["--count", "-1"], ["--count=-1"], ["--count", "two"],
      ["--count", "2", "--follow"], ["--timeout", "-1"], ["--timeout", "x"],
      ["--timeout", "1", "--nonblock"],
      ["--raw", "--format", "hex"], ["--raw", "--format", "json"], ["--raw", "--priority"],
      ["--format", "xml"], ["--bogus"],
    ])
  func badOption(options: [String]) throws {
    try Fixture.withQueue("usage") { queue throws in
      try queue.send("keep")
      let result = try run("mqrecv", options + [queue.name.rawValue])
      Fixture.expectFailure(result, "mqrecv", status: 64)
      #expect(result.stdout.isEmpty)
      #expect(try queue.attributes().currentMessages == 1)
    }
  }

  @Test("--raw --format text is allowed: text is the default")
  func rawWithDefaultFormat() throws {
    try Fixture.withQueue("rawtext") { queue throws in
      try queue.send("x")
      let result = try run("mqrecv", ["--raw", "--format", "text", queue.name.rawValue])
      #expect(result.status == 0, "\(result)")
      #expect(result.out == "x")
    }
  }

  @Test("A missing NAME is a usage error (64)")
  func missingName() throws {
    Fixture.expectFailure(try run("mqrecv", []), "mqrecv", status: 64, containing: ["<name>"])
  }

  @Test("--help explains the command, with examples")
  func help() throws {
    let result = try run("mqrecv", ["--help"])
    #expect(result.status == 0, "\(result)")
    for text in [
      "USAGE: mqrecv", "EXAMPLES", "--follow", "--timeout", "--format", "--raw", "--priority",
    ] {
      #expect(result.out.contains(text), "\(text) missing from:\n\(result.out)")
    }
  }
}
