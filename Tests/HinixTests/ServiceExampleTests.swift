// Examples/ServiceConsumer, a package of its own (it depends on
// swift-service-lifecycle, which Hinix's users should not have to resolve):
// built here, started, fed, stopped with SIGTERM, and checked.
import CHinix
import Testing

@testable import Hinix

#if canImport(Glibc)
  import Glibc
#endif

/// The repository's root, from this file's path.
private let repositoryRoot: String = {
  var path = #filePath
  for _ in 0..<3 { path = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)]) }
  return path
}()

/// The first `swift` on this process's PATH.
private func swiftExecutable() -> String? {
  let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/bin:/bin"
  return path.split(separator: ":").map { "\($0)/swift" }.first { access($0, X_OK) == 0 }
}

@Suite("Service example", .timeLimit(.minutes(30)))
struct ServiceExampleTests {
  /// Builds the example package; returns the executable's path.
  private func buildExample() async throws -> String {
    let swift = try #require(swiftExecutable(), "no swift on PATH")
    let package = repositoryRoot + "/Examples/ServiceConsumer"
    var variables = ["PATH": getenv("PATH").map { String(cString: $0) } ?? "/usr/bin:/bin"]
    if let home = getenv("HOME") { variables["HOME"] = String(cString: home) }
    let environment = variables
    let build = try await onThread {
      try runExecutable(
        swift, ["build", "--package-path", package], timeout: .seconds(25 * 60),
        environment: environment)
    }
    try #require(build.status == 0, "swift build of the example failed: \(build)")
    let binPath = try await onThread {
      try runExecutable(
        swift, ["build", "--package-path", package, "--show-bin-path"], environment: environment)
    }
    let directory = binPath.out.split(separator: "\n").last.map(String.init) ?? ""
    return directory + "/queue-consumer-service"
  }

  @Test("The consumer service acknowledges every message, drains the queue on SIGTERM and exits with 0")
  func gracefulShutdown() async throws {
    let executable = try await buildExample()
    let requestsName = uniqueName("service-requests")
    let acksName = uniqueName("service-acks")
    defer {
      _ = CHinix_mq_unlink(requestsName)
      _ = CHinix_mq_unlink(acksName)
    }
    // The scenario blocks (it waits for the service), so it runs on a thread of its own.
    let run = try await onThread {
      try serviceScenario(executable, requestsName: requestsName, acksName: acksName)
    }
    #expect(run.acknowledged == (1...6).map { "ack \($0)" })
    #expect(run.status == 0, "output: \(run.output)\nerrors: \(run.errors)")
    #expect(run.output.contains("ready: consuming \(requestsName)"), "\(run.output)")
    #expect(run.output.contains("shutting down"), "\(run.output)")
    #expect(run.output.contains("stopped: 3 handled, 3 drained"), "\(run.output)")
    #expect(run.requestsLeft == 0)
    #expect(run.extraAcknowledgement == nil)
  }
}

/// What the service did.
private struct ServiceRun: Sendable {
  var acknowledged: [String]
  var status: CInt
  var output: String
  var errors: String
  var requestsLeft: Int
  var extraAcknowledgement: String?
}

/// Starts the service on two new queues, sends it six messages, stops it with
/// SIGTERM while it holds one message and three are queued, and collects
/// what it acknowledged.
private func serviceScenario(_ executable: String, requestsName: String, acksName: String) throws -> ServiceRun {
  let requests = try MsgQueue.createExclusive(requestsName, maxMessages: 8, messageSize: 64)
  // Room for two acknowledgements: the third keeps the service busy with a message in hand.
  let acks = try MsgQueue.createExclusive(acksName, maxMessages: 2, messageSize: 64)
  let service = try SpawnedProcess(executable, [requestsName, acksName])
  defer { service.killAndReap() }
  for number in 1...6 { try requests.send("\(number)") }

  // 1 and 2 acknowledged, 3 in hand waiting for room, 4 to 6 still queued.
  try waitFor("two acknowledgements queued and three requests left") {
    try acks.attributes().currentMessages == 2 && requests.attributes().currentMessages == 3
  }
  guard kill(service.pid, SIGTERM) == 0 else { throw ToolRunError(message: "kill: \(errno)") }
  try waitFor("the service to begin its graceful shutdown") { service.output.contains("shutting down") }
  // Make room: the service finishes 3, then drains and acknowledges 4 to 6.
  var acknowledged: [String] = []
  for _ in 1...6 { acknowledged.append(try acks.receive(timeout: .seconds(120)).text) }
  let status = try service.wait(timeout: .seconds(120))
  return ServiceRun(
    acknowledged: acknowledged, status: status, output: service.output, errors: service.errors,
    requestsLeft: try requests.attributes().currentMessages,
    extraAcknowledgement: try acks.tryReceive()?.text)
}

/// Checks `condition` every 10 ms until it holds; fails after 2 minutes (a hang, not a timing check).
private func waitFor(_ what: String, _ condition: () throws -> Bool) throws {
  let clock = ContinuousClock()
  let deadline = clock.now + .seconds(120)
  while try !condition() {
    guard clock.now < deadline else { throw ToolRunError(message: "gave up waiting for \(what)") }
    usleep(10_000)
  }
}

/// A child process started with posix_spawn, its standard output and error in files.
private final class SpawnedProcess {
  let pid: pid_t
  private let scratch: String
  private var reaped = false

  init(_ path: String, _ arguments: [String]) throws {
    scratch = "/tmp/hinix-service-\(getpid())-\(UInt64.random(in: 0 ... .max))"
    guard mkdir(scratch, 0o700) == 0 else { throw ToolRunError(message: "mkdir \(scratch)") }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, scratch + "/out", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    posix_spawn_file_actions_addopen(&actions, 2, scratch + "/err", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    // Default dispositions and an empty mask, whatever the test runner set.
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var none = sigset_t()
    sigemptyset(&none)
    posix_spawnattr_setsigmask(&attributes, &none)
    var all = sigset_t()
    sigfillset(&all)
    posix_spawnattr_setsigdefault(&attributes, &all)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    let argv = ([path] + arguments).map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var env: [UnsafeMutablePointer<CChar>?] = [strdup("PATH=/usr/bin:/bin"), nil]
    defer { env.forEach { free($0) } }
    var child: pid_t = 0
    let result = posix_spawn(&child, path, &actions, &attributes, argv, &env)
    guard result == 0 else {
      throw ToolRunError(message: "posix_spawn \(path): \(String(cString: strerror(result)))")
    }
    pid = child
  }

  var output: String { readText(scratch + "/out") }
  var errors: String { readText(scratch + "/err") }

  /// Waits for the child to exit; returns its exit status (128 + signal if killed).
  func wait(timeout: Duration) throws -> CInt {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    var status: CInt = 0
    while true {
      let result = waitpid(pid, &status, WNOHANG)
      if result == pid { break }
      if result == -1 && errno != EINTR { throw ToolRunError(message: "waitpid: \(errno)") }
      guard clock.now < deadline else { throw ToolRunError(message: "the service did not exit") }
      usleep(10_000)
    }
    reaped = true
    return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
  }

  /// Kills the child if it still runs, and removes the output files.
  func killAndReap() {
    if !reaped {
      kill(pid, SIGKILL)
      var status: CInt = 0
      _ = waitpid(pid, &status, 0)
    }
    unlink(scratch + "/out")
    unlink(scratch + "/err")
    rmdir(scratch)
  }

  private func readText(_ path: String) -> String {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return "" }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
      let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
      if count <= 0 { break }
      bytes += chunk[..<count]
    }
    return String(decoding: bytes, as: UTF8.self)
  }
}
