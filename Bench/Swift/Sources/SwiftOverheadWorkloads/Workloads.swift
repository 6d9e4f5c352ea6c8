// The operations the Swift-overhead benchmarks time: each one through the
// Hinix Swift API and through the CHinix C functions that API calls, on the
// same kind of queue or eventfd, one operation pair per iteration (send +
// receive, write + read), leaving the queue empty. Shared by the ordo-one
// benchmarks (Benchmarks/SwiftOverhead) and by hinix-swift-overhead, which
// interleaves them for ratios and runs them under callgrind and perf.

import CHinix
import Hinix

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// Which side of a pair: the Swift API or the C shim it calls.
public enum Side: String, CaseIterable, Sendable {
  case swift = "Swift"
  case c = "C"
}

/// A same-process operation pair measured through both sides.
public enum Operation: Hashable, Sendable, CustomStringConvertible {
  /// `send(_:priority:)` + `receive(into:)` of `size` bytes; C: mq_send + mq_receive.
  case mqSendReceive(size: Int)
  /// `trySend` + `tryReceive(into:)` of 64 bytes; C: mq_timedsend + mq_timedreceive with a past deadline.
  case mqTrySendReceive
  /// `write(1)` + `read()`; C: write(2) + read(2) of 8 bytes.
  case eventFdWriteRead
  /// `send([UInt8])` + `receive()` of 64 bytes, the allocating conveniences
  /// (Swift only: the C side is the buffer pair, to show what they cost).
  case mqArraySendMessageReceive

  /// `queue.async.send` + `queue.async.receive(into:)` of 64 bytes in one
  /// task; the queue is always ready, so this is the async calls' cost
  /// without a wait. C: the blocking pair mq_send + mq_receive.
  case mqAsyncSendReceive
  /// A round trip of 64 bytes over two queues between two parties, where
  /// every receive waits for the other party. Swift: two tasks using the
  /// async calls (waits go through the reactor); C: two threads blocking in
  /// mq_receive. One iteration is one round trip.
  case mqPingPong
  /// Messages of 64 bytes streamed from one party to another through a
  /// queue of 10 (throughput: the receiver waits when it is empty, the sender
  /// when it is full). Swift: two tasks using the async calls; C: two threads
  /// blocking. One iteration is one message.
  case mqStream

  /// Every operation, in report order.
  public static let all: [Operation] =
    [8, 64, 1024, 8192].map { .mqSendReceive(size: $0) } + [.mqTrySendReceive, .eventFdWriteRead, .mqArraySendMessageReceive]

  /// The async operations: async calls beside blocking ones, not Swift
  /// beside C (run them with `--operation`; they are not in ``all``, whose
  /// figures have the Swift-overhead targets).
  public static let async: [Operation] = [.mqAsyncSendReceive, .mqPingPong, .mqStream]

  public var description: String {
    switch self {
    case .mqSendReceive(let size): "mq send+receive \(size) B"
    case .mqTrySendReceive: "mq trySend+tryReceive 64 B"
    case .eventFdWriteRead: "eventfd write+read"
    case .mqArraySendMessageReceive: "mq send([UInt8])+receive() 64 B"
    case .mqAsyncSendReceive: "mq async send+receive 64 B"
    case .mqPingPong: "mq ping-pong 64 B, async tasks"
    case .mqStream: "mq stream 64 B, async tasks"
    }
  }

  /// A short identifier for command lines: `mq-8`, `mq-try-64`, `eventfd`, `mq-array-64`.
  public var identifier: String {
    switch self {
    case .mqSendReceive(let size): "mq-\(size)"
    case .mqTrySendReceive: "mq-try-64"
    case .eventFdWriteRead: "eventfd"
    case .mqArraySendMessageReceive: "mq-array-64"
    case .mqAsyncSendReceive: "mq-async-64"
    case .mqPingPong: "mq-pingpong-64"
    case .mqStream: "mq-stream-64"
    }
  }

  public init?(identifier: String) {
    guard let match = (Operation.all + Operation.async).first(where: { $0.identifier == identifier })
    else { return nil }
    self = match
  }

  /// What the C side of the pair is, for reports.
  public var cSide: String {
    switch self {
    case .mqArraySendMessageReceive, .mqAsyncSendReceive: "buffer send+receive (mq_send+mq_receive)"
    case .mqPingPong, .mqStream: "two threads blocking in mq_send and mq_receive"
    default: "same calls"
    }
  }

  /// Whether the Swift side is expected to allocate (the conveniences that return arrays).
  public var swiftAllocates: Bool { self == .mqArraySendMessageReceive }
}

/// Why a workload stopped: the call, and errno.
public struct WorkloadError: Error, CustomStringConvertible {
  public var call: String
  public var errno: CInt
  public var description: String { "\(call) failed: \(String(cString: strerror(errno))) (errno \(errno))" }
}

/// An open queue or eventfd and a buffer, ready to run one operation on one
/// side `n` times. Closing and unlinking happen in `deinit`.
public final class Workload {
  public let operation: Operation
  public let side: Side
  private let queueName: String?
  private let queue: MsgQueue?
  private let eventFd: EventFd?
  private let buffer: UnsafeMutableRawBufferPointer
  private let size: Int
  private let bytes: [UInt8]

  public init(_ operation: Operation, _ side: Side) throws {
    self.operation = operation
    self.side = side
    switch operation {
    case .mqSendReceive(let size): self.size = size
    case .mqTrySendReceive, .mqArraySendMessageReceive, .mqAsyncSendReceive, .mqPingPong, .mqStream: self.size = 64
    case .eventFdWriteRead: self.size = 8
    }
    buffer = .allocate(byteCount: max(size, 8), alignment: 16)
    buffer.initializeMemory(as: UInt8.self, repeating: 0x5a)
    bytes = [UInt8](repeating: 0x5a, count: size)
    if operation == .eventFdWriteRead {
      eventFd = try EventFd()
      queue = nil
      queueName = nil
    } else {
      let name = "/hinix-swiftbench-\(getpid())-\(operation.identifier)-\(side)-\(UInt32.random(in: 0 ... .max))"
      queue = try MsgQueue.createExclusive(name, maxMessages: 10, messageSize: max(size, 1))
      queueName = name
      eventFd = nil
    }
    if operation == .mqPingPong {
      let name = "/hinix-swiftbench-\(getpid())-pong-\(side)-\(UInt32.random(in: 0 ... .max))"
      replies = try MsgQueue.createExclusive(name, maxMessages: 10, messageSize: 64)
      repliesName = name
    } else {
      replies = nil
      repliesName = nil
    }
  }

  /// The second queue of a ping-pong: replies come back on it.
  private let replies: MsgQueue?
  private let repliesName: String?

  deinit {
    try? queue?.close()
    if let queueName { try? MsgQueue.unlink(queueName) }
    try? replies?.close()
    if let repliesName { try? MsgQueue.unlink(repliesName) }
    buffer.deallocate()
  }

  /// Runs the operation pair `n` times.
  public func run(_ n: Int) throws {
    switch (operation, side) {
    case (.mqSendReceive, .swift):
      let queue = queue!
      let message = UnsafeRawBufferPointer(start: buffer.baseAddress, count: size)
      for _ in 0 ..< n {
        try queue.send(message, priority: 1)
        _ = try queue.receive(into: buffer)
      }
    case (.mqTrySendReceive, .swift):
      let queue = queue!
      let message = UnsafeRawBufferPointer(start: buffer.baseAddress, count: size)
      for _ in 0 ..< n {
        guard try queue.trySend(message, priority: 1), try queue.tryReceive(into: buffer) != nil else {
          throw WorkloadError(call: "trySend/tryReceive on an empty queue", errno: EAGAIN)
        }
      }
    case (.mqArraySendMessageReceive, .swift):
      let queue = queue!
      for _ in 0 ..< n {
        try queue.send(bytes, priority: 1)
        _ = try queue.receive()
      }
    case (.mqAsyncSendReceive, .swift):
      let queue = queue!
      let address = UInt(bitPattern: buffer.baseAddress)
      let count = size
      try runTask {
        let buffer = UnsafeMutableRawBufferPointer(start: UnsafeMutableRawPointer(bitPattern: address), count: 64)
        let message = UnsafeRawBufferPointer(start: buffer.baseAddress, count: count)
        for _ in 0 ..< n {
          try await queue.async.send(message, priority: 1)
          _ = try await queue.async.receive(into: buffer)
        }
      }
    case (.mqPingPong, .swift):
      let (pings, pongs) = (queue!, replies!)
      try runTask {
        try await withThrowingTaskGroup(of: Void.self) { group in
          group.addTask {  // the echo party
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 16)
            defer { buffer.deallocate() }
            for _ in 0 ..< n {
              let got = try await pings.async.receive(into: buffer)
              try await pongs.async.send(UnsafeRawBufferPointer(rebasing: buffer[..<got.count]))
            }
          }
          let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 16)
          defer { buffer.deallocate() }
          buffer.initializeMemory(as: UInt8.self, repeating: 0x5a)
          for _ in 0 ..< n {
            try await pings.async.send(UnsafeRawBufferPointer(buffer))
            _ = try await pongs.async.receive(into: buffer)
          }
          try await group.waitForAll()
        }
      }
    case (.mqStream, .swift):
      let queue = queue!
      try runTask {
        try await withThrowingTaskGroup(of: Void.self) { group in
          group.addTask {  // the receiver
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 16)
            defer { buffer.deallocate() }
            for _ in 0 ..< n { _ = try await queue.async.receive(into: buffer) }
          }
          let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 16)
          defer { buffer.deallocate() }
          buffer.initializeMemory(as: UInt8.self, repeating: 0x5a)
          for _ in 0 ..< n { try await queue.async.send(UnsafeRawBufferPointer(buffer)) }
          try await group.waitForAll()
        }
      }
    case (.mqStream, .c):
      let mqd = queue!.descriptor.rawValue
      let receiver = try startThread {
        var buffer = [UInt8](repeating: 0, count: 64)
        var priority: UInt32 = 0
        for _ in 0 ..< n where CHinix_mq_receive(mqd, &buffer, 64, &priority) < 0 { return errno }
        return 0
      }
      for _ in 0 ..< n where CHinix_mq_send(mqd, buffer.baseAddress, 64, 0) != 0 {
        throw WorkloadError(call: "mq_send", errno: errno)
      }
      let code = receiver.join()
      if code != 0 { throw WorkloadError(call: "receiver thread", errno: code) }
      withExtendedLifetime(self) {}
    case (.mqPingPong, .c):
      let (pings, pongs) = (queue!.descriptor.rawValue, replies!.descriptor.rawValue)
      let echo = try startThread {
        var buffer = [UInt8](repeating: 0, count: 64)
        var priority: UInt32 = 0
        for _ in 0 ..< n {
          let got = CHinix_mq_receive(pings, &buffer, 64, &priority)
          if got < 0 || CHinix_mq_send(pongs, buffer, got, 0) != 0 { return errno }
        }
        return 0
      }
      var priority: UInt32 = 0
      for _ in 0 ..< n {
        if CHinix_mq_send(pings, buffer.baseAddress, 64, 0) != 0 { throw WorkloadError(call: "mq_send", errno: errno) }
        if CHinix_mq_receive(pongs, buffer.baseAddress, buffer.count, &priority) < 0 {
          throw WorkloadError(call: "mq_receive", errno: errno)
        }
      }
      let code = echo.join()
      if code != 0 { throw WorkloadError(call: "echo thread", errno: code) }
      withExtendedLifetime(self) {}
    case (.mqSendReceive, .c), (.mqArraySendMessageReceive, .c), (.mqAsyncSendReceive, .c):
      try queue!.withDescriptor { fd in
        let mqd = fd.rawValue
        var priority: UInt32 = 0
        for _ in 0 ..< n {
          if CHinix_mq_send(mqd, buffer.baseAddress, size, 1) != 0 {
            throw WorkloadError(call: "mq_send", errno: errno)
          }
          if CHinix_mq_receive(mqd, buffer.baseAddress, buffer.count, &priority) < 0 {
            throw WorkloadError(call: "mq_receive", errno: errno)
          }
        }
      }
    case (.mqTrySendReceive, .c):
      try queue!.withDescriptor { fd in
        let mqd = fd.rawValue
        var priority: UInt32 = 0
        var past = timespec(tv_sec: 0, tv_nsec: 0)
        for _ in 0 ..< n {
          if CHinix_mq_timedsend(mqd, buffer.baseAddress, size, 1, &past) != 0 {
            throw WorkloadError(call: "mq_timedsend", errno: errno)
          }
          if CHinix_mq_timedreceive(mqd, buffer.baseAddress, buffer.count, &priority, &past) < 0 {
            throw WorkloadError(call: "mq_timedreceive", errno: errno)
          }
        }
      }
    case (.eventFdWriteRead, .swift):
      let eventFd = eventFd!
      for _ in 0 ..< n {
        try eventFd.write(1)
        _ = try eventFd.read()
      }
    case (.eventFdWriteRead, .c):
      try eventFd!.withDescriptor { fd in
        var value: UInt64 = 0
        for _ in 0 ..< n {
          if CHinix_eventfd_write(fd.rawValue, 1) != 0 { throw WorkloadError(call: "write", errno: errno) }
          if CHinix_eventfd_read(fd.rawValue, &value) != 0 { throw WorkloadError(call: "read", errno: errno) }
        }
      }
    }
  }
}

// MARK: - Running async work from the synchronous harness

/// Runs `body` as a task and blocks the calling thread (the harness's main
/// thread, not one of the cooperative pool's) until it finishes.
func runTask(_ body: @escaping @Sendable () async throws -> Void) throws {
  let done = try EventFd()
  let failure = ErrorBox()
  Task {
    do { try await body() } catch { failure.set(error) }
    try? done.write(1)
  }
  _ = try done.read()
  if let error = failure.get() { throw error }
}

private final class ErrorBox: @unchecked Sendable {
  private var lock = pthread_mutex_t()
  private var error: (any Error)?
  init() { pthread_mutex_init(&lock, nil) }
  deinit { pthread_mutex_destroy(&lock) }
  func set(_ error: any Error) {
    pthread_mutex_lock(&lock)
    self.error = error
    pthread_mutex_unlock(&lock)
  }
  func get() -> (any Error)? {
    pthread_mutex_lock(&lock)
    defer { pthread_mutex_unlock(&lock) }
    return error
  }
}

/// A joinable thread running `body`, whose result is an errno (0: success).
struct JoinableThread {
  let thread: pthread_t
  func join() -> CInt {
    var result: UnsafeMutableRawPointer?
    pthread_join(thread, &result)
    return CInt(Int(bitPattern: result))
  }
}

private final class ThreadBody {
  let body: () -> CInt
  init(_ body: @escaping () -> CInt) { self.body = body }
}

func startThread(_ body: @escaping () -> CInt) throws -> JoinableThread {
  var thread = pthread_t()
  let context = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
  let result = pthread_create(&thread, nil, { context in
    let body = Unmanaged<ThreadBody>.fromOpaque(context!).takeRetainedValue()
    return UnsafeMutableRawPointer(bitPattern: Int(body.body()))
  }, context)
  guard result == 0 else { throw WorkloadError(call: "pthread_create", errno: result) }
  return JoinableThread(thread: thread)
}
