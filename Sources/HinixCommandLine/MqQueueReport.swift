// What `hinix mq ls` and `hinix mq stat` report about one queue.

import FoundationEssentials
import Hinix

#if canImport(Glibc)
  import Glibc
#endif

/// One queue's owner, permissions, capacity, contents and notification
/// registration, read without receiving or changing anything.
///
/// The capacity and contents come from opening the queue read-only
/// (`mq_getattr(3)`, and `read(2)` of the status line); see
/// ``MsgQueue/status()``. Opening and closing a queue drops only this
/// process's own notification registration, and hinix registers none.
public struct MqQueueReport: Sendable, Hashable, Encodable {
  /// The queue's name, with its leading `/`.
  public var queueName: MsgQueueName
  /// The name as printable text (``MsgQueueName/description``): what text output shows.
  public var name: String { queueName.description }
  /// The owner's uid.
  public var uid: UInt32
  /// The owner's name, if the user database knows the uid.
  public var user: String?
  /// The group's gid.
  public var gid: UInt32
  /// The group's name, if the group database knows the gid.
  public var group: String?
  /// The permission bits.
  public var mode: UInt16
  /// `mq_maxmsg`: the most messages the queue holds; `nil` when it could not be opened.
  public var maxMessages: Int?
  /// `mq_msgsize`: the largest message, in bytes; `nil` when it could not be opened.
  public var messageSize: Int?
  /// `mq_curmsgs`: the messages queued now; `nil` when it could not be opened.
  public var currentMessages: Int?
  /// `QSIZE`: the bytes of all queued messages together; `nil` when unknown.
  public var queuedBytes: Int?
  /// Who is registered for notification (`NOTIFY_PID`, `NOTIFY`, `SIGNO`),
  /// or `nil` when nobody is (or it is unknown: see ``error``).
  public var notification: MqNotificationOwner?
  /// What the queue costs its creator's user under `RLIMIT_MSGQUEUE`, by the
  /// kernel's formula (``SystemLimits/chargedBytes(maxMessages:messageSize:)``).
  public var chargedBytes: Int?
  /// Why the queue could not be opened (for example `EACCES`), when it could not.
  public var error: String?

  /// The mode as four octal digits, such as `0600`.
  public var octalMode: String { mqOctal(mode) }

  /// Reads the queue that a directory entry shows, or returns `nil` if it was
  /// unlinked meanwhile.
  public static func read(_ entry: MqDirectoryEntry, names: MqNameCache) -> MqQueueReport? {
    var report = MqQueueReport(entry, names: names)
    do {
      let queue = try MsgQueue(entry.name, access: .readOnly)
      defer { try? queue.close() }
      try report.fill(from: queue)
    } catch let error as HinixError {
      if error.errno == .noSuchFileOrDirectory { return nil }
      report.error = "\(error.errno.symbolicName): \(error.errno.description)"
    } catch {
      report.error = String(describing: error)
    }
    return report
  }

  /// Reads the queue called `name`, opening it by name, so that no mount is needed.
  ///
  /// - Throws: ``HinixError``: `ENOENT` if there is no such queue, `EACCES`
  ///   if the caller may not open it for reading.
  public static func read(_ name: MsgQueueName, names: MqNameCache) throws -> MqQueueReport {
    let queue = try MsgQueue(name, access: .readOnly)
    defer { try? queue.close() }
    let info = try queue.withDescriptor { descriptor in
      var info = stat()
      guard fstat(descriptor.rawValue, &info) == 0 else {
        throw HinixError.current(.init(rawValue: "fstat"), queueName: name.description)
      }
      return info
    }
    let entry = MqDirectoryEntry(
      name: name, uid: info.st_uid, gid: info.st_gid, mode: UInt16(info.st_mode & 0o7777))
    var report = MqQueueReport(entry, names: names)
    try report.fill(from: queue)
    return report
  }

  private init(_ entry: MqDirectoryEntry, names: MqNameCache) {
    queueName = entry.name
    uid = entry.uid
    user = names.user(entry.uid)
    gid = entry.gid
    group = names.group(entry.gid)
    mode = entry.mode
  }

  private mutating func fill(from queue: MsgQueue) throws {
    let attributes = try queue.attributes()
    let status = try queue.status()
    maxMessages = attributes.maxMessages
    messageSize = attributes.messageSize
    currentMessages = attributes.currentMessages
    queuedBytes = status.queuedBytes
    notification = MqNotificationOwner(status)
    chargedBytes = SystemLimits.chargedBytes(
      maxMessages: attributes.maxMessages, messageSize: attributes.messageSize)
  }

  private enum CodingKeys: String, CodingKey {
    case name, nameBase64, uid, user, gid, group, mode, maxMessages, messageSize, currentMessages
    case queuedBytes, notification, chargedBytes, error
  }

  /// Every key is always present, `null` when the value is unknown, so the
  /// JSON has one shape. The mode is an octal string such as `"0600"`.
  ///
  /// A JSON string holds Unicode text, and a queue name is bytes: `name` is
  /// the name when it is valid UTF-8 (control characters escaped as JSON
  /// escapes them, `\u001b`), and `null` when it is not; `nameBase64` is
  /// always the name's exact bytes, leading `/` included, in base64.
  public func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(queueName.text, forKey: .name)
    try container.encode(Data(queueName.bytes).base64EncodedString(), forKey: .nameBase64)
    try container.encode(uid, forKey: .uid)
    try container.encode(user, forKey: .user)
    try container.encode(gid, forKey: .gid)
    try container.encode(group, forKey: .group)
    try container.encode(octalMode, forKey: .mode)
    try container.encode(maxMessages, forKey: .maxMessages)
    try container.encode(messageSize, forKey: .messageSize)
    try container.encode(currentMessages, forKey: .currentMessages)
    try container.encode(queuedBytes, forKey: .queuedBytes)
    try container.encode(notification, forKey: .notification)
    try container.encode(chargedBytes, forKey: .chargedBytes)
    try container.encode(error, forKey: .error)
  }
}

/// The process registered for notification on a queue (`mq_notify(3)`), as
/// the kernel's status line shows it.
public struct MqNotificationOwner: Sendable, Hashable, Encodable {
  /// `NOTIFY_PID`: the registered process, in the reader's PID namespace.
  public var pid: Int
  /// `NOTIFY` as `"signal"` (`SIGEV_SIGNAL`), `"none"` (`SIGEV_NONE`) or
  /// `"thread"` (`SIGEV_THREAD`).
  public var kind: String
  /// `SIGNO`, for `"signal"`.
  public var signal: Int?
  /// The signal's name, such as `SIGUSR1`.
  public var signalName: String?

  /// The registration a status line shows, or `nil` if nobody is registered.
  public init?(_ status: MsgQueue.Status) {
    guard status.notifyPID != 0 else { return nil }
    pid = status.notifyPID
    switch status.notify {
    case 0: kind = "signal"
    case 1: kind = "none"
    case 2: kind = "thread"
    default: kind = "notify \(status.notify)"
    }
    if kind == "signal" {
      signal = status.signal
      signalName = mqSignalName(CInt(clamping: status.signal))
    }
  }

  /// `1234 SIGUSR1`, `1234 SIGEV_NONE` or `1234 SIGEV_THREAD`.
  public var summary: String {
    switch kind {
    case "signal": "\(pid) \(signalName ?? "signal \(signal ?? 0)")"
    case "none": "\(pid) SIGEV_NONE"
    case "thread": "\(pid) SIGEV_THREAD"
    default: "\(pid) \(kind)"
    }
  }

  private enum CodingKeys: String, CodingKey { case pid, kind, signal, signalName }

  /// Every key is always present, `null` when it does not apply.
  public func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(pid, forKey: .pid)
    try container.encode(kind, forKey: .kind)
    try container.encode(signal, forKey: .signal)
    try container.encode(signalName, forKey: .signalName)
  }
}

/// User and group names by id, looked up once each with `getpwuid_r(3)` and
/// `getgrgid_r(3)`.
public final class MqNameCache {
  private var users: [uid_t: String?] = [:]
  private var groups: [gid_t: String?] = [:]

  /// An empty cache, for one thread.
  public init() {}

  /// The name of user `uid`, or `nil` if the user database has none.
  public func user(_ uid: uid_t) -> String? {
    if let known = users[uid] { return known }
    let name = Self.lookUp { buffer, size in
      var entry = passwd()
      var result: UnsafeMutablePointer<passwd>?
      let status = getpwuid_r(uid, &entry, buffer, size, &result)
      return (status, result == nil ? nil : String(cString: entry.pw_name))
    }
    users[uid] = name
    return name
  }

  /// The name of group `gid`, or `nil` if the group database has none.
  public func group(_ gid: gid_t) -> String? {
    if let known = groups[gid] { return known }
    let name = Self.lookUp { buffer, size in
      var entry = Glibc.group()
      var result: UnsafeMutablePointer<Glibc.group>?
      let status = getgrgid_r(gid, &entry, buffer, size, &result)
      return (status, result == nil ? nil : String(cString: entry.gr_name))
    }
    groups[gid] = name
    return name
  }

  /// Calls a `get*_r` function with a buffer that grows while it reports `ERANGE`.
  private static func lookUp(
    _ call: (UnsafeMutablePointer<CChar>, Int) -> (CInt, String?)
  ) -> String? {
    var size = 1024
    while size <= 1 << 20 {
      var buffer = [CChar](repeating: 0, count: size)
      let (status, name) = buffer.withUnsafeMutableBufferPointer { call($0.baseAddress!, size) }
      if status == ERANGE {
        size *= 4
        continue
      }
      return name
    }
    return nil
  }
}
