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

  /// Every operation, in report order.
  public static let all: [Operation] =
    [8, 64, 1024, 8192].map { .mqSendReceive(size: $0) } + [.mqTrySendReceive, .eventFdWriteRead, .mqArraySendMessageReceive]

  public var description: String {
    switch self {
    case .mqSendReceive(let size): "mq send+receive \(size) B"
    case .mqTrySendReceive: "mq trySend+tryReceive 64 B"
    case .eventFdWriteRead: "eventfd write+read"
    case .mqArraySendMessageReceive: "mq send([UInt8])+receive() 64 B"
    }
  }

  /// A short identifier for command lines: `mq-8`, `mq-try-64`, `eventfd`, `mq-array-64`.
  public var identifier: String {
    switch self {
    case .mqSendReceive(let size): "mq-\(size)"
    case .mqTrySendReceive: "mq-try-64"
    case .eventFdWriteRead: "eventfd"
    case .mqArraySendMessageReceive: "mq-array-64"
    }
  }

  public init?(identifier: String) {
    guard let match = Operation.all.first(where: { $0.identifier == identifier }) else { return nil }
    self = match
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
    case .mqTrySendReceive, .mqArraySendMessageReceive: self.size = 64
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
  }

  deinit {
    try? queue?.close()
    if let queueName { try? MsgQueue.unlink(queueName) }
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
    case (.mqSendReceive, .c), (.mqArraySendMessageReceive, .c):
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
