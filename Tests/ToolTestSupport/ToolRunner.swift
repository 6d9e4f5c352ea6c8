import CHinix
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// What a tool run produced.
public struct ToolResult: Sendable, CustomStringConvertible {
  public var status: CInt
  public var stdout: [UInt8]
  public var stderr: [UInt8]
  public var timedOut: Bool

  /// Creates a result.
  public init(status: CInt, stdout: [UInt8], stderr: [UInt8], timedOut: Bool) {
    self.status = status
    self.stdout = stdout
    self.stderr = stderr
    self.timedOut = timedOut
  }

  public var out: String { String(decoding: stdout, as: UTF8.self) }
  public var err: String { String(decoding: stderr, as: UTF8.self) }
  /// Standard error's lines, without empty ones.
  public var errorLines: [Substring] { err.split(separator: "\n") }

  public var description: String { "status \(status)\(timedOut ? " (timed out)" : "")\nstdout: \(out.debugDescription)\nstderr: \(err.debugDescription)" }
}

/// Where standard input comes from.
public enum ToolInput: Sendable {
  /// These bytes.
  case bytes([UInt8])
  /// /dev/null.
  case empty
  /// A directory: every read(2) fails with EISDIR.
  case unreadable
}

/// Where a tool's standard output goes.
public enum ToolOutput: Sendable {
  /// A file, read back into ``ToolResult/stdout``.
  case captured
  /// /dev/full: every write fails with ENOSPC.
  case full
  /// A pipe whose read end is closed already: every write fails with EPIPE,
  /// or kills the tool with SIGPIPE unless it ignores that signal.
  case closedPipe
}

/// The directory that holds the built executables (beside the test bundle).
public let toolDirectory: String = {
  var buffer = [CChar](repeating: 0, count: 4096)
  let count = readlink("/proc/self/exe", &buffer, 4095)
  let path = String(decoding: buffer[..<max(count, 0)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
  return String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)])
}()

/// Runs a built tool (`mqsend`, `mqrecv`, `hinix`) with `arguments`, as a user
/// would from a shell, and waits at most `timeout` for it; on expiry the tool
/// is killed and the result says so.
public func run(
  _ tool: String, _ arguments: [String], input: ToolInput = .empty,
  timeout: Duration = .seconds(20), environment: [String: String] = [:]
) throws -> ToolResult {
  try runExecutable(
    toolDirectory + "/" + tool, arguments, input: input, timeout: timeout, environment: environment)
}

/// Runs a built tool as ``run(_:_:input:timeout:environment:)`` does, with
/// arguments given as raw bytes, which need not be UTF-8 (Swift's `String`
/// cannot hold such an argument), and standard output where `output` says.
public func run(
  _ tool: String, bytes arguments: [[UInt8]], input: ToolInput = .empty,
  output: ToolOutput = .captured, timeout: Duration = .seconds(20),
  environment: [String: String] = [:]
) throws -> ToolResult {
  try runExecutable(
    toolDirectory + "/" + tool, bytes: arguments, input: input, output: output, timeout: timeout,
    environment: environment)
}

/// Runs the executable at `path` (an absolute path) as ``run(_:_:input:timeout:environment:)`` does.
public func runExecutable(
  _ path: String, _ arguments: [String], input: ToolInput = .empty,
  timeout: Duration = .seconds(20), environment: [String: String] = [:]
) throws -> ToolResult {
  try runExecutable(
    path, bytes: arguments.map { Array($0.utf8) }, input: input, timeout: timeout,
    environment: environment)
}

/// Runs the executable at `path` (an absolute path) with raw-byte arguments, as
/// ``run(_:bytes:input:output:timeout:environment:)`` does.
public func runExecutable(
  _ path: String, bytes arguments: [[UInt8]], input: ToolInput = .empty,
  output: ToolOutput = .captured, timeout: Duration = .seconds(20),
  environment: [String: String] = [:]
) throws -> ToolResult {
  let scratch = "/tmp/hinix-tooltest-\(getpid())-\(UInt64.random(in: 0 ... .max))"
  precondition(mkdir(scratch, 0o700) == 0)
  defer {
    unlink(scratch + "/in")
    unlink(scratch + "/out")
    unlink(scratch + "/err")
    rmdir(scratch)
  }
  let inputPath: String
  switch input {
  case .bytes(let bytes):
    inputPath = scratch + "/in"
    let fd = open(inputPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    close(fd)
  case .empty: inputPath = "/dev/null"
  case .unreadable: inputPath = scratch
  }

  var actions = posix_spawn_file_actions_t()
  posix_spawn_file_actions_init(&actions)
  defer { posix_spawn_file_actions_destroy(&actions) }
  posix_spawn_file_actions_addopen(&actions, 0, inputPath, O_RDONLY, 0)
  // For .closedPipe: both ends close-on-exec from the start (pipe2), so that
  // no child another test spawns in the meantime keeps the read end, which
  // would let the tool's writes succeed; dup2 onto descriptor 1 clears the
  // flag there.
  var pipeEnds: [CInt] = [-1, -1]
  defer { pipeEnds.filter { $0 >= 0 }.forEach { close($0) } }
  switch output {
  case .captured:
    posix_spawn_file_actions_addopen(&actions, 1, scratch + "/out", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
  case .full:
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/full", O_WRONLY, 0)
  case .closedPipe:
    guard CHinix_pipe2(&pipeEnds, O_CLOEXEC) == 0 else { throw ToolRunError(message: "pipe2: \(errno)") }
    close(pipeEnds[0])
    pipeEnds[0] = -1
    posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], 1)
  }
  posix_spawn_file_actions_addopen(&actions, 2, scratch + "/err", O_WRONLY | O_CREAT | O_TRUNC, 0o600)

  var attributes = posix_spawnattr_t()
  posix_spawnattr_init(&attributes)
  defer { posix_spawnattr_destroy(&attributes) }
  // The child gets default signal handling and an empty mask, whatever the test runner set.
  var none = sigset_t()
  sigemptyset(&none)
  posix_spawnattr_setsigmask(&attributes, &none)
  var all = sigset_t()
  sigfillset(&all)
  posix_spawnattr_setsigdefault(&attributes, &all)
  posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

  // `environment` overrides the defaults rather than adding a second entry.
  // A sanitizer's options (scripts/sanitize sets them) reach the tools too,
  // which come from the same sanitized build.
  var defaults = ["PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"]
  for name in ["TSAN_OPTIONS", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"] {
    if let value = getenv(name) { defaults[name] = String(cString: value) }
  }
  let variables = defaults.merging(environment) { $1 }
  let env = variables.map { "\($0.key)=\($0.value)" }
  let argv = [Array(path.utf8)] + arguments
  var pid: pid_t = 0
  let spawned = withCStrings(argv) { argvPointers in
    withCStrings(env.map { Array($0.utf8) }) { envPointers in
      posix_spawn(&pid, path, &actions, &attributes, argvPointers, envPointers)
    }
  }
  guard spawned == 0 else {
    throw ToolRunError(message: "posix_spawn \(path): \(String(cString: strerror(spawned)))")
  }

  let clock = ContinuousClock()
  let deadline = clock.now + timeout
  var status: CInt = 0
  var timedOut = false
  while true {
    let result = waitpid(pid, &status, WNOHANG)
    if result == pid { break }
    if result == -1 && errno != EINTR { throw ToolRunError(message: "waitpid: \(errno)") }
    if clock.now >= deadline {
      kill(pid, SIGKILL)
      _ = waitpid(pid, &status, 0)
      timedOut = true
      break
    }
    usleep(2_000)
  }
  let exitStatus: CInt = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
  return ToolResult(
    status: exitStatus, stdout: readFile(scratch + "/out"), stderr: readFile(scratch + "/err"),
    timedOut: timedOut)
}

public struct ToolRunError: Error, CustomStringConvertible {
  public var message: String
  public var description: String { message }
  /// Creates an error.
  public init(message: String) { self.message = message }
}

private func readFile(_ path: String) -> [UInt8] {
  let fd = open(path, O_RDONLY | O_CLOEXEC)
  guard fd >= 0 else { return [] }
  defer { close(fd) }
  var bytes: [UInt8] = []
  var chunk = [UInt8](repeating: 0, count: 65_536)
  while true {
    let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    if count <= 0 { return bytes }
    bytes += chunk[..<count]
  }
}

private func withCStrings<R>(_ strings: [[UInt8]], _ body: ([UnsafeMutablePointer<CChar>?]) -> R) -> R {
  var pointers = strings.map { bytes in
    (bytes + [0]).withUnsafeBytes { strdup($0.baseAddress!.assumingMemoryBound(to: CChar.self)) }
  }
  pointers.append(nil)
  defer { pointers.forEach { free($0) } }
  return body(pointers)
}

/// A queue name for a tool test, unique across processes and runs.
public func toolQueueName(_ tag: String) -> String {
  "/hinix-tool-\(getpid())-\(tag)-\(UInt32.random(in: 0 ... .max))"
}
