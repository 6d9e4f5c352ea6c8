import CHinix
import SystemPackage
import Testing

@testable import Hinix

#if canImport(Glibc)
  import Glibc
#endif

@Suite("Limits: which one was hit, explained (mq_overview(7) /proc interfaces, Resource limit)", .timeLimit(.minutes(1)))
struct LimitTests {
  @Test("SystemLimits reads /proc/sys/fs/mqueue and the resource limits")
  func readsProc() throws {
    let limits = SystemLimits.current()
    #expect(limits.msgMax == Int(readSmallFile("/proc/sys/fs/mqueue/msg_max")!.trimmingCharacters(in: "\n")))
    #expect(limits.queuesMax == Int(readSmallFile("/proc/sys/fs/mqueue/queues_max")!.trimmingCharacters(in: "\n")))
    var limit = rlimit()
    getrlimit(__rlimit_resource_t(__RLIMIT_MSGQUEUE.rawValue), &limit)
    #expect(limits.queueBytesLimit == UInt64(limit.rlim_cur))
    #expect(limits.descriptorLimit != nil)
  }

  @Test("The charge formula: maxmsg × (msgsize + 96) on x86_64; a default queue costs 82,880 bytes")
  func chargeFormula() {
    #expect(SystemLimits.chargedBytes(maxMessages: 10, messageSize: 8192) == 82_880)
    #expect(SystemLimits.chargedBytes(maxMessages: 1, messageSize: 1) == 97)
    #expect(SystemLimits.chargedBytes(maxMessages: .max, messageSize: .max) == .max)
    #expect(SystemLimits.chargedBytes(maxMessages: .max, messageSize: 1) == .max)
  }

  @Test("More messages than msg_max: EINVAL naming msg_max with both numbers")
  func overMsgMax() throws {
    let limits = SystemLimits.current()
    let maximum = try #require(limits.effectiveMessageCountMaximum)
    let name = uniqueName("mm")
    let error = hinixError {
      _ = try MsgQueue(name, options: .exclusive, capacity: .init(maxMessages: maximum + 1, messageSize: 64))
    }
    #expect(error?.errno == .invalidArgument)
    #expect(error?.limit == .messageCount(requested: maximum + 1, maximum: maximum))
    #expect(error?.limit?.name == "msg_max")
    #expect(error?.description.contains("msg_max: \(maximum + 1) messages were asked for and at most \(maximum) are allowed") == true)
    #expect(hinixError { try MsgQueue.unlink(name) }?.errno == .noSuchFileOrDirectory)
  }

  @Test("A larger message size than msgsize_max: EINVAL naming msgsize_max")
  func overMsgsizeMax() throws {
    let maximum = try #require(SystemLimits.current().effectiveMessageSizeMaximum)
    let error = hinixError {
      _ = try MsgQueue(uniqueName("ms"), options: .exclusive, capacity: .init(maxMessages: 1, messageSize: maximum + 1))
    }
    #expect(error?.errno == .invalidArgument)
    #expect(error?.limit == .messageSize(requested: maximum + 1, maximum: maximum))
  }

  @Test("Zero or negative attributes: EINVAL saying they must be positive")
  func nonPositiveAttributes() {
    let error = hinixError {
      _ = try MsgQueue(uniqueName("z"), options: .exclusive, capacity: .init(maxMessages: 0, messageSize: 64))
    }
    #expect(error?.errno == .invalidArgument)
    #expect(error?.limit == nil)
    #expect(error?.detail == "maxMessages and messageSize must both be at least 1")
  }

  @Test(
    "In a private IPC namespace: queues_max gives ENOSPC naming it, msg_max is read from that namespace",
    .enabled(if: canUnshareIPC, "needs CAP_SYS_ADMIN to create an IPC namespace"))
  func privateNamespaceLimits() async throws {
    await #expect(processExitsWith: .success) {
      // unshare(CLONE_NEWIPC) moves only this thread; every call below runs on it.
      precondition(CHinix_unshare(CHinix_CLONE_NEWIPC) == 0, "unshare: \(errno)")
      precondition(writeMqueueSysctl("queues_max", 1) && writeMqueueSysctl("msg_max", 20))
      let limits = SystemLimits.current()
      #expect(limits.queuesMax == 1)
      #expect(limits.msgMax == 20)
      let first = try MsgQueue("/ns-first", options: .exclusive, capacity: .init(maxMessages: 20, messageSize: 16))
      #expect(first.maxMessages == 20)
      let full = hinixError {
        _ = try MsgQueue("/ns-second", options: .exclusive, capacity: .init(maxMessages: 1, messageSize: 16))
      }
      #expect(full?.errno == .noSpace)
      #expect(full?.limit == .queueCount(maximum: 1))
      // An unlinked queue that is still open keeps counting until its last close.
      try MsgQueue.unlink("/ns-first")
      let stillCounted = hinixError {
        _ = try MsgQueue("/ns-second", options: .exclusive, capacity: .init(maxMessages: 1, messageSize: 16))
      }
      #expect(stillCounted?.errno == .noSpace)
      try first.close()
      let tooMany = hinixError {
        _ = try MsgQueue("/ns-third", options: .exclusive, capacity: .init(maxMessages: 21, messageSize: 16))
      }
      #expect(tooMany?.limit == .messageCount(requested: 21, maximum: 20))
    }
  }

  @Test(
    "RLIMIT_MSGQUEUE, for a fresh user: a queue costing exactly the limit fits, one byte more gives EMFILE with the bytes needed and left",
    .enabled(if: canSetUID, "needs CAP_SETUID to switch to a fresh uid"))
  func queueByteLimit() async throws {
    await #expect(processExitsWith: .success) {
      // A uid no one else uses has nothing charged yet, so every byte is accounted for.
      precondition(setuid(uid_t(61_000 + getpid() % 3_000)) == 0, "setuid: \(errno)")
      let cost = SystemLimits.chargedBytes(maxMessages: 2, messageSize: 64)
      #expect(cost == 320)
      precondition(setQueueByteLimit(UInt64(cost)))
      let name = "/hinix-rlimit-\(getpid())"
      let exact = try MsgQueue(name, options: .exclusive, capacity: .init(maxMessages: 2, messageSize: 64))
      try MsgQueue.unlink(name)
      try exact.close()
      precondition(setQueueByteLimit(UInt64(cost - 1)))
      let error = hinixError {
        _ = try MsgQueue(name, options: .exclusive, capacity: .init(maxMessages: 2, messageSize: 64))
      }
      #expect(error?.errno == .tooManyOpenFiles)
      #expect(error?.limit == .queueBytes(needed: 320, available: 319, limit: 319))
      #expect(error?.description.contains("RLIMIT_MSGQUEUE: the queue needs 320 bytes and about 319 of the 319 bytes are left") == true)
      #expect(hinixError { try MsgQueue.unlink(name) }?.errno == .noSuchFileOrDirectory)
    }
  }

  @Test(
    "RLIMIT_MSGQUEUE binds root too, and queues created without attributes are charged at the defaults",
    .enabled(if: canSetUID, "needs CAP_SETUID to switch to a fresh uid"))
  func queueByteLimitDefaults() async throws {
    await #expect(processExitsWith: .success) {
      precondition(setuid(uid_t(64_000 + getpid() % 1_000)) == 0, "setuid: \(errno)")
      let limits = SystemLimits.current()
      let size = limits.defaultCapacity
      let cost = SystemLimits.chargedBytes(maxMessages: size.maxMessages, messageSize: size.messageSize)
      precondition(setQueueByteLimit(UInt64(cost + 100)))
      let first = try MsgQueue("/hinix-default-\(getpid())", options: .exclusive)
      defer { try? MsgQueue.unlink(first.name) }
      let error = hinixError { _ = try MsgQueue("/hinix-default2-\(getpid())", options: .exclusive) }
      #expect(error?.limit == .queueBytes(needed: cost, available: 100, limit: UInt64(cost + 100)))
    }
  }

  @Test("EMFILE from RLIMIT_NOFILE is told apart from RLIMIT_MSGQUEUE")
  func descriptorLimit() async throws {
    let result = await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
      var limit = rlimit()
      getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
      // Fill the table up to a low limit.
      let cap = UInt64(openDescriptors() + 8)
      limit.rlim_cur = rlim_t(cap)
      precondition(setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0)
      var held: [EventFd] = []
      var last: HinixError?
      while last == nil {
        do throws(HinixError) { held.append(try EventFd()) } catch { last = error }
      }
      #expect(last?.errno == .tooManyOpenFiles)
      #expect(last?.limit == .descriptors(limit: cap), "\(String(describing: last))")
      let queueName = "/hinix-nofile-\(getpid())"
      defer { _ = CHinix_mq_unlink(queueName) }  // in case the open wrongly succeeds
      let queueError = hinixError { _ = try MsgQueue(queueName, options: .exclusive, capacity: small) }
      #expect(queueError?.limit == .descriptors(limit: cap), "\(String(describing: queueError))")
      if last?.limit != .descriptors(limit: cap) || queueError?.limit != .descriptors(limit: cap) {
        let text = Array("cap \(cap) held \(held.count): \(String(describing: last)) / \(String(describing: queueError))\n".utf8)
        _ = text.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
      }
      #expect(held.count > 0)
    }
    if let result, !result.standardErrorContent.isEmpty {
      Issue.record("child: \(String(decoding: result.standardErrorContent, as: UTF8.self))")
    }
  }

  @Test("Limit descriptions say what was hit and how to raise it")
  func descriptions() {
    #expect(Limit.queueCount(maximum: 256).description.contains("queues_max"))
    #expect(Limit.queueBytes(needed: 82_880, available: nil, limit: 819_200).description
      == "RLIMIT_MSGQUEUE: the queue needs 82,880 bytes and the limit is 819,200 bytes for this user (unlink unused queues, create smaller ones, or raise `ulimit -q`)")
    #expect(Limit.descriptors(limit: 1024).name == "RLIMIT_NOFILE")
    #expect(grouped(1_234_567) == "1,234,567")
    #expect(grouped(-1000) == "-1,000")
    #expect(grouped(12) == "12")
  }
}
