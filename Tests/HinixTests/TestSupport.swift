import CHinix
import Synchronization
import SystemPackage
import Testing
@_exported import ToolTestSupport

@testable import Hinix

#if canImport(Glibc)
  import Glibc
#endif

private let nameCounter = Atomic<Int>(0)

/// A queue name no other test, process or run uses: pid, a counter and random bits.
func uniqueName(_ tag: String = "t") -> String {
  let serial = nameCounter.add(1, ordering: .relaxed).newValue
  return "/hinix-test-\(getpid())-\(tag)-\(serial)-\(UInt16.random(in: 0 ... .max))"
}

/// Small queues: 4 messages of 64 bytes cost 640 bytes of RLIMIT_MSGQUEUE, so
/// tests running in parallel stay far below the 819,200-byte default.
let small = MsgQueue.Capacity(maxMessages: 4, messageSize: 64)

/// Creates a fresh queue (exclusively), runs `body`, and unlinks the queue whatever happens.
func withQueue<R>(
  _ tag: String = "q", capacity: MsgQueue.Capacity = small, access: MsgQueue.AccessMode = .readWrite,
  options: MsgQueue.Options = [], _ body: (MsgQueue) throws -> R
) throws -> R {
  let name = uniqueName(tag)
  let queue = try MsgQueue(
    name, access: access, options: options.union(.exclusive), capacity: capacity)
  defer { _ = CHinix_mq_unlink(name) }
  return try body(queue)
}

/// Runs `body` and returns the ``HinixError`` it threw; records an issue if it threw none.
func hinixError(
  sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void
) -> HinixError? {
  do {
    try body()
    Issue.record("expected a HinixError, but the call succeeded", sourceLocation: sourceLocation)
    return nil
  } catch let error as HinixError {
    return error
  } catch {
    Issue.record("expected a HinixError, got \(error)", sourceLocation: sourceLocation)
    return nil
  }
}

/// Whether the descriptor has FD_CLOEXEC set.
func closeOnExec(_ descriptor: FileDescriptor) -> Bool {
  let flags = fcntl(descriptor.rawValue, F_GETFD)
  return flags != -1 && flags & FD_CLOEXEC != 0
}

/// The open file description's status flags (O_NONBLOCK and friends).
func statusFlags(_ descriptor: FileDescriptor) -> CInt {
  fcntl(descriptor.rawValue, F_GETFL)
}

/// poll(2) once, without waiting, and returns the events that are ready.
func readyEvents(_ descriptor: FileDescriptor) -> Int16 {
  var entry = pollfd(fd: descriptor.rawValue, events: Int16(POLLIN | POLLOUT), revents: 0)
  _ = poll(&entry, 1, 0)
  return entry.revents
}

/// The process's descriptors of the kinds Hinix creates (eventfds, pipes and
/// message queues, whose targets are paths) and what each refers to, from
/// /proc/self/fd. Other kinds are left out: the test harness and libdispatch
/// open and close sockets and timerfds on their own schedule.
func descriptorTable() -> [CInt: String] {
  guard let directory = opendir("/proc/self/fd") else { return [:] }
  let own = dirfd(directory)
  var table: [CInt: String] = [:]
  while let entry = readdir(directory) {
    let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    guard let fd = CInt(name), fd != own else { continue }
    var target = [UInt8](repeating: 0, count: 512)
    let count = target.withUnsafeMutableBytes { readlink("/proc/self/fd/\(name)", $0.baseAddress!.assumingMemoryBound(to: CChar.self), 511) }
    let text = count > 0 ? String(decoding: target[..<count], as: UTF8.self) : "?"
    if text == "anon_inode:[eventfd]" || text.hasPrefix("pipe:") || text.hasPrefix("/") {
      table[fd] = text
    }
  }
  closedir(directory)
  return table
}

/// How many descriptors this process has open: the entries of /proc/self/fd,
/// less the one opendir uses.
func openDescriptors() -> Int {
  guard let directory = opendir("/proc/self/fd") else { return -1 }
  defer { closedir(directory) }
  var count = 0
  while let entry = readdir(directory) {
    if entry.pointee.d_name.0 != UInt8(ascii: ".") { count += 1 }
  }
  return count - 1
}

/// Whether this process may create namespaces (CAP_SYS_ADMIN, bit 21 of CapEff).
var canUnshareIPC: Bool { (effectiveCapabilities() ?? 0) & (1 << 21) != 0 }
/// Whether this process may switch uids (CAP_SETUID, bit 7).
var canSetUID: Bool { (effectiveCapabilities() ?? 0) & (1 << 7) != 0 }

/// Writes `value` to /proc/sys/fs/mqueue/`name` (of the calling thread's IPC namespace).
func writeMqueueSysctl(_ name: String, _ value: Int) -> Bool {
  let fd = open("/proc/sys/fs/mqueue/" + name, O_WRONLY | O_CLOEXEC)
  guard fd >= 0 else { return false }
  defer { close(fd) }
  let text = Array("\(value)\n".utf8)
  return text.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } == text.count
}

/// Sets both soft and hard RLIMIT_MSGQUEUE of this process.
func setQueueByteLimit(_ bytes: UInt64) -> Bool {
  var limit = rlimit(rlim_cur: rlim_t(bytes), rlim_max: rlim_t(bytes))
  return setrlimit(__rlimit_resource_t(__RLIMIT_MSGQUEUE.rawValue), &limit) == 0
}

/// ``withQueue(_:capacity:access:options:_:)`` for async bodies.
func withQueue<R>(
  _ tag: String = "q", capacity: MsgQueue.Capacity = small, options: MsgQueue.Options = [],
  _ body: (MsgQueue) async throws -> R
) async throws -> R {
  let name = uniqueName(tag)
  let queue = try MsgQueue(name, options: options.union(.exclusive), capacity: capacity)
  defer { _ = CHinix_mq_unlink(name) }
  return try await body(queue)
}

/// Signals caught by ``installCountingHandler(_:)``, and the last one's details.
let caughtSignals = Atomic<Int>(0)
let lastSignalCode = Atomic<Int>(0)
let lastSignalValue = Atomic<Int>(0)

/// Installs a handler for `signal` without SA_RESTART that counts deliveries
/// and records `si_code` and `si_value.sival_int`, and unblocks `signal` on
/// the calling thread.
func installCountingHandler(_ signal: CInt) {
  var action = sigaction()
  action.__sigaction_handler.sa_sigaction = { _, info, _ in
    if let info {
      lastSignalCode.store(Int(info.pointee.si_code), ordering: .relaxed)
      lastSignalValue.store(Int(info.pointee._sifields._rt.si_sigval.sival_int), ordering: .relaxed)
    }
    caughtSignals.add(1, ordering: .sequentiallyConsistent)
  }
  action.sa_flags = SA_SIGINFO
  sigemptyset(&action.sa_mask)
  precondition(sigaction(signal, &action, nil) == 0)
  // Swift's pool threads (libdispatch workers) block signals; this thread must not.
  var set = sigset_t()
  sigemptyset(&set)
  sigaddset(&set, signal)
  precondition(pthread_sigmask(SIG_UNBLOCK, &set, nil) == 0)
}

/// Sleeps the calling thread.
func pause(_ milliseconds: Int) { usleep(useconds_t(milliseconds * 1000)) }
