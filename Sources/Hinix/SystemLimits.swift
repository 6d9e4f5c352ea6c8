import CHinix

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// The limits that bound POSIX message queues for the calling process, as the
/// kernel reports them now.
///
/// The `/proc/sys/fs/mqueue` values are per IPC namespace; the resource limits
/// are per process (the bytes they count are charged per real user). A value
/// that could not be read is `nil`.
///
/// See `mq_overview(7)`, sections "/proc interfaces" and "Resource limit".
public struct SystemLimits: Sendable, Hashable {
  /// `msg_max`: the most messages a queue may hold, for a process without
  /// `CAP_SYS_RESOURCE`.
  public var msgMax: Int?
  /// `msgsize_max`: the largest message size, for a process without `CAP_SYS_RESOURCE`.
  public var msgsizeMax: Int?
  /// `msg_default`: the message count of a queue created without attributes.
  public var msgDefault: Int?
  /// `msgsize_default`: the message size of a queue created without attributes.
  public var msgsizeDefault: Int?
  /// `queues_max`: the most queues in this IPC namespace.
  public var queuesMax: Int?
  /// The soft `RLIMIT_MSGQUEUE`: the bytes the real user's queues may be charged.
  public var queueBytesLimit: UInt64?
  /// The soft `RLIMIT_NOFILE`: how many descriptors this process may have open.
  public var descriptorLimit: UInt64?
  /// Whether this process has `CAP_SYS_RESOURCE` in its effective set and in
  /// the initial user namespace, which lifts `msg_max`, `msgsize_max` and
  /// `queues_max` (but not the kernel's hard ceilings, nor `RLIMIT_MSGQUEUE`).
  public var hasSysResource: Bool

  /// The kernel's hard ceiling on a queue's message count (`HARD_MSGMAX`).
  public static let hardMessageCountMaximum = 65_536
  /// The kernel's hard ceiling on a queue's message size (`HARD_MSGSIZEMAX`).
  public static let hardMessageSizeMaximum = 16 * 1024 * 1024
  /// Bytes the kernel charges per message slot beside the message itself on a
  /// 64-bit kernel: a `struct msg_msg` (48) and a priority tree node (48).
  public static let overheadPerMessage = MemoryLayout<Int>.size == 8 ? 96 : 56

  /// Reads the limits now in force.
  public static func current() -> SystemLimits {
    func sysctl(_ name: String) -> Int? {
      readSmallFile("/proc/sys/fs/mqueue/" + name).flatMap {
        Int($0.trimmingCharacters(in: " \n"))
      }
    }
    return SystemLimits(
      msgMax: sysctl("msg_max"), msgsizeMax: sysctl("msgsize_max"),
      msgDefault: sysctl("msg_default"), msgsizeDefault: sysctl("msgsize_default"),
      queuesMax: sysctl("queues_max"),
      queueBytesLimit: softLimit(__RLIMIT_MSGQUEUE),
      descriptorLimit: softLimit(RLIMIT_NOFILE),
      hasSysResource: isInInitialUserNamespace()
        && effectiveCapabilities().map { $0 & (1 << 24) != 0 } ?? false)
  }

  /// The largest message count this process may ask for.
  public var effectiveMessageCountMaximum: Int? {
    hasSysResource ? Self.hardMessageCountMaximum : msgMax
  }

  /// The largest message size this process may ask for.
  public var effectiveMessageSizeMaximum: Int? {
    hasSysResource ? Self.hardMessageSizeMaximum : msgsizeMax
  }

  /// The attributes a queue created without any gets: `msg_default` and
  /// `msgsize_default`, capped by `msg_max` and `msgsize_max`.
  public var defaultCapacity: (maxMessages: Int, messageSize: Int) {
    (
      min(msgDefault ?? 10, msgMax ?? 10),
      min(msgsizeDefault ?? 8192, msgsizeMax ?? 8192)
    )
  }

  /// The bytes the kernel charges to the creator's `RLIMIT_MSGQUEUE` for a
  /// queue of `maxMessages` messages of `messageSize` bytes:
  /// `maxMessages × (messageSize + overhead)`, where the overhead is a
  /// `struct msg_msg` and a priority tree node (96 bytes on x86_64).
  ///
  /// The formula is the kernel's (`ipc/mqueue.c`, `mqueue_get_inode`); the tree
  /// node count is capped at `MQ_PRIO_MAX` (32768).
  /// Saturates at `Int.max` rather than overflow, and is 0 when either
  /// argument is below 0 (the kernel creates no such queue).
  public static func chargedBytes(maxMessages: Int, messageSize: Int) -> Int {
    guard maxMessages >= 0, messageSize >= 0 else { return 0 }
    let half = overheadPerMessage / 2
    let nodes = min(maxMessages, Int(CHinix_MQ_PRIO_MAX))
    let (payload, o1) = maxMessages.multipliedReportingOverflow(by: messageSize)
    let (messages, o2) = maxMessages.multipliedReportingOverflow(by: half)
    let (sum, o3) = payload.addingReportingOverflow(messages)
    let (total, o4) = sum.addingReportingOverflow(nodes * half)
    return o1 || o2 || o3 || o4 ? .max : total
  }
}

// MARK: - Explaining mq_open failures

extension SystemLimits {
  /// Which limit an `mq_open` failure with `errno` hit, if any.
  ///
  /// - Parameters:
  ///   - errno: What `mq_open` failed with.
  ///   - creating: Whether `O_CREAT` was given.
  ///   - capacity: The attributes asked for, or `nil` for the defaults.
  ///   - probe: Whether to measure the bytes left under `RLIMIT_MSGQUEUE` by
  ///     creating and removing small temporary queues.
  package func explainOpenFailure(
    errno: CInt, creating: Bool, capacity: MsgQueue.Capacity?, probe: Bool
  ) -> (limit: Limit?, detail: String?) {
    switch errno {
    case EINVAL where creating:
      guard let capacity else { return (nil, nil) }
      if capacity.maxMessages <= 0 || capacity.messageSize <= 0 {
        return (nil, "maxMessages and messageSize must both be at least 1")
      }
      if let maximum = effectiveMessageCountMaximum, capacity.maxMessages > maximum {
        return (.messageCount(requested: capacity.maxMessages, maximum: maximum), nil)
      }
      if let maximum = effectiveMessageSizeMaximum, capacity.messageSize > maximum {
        return (.messageSize(requested: capacity.messageSize, maximum: maximum), nil)
      }
      return (nil, nil)
    case ENOSPC where creating:
      return (queuesMax.map { .queueCount(maximum: $0) }, nil)
    case EMFILE:
      if let descriptorLimit, atDescriptorLimit() {
        return (.descriptors(limit: descriptorLimit), nil)
      }
      guard creating, let limit = queueBytesLimit else {
        return (descriptorLimit.map { .descriptors(limit: $0) }, nil)
      }
      let size = capacity.map { ($0.maxMessages, $0.messageSize) } ?? defaultCapacity
      let needed = Self.chargedBytes(maxMessages: size.0, messageSize: size.1)
      let available = probe ? probeQueueBytesAvailable(below: needed) : nil
      return (.queueBytes(needed: needed, available: available, limit: limit), nil)
    default:
      return (nil, nil)
    }
  }

  /// A lower bound on the bytes the real user may still be charged under
  /// `RLIMIT_MSGQUEUE`, below `ceiling`, found by binary search with
  /// temporary queues (each created exclusively, unlinked and closed at
  /// once). Returns 0 if not even the smallest queue fits, `nil` if probing
  /// failed for another reason.
  func probeQueueBytesAvailable(below ceiling: Int) -> Int? {
    let sizeMaximum = effectiveMessageSizeMaximum ?? 8192
    let countMaximum = effectiveMessageCountMaximum ?? 10
    if ceiling <= Self.chargedBytes(maxMessages: 1, messageSize: 1) { return 0 }

    /// Whether a queue of this size can be created now; `nil` on an unexpected error.
    func fits(_ maxMessages: Int, _ messageSize: Int) -> Bool? {
      let name = "/hinix-probe-\(getpid())-\(UInt32.random(in: 0 ... .max))"
      let fd = CHinix_mq_open_attr(
        name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600, maxMessages, messageSize)
      if fd == -1 { return systemErrno == EMFILE ? false : nil }
      CHinix_mq_unlink(name)
      CHinix_mq_close(fd)
      return true
    }

    // One slot: the largest message size that fits.
    var best = 0
    var low = 1
    var high = min(sizeMaximum, ceiling - Self.overheadPerMessage - 1)
    while low <= high {
      let mid = (low + high) / 2
      guard let ok = fits(1, mid) else { return nil }
      if ok {
        best = Self.chargedBytes(maxMessages: 1, messageSize: mid)
        low = mid + 1
      } else {
        high = mid - 1
      }
    }
    // One slot of the largest size fits: the most such slots that fit.
    guard best == Self.chargedBytes(maxMessages: 1, messageSize: sizeMaximum) else { return best }
    var lowCount = 2
    var highCount = countMaximum
    while lowCount <= highCount {
      let mid = (lowCount + highCount) / 2
      let cost = Self.chargedBytes(maxMessages: mid, messageSize: sizeMaximum)
      guard cost < ceiling else {
        highCount = mid - 1
        continue
      }
      guard let ok = fits(mid, sizeMaximum) else { return nil }
      if ok {
        best = cost
        lowCount = mid + 1
      } else {
        highCount = mid - 1
      }
    }
    return best
  }
}

// MARK: - Reading the system

/// The contents of a small file such as a `/proc` entry, or `nil`.
package func readSmallFile(_ path: String) -> String? {
  let fd = open(path, O_RDONLY | O_CLOEXEC)
  guard fd >= 0 else { return nil }
  defer { close(fd) }
  var bytes: [UInt8] = []
  var chunk = [UInt8](repeating: 0, count: 4096)
  while true {
    let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    if count < 0 && systemErrno == EINTR { continue }
    guard count > 0 else { break }
    bytes += chunk[..<count]
  }
  return String(decoding: bytes, as: UTF8.self)
}

private func softLimit(_ resource: __rlimit_resource) -> UInt64? {
  var limit = rlimit()
  guard getrlimit(__rlimit_resource_t(resource.rawValue), &limit) == 0 else { return nil }
  return UInt64(limit.rlim_cur)
}

/// The effective capability set from `/proc/self/status` (`CapEff`).
func effectiveCapabilities() -> UInt64? {
  guard let status = readSmallFile("/proc/self/status") else { return nil }
  for line in status.split(separator: "\n") where line.hasPrefix("CapEff:") {
    return UInt64(line.dropFirst("CapEff:".count).trimmingCharacters(in: " \t"), radix: 16)
  }
  return nil
}

/// Whether the process is in the initial user namespace, where the kernel's
/// `capable(CAP_SYS_RESOURCE)` check for message queues looks. Root in a user
/// namespace has the bit in `CapEff`, but the mqueue limits still bind it.
func isInInitialUserNamespace() -> Bool {
  guard let map = readSmallFile("/proc/self/uid_map") else { return true }
  let fields = map.split(whereSeparator: { $0 == " " || $0 == "\n" })
  return fields.count == 3 && fields[0] == "0" && fields[1] == "0" && fields[2] == "4294967295"
}

/// Whether opening one more descriptor fails with `EMFILE` (`RLIMIT_NOFILE`).
func atDescriptorLimit() -> Bool {
  let fd = open("/dev/null", O_RDONLY | O_CLOEXEC)
  if fd >= 0 {
    close(fd)
    return false
  }
  return systemErrno == EMFILE
}

extension StringProtocol {
  func trimmingCharacters(in set: String) -> String {
    let scalars = Set(set.unicodeScalars)
    var slice = Substring(self)
    while let first = slice.unicodeScalars.first, scalars.contains(first) {
      slice = slice.dropFirst()
    }
    while let last = slice.unicodeScalars.last, scalars.contains(last) {
      slice = slice.dropLast()
    }
    return String(slice)
  }
}
