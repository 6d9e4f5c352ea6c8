// What a check sees while it runs in its worker process.

import CHinix
import Hinix

#if canImport(Glibc)
  import Glibc
#endif

/// The calling thread's errno.
var systemErrno: CInt { errno }

/// What a running check can use: unique queue names that are removed when it
/// ends, helper processes, and facts about the process.
///
/// A check runs in a worker process of its own, in a process group that the
/// harness kills when the check's deadline passes, so a call that hangs ends
/// with the check's failure, never a stuck run.
public final class CheckContext: @unchecked Sendable {
  /// The check being run.
  public let check: Check
  private var names: [String] = []
  private var children: [Child] = []
  private var serial = 0

  init(check: Check) { self.check = check }

  /// A queue name no other check, process or run uses; the queue is unlinked
  /// when the check ends.
  public func queueName(_ tag: String = "q") -> String {
    serial += 1
    let name = "/hxc-\(getpid())-\(tag)-\(serial)"
    names.append(name)
    // An unprivileged run's queues outlive a killed run: the next one sweeps them.
    QueueJournal.record(name)
    return name
  }

  /// Creates a fresh queue of `maxMessages` × `messageSize` (small by default,
  /// since RLIMIT_MSGQUEUE is shared by every process of the user).
  public func makeQueue(
    _ tag: String = "q", maxMessages: Int = 4, messageSize: Int = 64,
    access: MsgQueue.AccessMode = .readWrite, options: MsgQueue.Options = []
  ) throws -> MsgQueue {
    try MsgQueue(
      queueName(tag), access: access, options: options.union(.exclusive),
      capacity: .init(maxMessages: maxMessages, messageSize: messageSize))
  }

  /// Starts a helper process that runs the check's role `role` with `arguments`.
  /// It is in the check's process group, so the harness's deadline covers it.
  public func spawn(_ role: String, arguments: [String] = []) throws -> Child {
    guard check.roles[role] != nil else {
      throw HarnessError("check \(check.name) has no role \(role)")
    }
    let child = try Child.spawnSelf(
      ["__conform-worker", check.name, "--role", role] + arguments, newGroup: false)
    children.append(child)
    return child
  }

  /// Moves the calling thread into a new IPC namespace, where
  /// /proc/sys/fs/mqueue can be changed without touching anyone else.
  ///
  /// - Throws: ``CheckSkipped`` when the process may not create one.
  public func enterPrivateIPCNamespace() throws {
    guard CHinix_unshare(CHinix_CLONE_NEWIPC) == 0 else {
      throw CheckSkipped("needs a private IPC namespace, and unshare(CLONE_NEWIPC) failed with \(Errno(rawValue: systemErrno).symbolicName) (run as root)")
    }
  }

  /// Clears CAP_SYS_RESOURCE from this worker's effective capabilities, so
  /// that a clause about unprivileged callers can be checked where the run
  /// has the capability (root in a freshly booted kernel does; root on a
  /// container host often does not). Only the check's own worker process,
  /// and the helpers it starts afterwards, lose it.
  ///
  /// - Throws: ``CheckSkipped`` when capget(2) or capset(2) refuses.
  public func dropSysResource() throws {
    guard SystemLimits.current().hasSysResource else { return }
    // struct __user_cap_header_struct { version 3, pid 0 (this thread) } and
    // two struct __user_cap_data_struct { effective, permitted, inheritable }.
    var header: (UInt32, Int32) = (0x2008_0522, 0)
    var data = [UInt32](repeating: 0, count: 6)
    guard libcCapget(&header, &data) == 0 else {
      throw CheckSkipped("needs CAP_SYS_RESOURCE dropped, and capget failed with \(Errno(rawValue: systemErrno).symbolicName)")
    }
    data[0] &= ~(UInt32(1) << 24)  // CAP_SYS_RESOURCE, in the first word's effective set
    guard libcCapset(&header, &data) == 0, !SystemLimits.current().hasSysResource else {
      throw CheckSkipped("needs CAP_SYS_RESOURCE dropped, and capset failed with \(Errno(rawValue: systemErrno).symbolicName)")
    }
  }

  /// Writes `value` to /proc/sys/fs/mqueue/`name`; call only in a private namespace.
  ///
  /// - Throws: ``CheckSkipped`` when the kernel does not let this process
  ///   write the file at all (EACCES or EPERM: Linux 5.10 refuses it to root
  ///   in a user namespace, 6.1 and later allow it), so a check that needs to
  ///   change the limits is skipped with that reason rather than failed;
  ///   ``SysctlWriteError`` when the kernel refused this value.
  public func setSysctl(_ name: String, _ value: Int) throws {
    let path = "/proc/sys/fs/mqueue/" + name
    let fd = open(path, O_WRONLY | O_CLOEXEC)
    guard fd >= 0 else {
      let error = Errno(rawValue: systemErrno)
      if error == .permissionDenied || error == .notPermitted { throw sysctlNotWritable(path, error) }
      throw HarnessError("open \(path): \(error)")
    }
    defer { close(fd) }
    let text = Array("\(value)\n".utf8)
    let written = text.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    guard written == text.count else {
      let error = Errno(rawValue: systemErrno)
      if error == .permissionDenied || error == .notPermitted { throw sysctlNotWritable(path, error) }
      throw SysctlWriteError(errno: error)
    }
  }

  private func sysctlNotWritable(_ path: String, _ error: Errno) -> CheckSkipped {
    CheckSkipped(
      "needs to change \(path) in a private IPC namespace, and this kernel refused it with \(error.symbolicName) (uid \(getuid()))")
  }

  /// Removes the queues the check named and stops its helpers.
  func finish() {
    for name in names { _ = CHinix_mq_unlink(name) }
    for child in children { child.kill() }
  }
}

/// A write to /proc/sys/fs/mqueue that the kernel refused.
public struct SysctlWriteError: Error, Sendable {
  /// The error.
  public var errno: Errno
}

/// What a helper process sees: its arguments, and a way to report to the check.
public struct RoleContext: Sendable {
  /// The arguments the check passed.
  public var arguments: [String]

  /// Writes one line to the check that started this helper.
  public func report(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
  }
}

/// The harness failed, as opposed to the kernel.
public struct HarnessError: Error, Sendable, CustomStringConvertible {
  /// What went wrong.
  public var description: String
  /// Creates an error.
  public init(_ description: String) { self.description = description }
}

// glibc's capget(2) and capset(2), which Swift's Glibc module does not import
// (<sys/capability.h> is libcap's); both take two pointers.
@_silgen_name("capget")
private func libcCapget(_ header: UnsafeMutableRawPointer, _ data: UnsafeMutableRawPointer) -> CInt
@_silgen_name("capset")
private func libcCapset(_ header: UnsafeMutableRawPointer, _ data: UnsafeMutableRawPointer) -> CInt
