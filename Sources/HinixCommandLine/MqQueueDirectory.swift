// The message queue file system's directory: which queues exist.
//
// POSIX has no call that lists message queues. Linux keeps every queue of an
// IPC namespace as a file in that namespace's mqueue file system, and mounting
// the file system shows them as a directory (mq_overview(7), "Mounting the
// message queue filesystem"). Most hosts do not mount it, so this file mounts
// it privately, in a way nobody else can see and nothing has to be undone:
//
// 1. A detached mount (fsopen(2), fsconfig(2), fsmount(2); Linux 5.2): a
//    mount that is attached to no mount tree, reached only through this
//    process's descriptor, and freed by the kernel when the descriptor is
//    closed, even if the process is killed. The file system context takes the
//    IPC namespace of the caller, so it always shows the caller's queues.
// 2. A private mount namespace (unshare(2) CLONE_NEWNS, then mount(2)), for
//    kernels or seccomp filters without the new mount API. unshare(CLONE_NEWNS)
//    fails with EINVAL in a multithreaded process (the threads share one
//    fs_struct), so it is tried only while the process has one thread.
// 3. An mqueue file system that is already mounted (/proc/self/mountinfo),
//    which needs no privilege, but may belong to another IPC namespace.
//
// 1 and 2 need CAP_SYS_ADMIN; 3 works for anyone who can read the directory.

import ArgumentParser
import CHinix
import Hinix

#if canImport(Glibc)
  import Glibc
#endif

/// How ``MqQueueDirectory`` reaches the message queue file system.
public enum MqDirectorySource: String, CaseIterable, Sendable, ExpressibleByArgument {
  /// Try ``detached``, then ``namespace``, then ``mounted``.
  case auto
  /// A detached mount made with fsopen(2) and fsmount(2).
  case detached
  /// A mount in a private mount namespace, made with unshare(2) and mount(2).
  case namespace
  /// An mqueue file system already mounted somewhere, such as /dev/mqueue.
  case mounted
}

/// A queue as its directory entry shows it: the name, and the owner and mode
/// of its inode.
public struct MqDirectoryEntry: Sendable, Hashable {
  /// The queue's name, with its leading `/`.
  public var name: MsgQueueName
  /// The owner: the effective uid of the process that created the queue.
  public var uid: uid_t
  /// The group: the effective gid of the process that created the queue.
  public var gid: gid_t
  /// The permission bits (`0o600` for Hinix's default).
  public var mode: UInt16
}

/// The queues of the caller's IPC namespace.
public struct MqQueueListing: Sendable {
  /// The queues, sorted by name.
  public var entries: [MqDirectoryEntry]
  /// How the directory was reached.
  public var source: MqDirectorySource
  /// Where it was mounted, for ``MqDirectorySource/mounted``.
  public var mountPoint: String?
}

/// Lists the message queues of the caller's IPC namespace.
public enum MqQueueDirectory {
  /// Lists the queues, reaching the file system through `source`.
  ///
  /// Receives nothing and changes no queue. ``MqDirectorySource/namespace``
  /// moves this process into a mount namespace of its own;
  /// ``MqDirectorySource/mounted`` opens queues by name (and closes them) to
  /// check that the mount shows this IPC namespace.
  ///
  /// - Throws: ``HinixError`` saying what is needed when no source works.
  public static func list(source: MqDirectorySource = .auto) throws -> MqQueueListing {
    switch source {
    case .detached:
      return try listing(.detached, directory: detachedMount())
    case .namespace:
      return try listing(.namespace, directory: privateNamespaceMount())
    case .mounted:
      return try listingOfExistingMount()
    case .auto:
      return try listAnyWay()
    }
  }

  /// The mount points of every mqueue file system in this process's mount
  /// namespace, from /proc/self/mountinfo (see proc_pid_mountinfo(5)).
  public static func mountPoints() -> [String] {
    guard let text = readSmallFile("/proc/self/mountinfo") else { return [] }
    var points: [String] = []
    for line in text.split(separator: "\n") {
      // ID PARENT MAJ:MIN ROOT MOUNT-POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER-OPTIONS
      let fields = line.split(separator: " ", omittingEmptySubsequences: false)
      guard fields.count > 4, let dash = fields.firstIndex(of: "-"), dash + 1 < fields.count,
        fields[dash + 1] == "mqueue"
      else { continue }
      points.append(unescapeMountField(fields[4]))
    }
    return points
  }

  // MARK: Strategies

  /// Tries each source in turn; if none works, throws the most telling error
  /// with a sentence saying what would make it work.
  private static func listAnyWay() throws -> MqQueueListing {
    let detachedError: HinixError
    do {
      return try listing(.detached, directory: detachedMount())
    } catch let error as HinixError {
      detachedError = error
    }
    var namespaceError: HinixError?
    do {
      return try listing(.namespace, directory: privateNamespaceMount())
    } catch let error as HinixError {
      namespaceError = error
    }
    if !mountPoints().isEmpty { return try listingOfExistingMount() }
    // ENOSYS from fsopen means an old kernel or a seccomp filter: then the
    // namespace attempt's error says more.
    let error = detachedError.errno == .noFunction ? namespaceError ?? detachedError : detachedError
    if error.errno == .notPermitted {
      throw error.withDetail(
        "listing queues needs CAP_SYS_ADMIN (run as root) to mount the mqueue file system privately,"
        + " or a mounted one (as root: mkdir -p /dev/mqueue && mount -t mqueue none /dev/mqueue)")
    }
    throw error
  }

  /// The root of a new detached mount of this IPC namespace's mqueue file
  /// system, read-only. The mount goes away with the last descriptor of it.
  ///
  /// See fsopen(2), fsconfig(2), fsmount(2).
  private static func detachedMount() throws -> CInt {
    let context = fsopen("mqueue", CUnsignedInt(FSOPEN_CLOEXEC))
    guard context >= 0 else { throw HinixError.current(.init(rawValue: "fsopen(\"mqueue\")")) }
    defer { close(context) }
    guard fsconfig(context, CUnsignedInt(FSCONFIG_CMD_CREATE.rawValue), nil, nil, 0) == 0 else {
      throw HinixError.current(.init(rawValue: "fsconfig(FSCONFIG_CMD_CREATE)"))
    }
    let attributes = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC
    let mount = fsmount(context, CUnsignedInt(FSMOUNT_CLOEXEC), CUnsignedInt(attributes))
    guard mount >= 0 else { throw HinixError.current(.init(rawValue: "fsmount")) }
    // The mount descriptor is an O_PATH one: open the directory itself to read it.
    defer { close(mount) }
    let directory = openat(mount, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard directory >= 0 else { throw HinixError.current(.init(rawValue: "openat")) }
    return directory
  }

  /// The root of the mqueue file system, mounted in a private mount namespace
  /// and at once lazily unmounted again: the open descriptor keeps it
  /// readable, and nothing is left mounted anywhere.
  ///
  /// The mount point is an existing directory (/tmp), which the mount hides
  /// from this process alone for a moment; nothing is created on disk, so
  /// nothing is left behind if the process dies. See mount_namespaces(7):
  /// the namespace starts as a copy whose mounts may propagate to and from
  /// the host's peers, so everything is first made private (MS_REC | MS_PRIVATE).
  private static func privateNamespaceMount() throws -> CInt {
    let threads = mqThreadCount()
    guard threads == 1 else {
      throw HinixError(
        .invalidArgument, operation: .init(rawValue: "unshare(CLONE_NEWNS)"),
        detail: "the process has \(threads.map(String.init) ?? "several") threads, and only a single-threaded process can enter a new mount namespace")
    }
    guard CHinix_unshare(CHinix_CLONE_NEWNS) == 0 else {
      throw HinixError.current(.init(rawValue: "unshare(CLONE_NEWNS)"))
    }
    guard Glibc.mount(nil, "/", nil, UInt(MS_REC | MS_PRIVATE), nil) == 0 else {
      throw HinixError.current(.init(rawValue: "mount(\"/\", MS_REC | MS_PRIVATE)"))
    }
    let mountPoint = "/tmp"
    let flags = UInt(MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)
    guard Glibc.mount("mqueue", mountPoint, "mqueue", flags, nil) == 0 else {
      throw HinixError.current(.init(rawValue: "mount(\"mqueue\", \"\(mountPoint)\")"))
    }
    let directory = open(mountPoint, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    let openErrno = errno
    umount2(mountPoint, CInt(MNT_DETACH))
    guard directory >= 0 else {
      throw HinixError(Errno(rawValue: openErrno), operation: .init(rawValue: "open(\"\(mountPoint)\")"))
    }
    return directory
  }

  /// The queues in the first mqueue file system mounted in this mount
  /// namespace, after checking that it shows this IPC namespace's queues.
  private static func listingOfExistingMount() throws -> MqQueueListing {
    guard let mountPoint = mountPoints().first else {
      throw HinixError(
        .noSuchFileOrDirectory, operation: .init(rawValue: "/proc/self/mountinfo"),
        detail: "no mqueue file system is mounted (as root: mkdir -p /dev/mqueue && mount -t mqueue none /dev/mqueue)")
    }
    let directory = open(mountPoint, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard directory >= 0 else { throw HinixError.current(.init(rawValue: "open(\"\(mountPoint)\")")) }
    return try listing(.mounted, directory: directory, mountPoint: mountPoint)
  }

  // MARK: Reading the directory

  /// Reads the directory open as `directory`, and closes it.
  private static func listing(
    _ source: MqDirectorySource, directory: CInt, mountPoint: String? = nil
  ) throws -> MqQueueListing {
    guard let stream = fdopendir(directory) else {
      let error = HinixError.current(.init(rawValue: "fdopendir"))
      close(directory)
      throw error
    }
    defer { closedir(stream) }
    let entries = try readEntries(stream)
    if let mountPoint {
      try checkNamespace(of: entries, directory: dirfd(stream), mountPoint: mountPoint)
    }
    return MqQueueListing(entries: entries.sorted { $0.name < $1.name }, source: source, mountPoint: mountPoint)
  }

  /// Every queue in the directory. A queue unlinked while the directory is
  /// read is left out.
  private static func readEntries(_ stream: OpaquePointer) throws -> [MqDirectoryEntry] {
    var entries: [MqDirectoryEntry] = []
    while true {
      errno = 0
      guard let entry = readdir(stream) else {
        if errno != 0 { throw HinixError.current(.init(rawValue: "readdir")) }
        return entries
      }
      // The name's exact bytes: a queue name need not be UTF-8.
      let name = withUnsafeBytes(of: entry.pointee.d_name) { Array($0.prefix { $0 != 0 }) }
      guard let queueName = try? MsgQueueName(bytes: [UInt8(ascii: "/")] + name) else {
        continue  // "." and ".."
      }
      var info = stat()
      guard fstatat(dirfd(stream), queueName.fileName, &info, AT_SYMLINK_NOFOLLOW) == 0 else {
        if errno == ENOENT { continue }
        throw HinixError.current(.init(rawValue: "fstatat(\"\(MsgQueueName.printable(name))\")"))
      }
      entries.append(
        MqDirectoryEntry(
          name: queueName, uid: info.st_uid, gid: info.st_gid, mode: UInt16(info.st_mode & 0o7777)))
    }
  }

  /// Checks that an existing mount shows the caller's IPC namespace.
  ///
  /// A mount keeps the IPC namespace of the process that made it, so after
  /// `unshare --ipc` without `--mount`, /dev/mqueue still shows the old
  /// namespace's queues. The first queue that opens by name (which
  /// `mq_open(3)` looks up in the caller's namespace) must be the same file
  /// as its directory entry; a name that is in the directory but that
  /// `mq_open` does not find means another namespace. An empty directory
  /// cannot be checked.
  private static func checkNamespace(
    of entries: [MqDirectoryEntry], directory: CInt, mountPoint: String
  ) throws {
    for entry in entries {
      switch isOwnNamespace(entry, directory: directory) {
      case true?: return
      case false?:
        throw HinixError(
          .invalidArgument, operation: .init(rawValue: "open(\"\(mountPoint)\")"),
          detail: "the mqueue file system mounted at \(mountPoint) belongs to another IPC namespace; mount it again from this one")
      case nil: continue
      }
    }
  }

  /// Whether `mq_open` finds the same queue as the directory entry (`true`),
  /// finds none although the entry is still there (`false`), or cannot tell
  /// (`nil`: no permission, or the queue was unlinked meanwhile).
  private static func isOwnNamespace(_ entry: MqDirectoryEntry, directory: CInt) -> Bool? {
    let fileName = entry.name.fileName
    var listed = stat()
    let queue = entry.name.withCString { CHinix_mq_open($0, O_RDONLY | O_CLOEXEC, 0, nil) }
    guard queue >= 0 else {
      guard errno == ENOENT else { return nil }
      return fstatat(directory, fileName, &listed, AT_SYMLINK_NOFOLLOW) == 0 ? false : nil
    }
    defer { CHinix_mq_close(queue) }
    var opened = stat()
    guard fstat(queue, &opened) == 0,
      fstatat(directory, fileName, &listed, AT_SYMLINK_NOFOLLOW) == 0
    else { return nil }
    return opened.st_dev == listed.st_dev && opened.st_ino == listed.st_ino
  }

  /// Undoes the octal escapes of a mountinfo field (`\040` for a space).
  private static func unescapeMountField(_ field: Substring) -> String {
    var bytes: [UInt8] = []
    var rest = Array(field.utf8)[...]
    while let byte = rest.first {
      if byte == UInt8(ascii: "\\"), rest.count >= 4,
        let value = UInt8(String(decoding: rest.dropFirst().prefix(3), as: UTF8.self), radix: 8)
      {
        bytes.append(value)
        rest = rest.dropFirst(4)
      } else {
        bytes.append(byte)
        rest = rest.dropFirst()
      }
    }
    return String(decoding: bytes, as: UTF8.self)
  }
}

// MARK: - Small helpers shared by the hinix mq commands

/// How many threads this process has, from /proc/self/status (`Threads:`).
func mqThreadCount() -> Int? {
  guard let status = readSmallFile("/proc/self/status") else { return nil }
  for line in status.split(separator: "\n") where line.hasPrefix("Threads:") {
    return Int(line.dropFirst("Threads:".count).filter { !$0.isWhitespace })
  }
  return nil
}

extension MsgQueueName {
  /// The name without its leading `/`, as a NUL-terminated C string: the
  /// exact bytes of its file in the mqueue file system.
  var fileName: [CChar] { bytes.dropFirst().map { CChar(bitPattern: $0) } + [0] }
}
