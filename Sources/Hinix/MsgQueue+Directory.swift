import CHinix
import SystemPackage

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

// MARK: - Listing the queues of the IPC namespace

extension MsgQueue {
  /// A queue found by ``MsgQueue/list(readingAttributes:)``: its name, owner
  /// and mode, and, where the queue could be opened, its attributes.
  public struct DirectoryEntry: Sendable, Hashable {
    /// The name's exact bytes, with the leading `/`. A name need not be
    /// UTF-8: another program may have made it with any bytes but `/` and NUL.
    public let nameBytes: [UInt8]
    /// The name, with the same bytes as ``nameBytes``, to open the queue with;
    /// `nil` only if the file system showed a name the kernel would refuse.
    public let name: MsgQueueName?
    /// The owner: the effective user ID of the process that created the queue.
    public let userID: UInt32
    /// The group: the effective group ID of the process that created the queue.
    public let groupID: UInt32
    /// The queue's mode (`0o600` for Hinix's default).
    public let permissions: FilePermissions
    /// The capacity and the messages queued now, or `nil` if they were not
    /// read or the queue could not be opened (see ``attributesError``).
    /// ``MsgQueue/Attributes/isNonBlocking`` describes the short-lived
    /// descriptor that read them and means nothing here.
    public let attributes: Attributes?
    /// The bytes queued and the notification registration, or `nil` as for
    /// ``attributes``.
    public let status: Status?
    /// Why ``attributes`` and ``status`` are `nil` when they were asked for:
    /// usually `EACCES`, for a queue the caller may not read.
    public let attributesError: HinixError?
  }

  /// Lists the message queues of the calling process's IPC namespace, sorted
  /// by the bytes of their names. Receives nothing and changes no queue.
  ///
  /// POSIX has no call that lists queues; Linux shows each IPC namespace's
  /// queues as the files of its mqueue file system (`mq_overview(7)`).
  /// Hinix reads that file system in one of two ways:
  ///
  /// 1. A detached mount (`fsopen`, `fsmount`, Linux 5.2): a mount in no
  ///    mount tree, reached only through a descriptor and gone when it is
  ///    closed. It always shows this process's IPC namespace, and needs
  ///    `CAP_SYS_ADMIN`.
  /// 2. Otherwise, an mqueue file system already mounted, such as
  ///    `/dev/mqueue` (from `/proc/self/mountinfo`), which needs no
  ///    privilege. A mount shows the IPC namespace it was made in, so Hinix
  ///    first checks it against this one by creating a queue with a unique
  ///    name (1 message of 1 byte), comparing its device with the mount's,
  ///    and removing it.
  ///
  /// The `hinix mq ls` tool can also mount the file system in a private
  /// mount namespace; a library should not move its process into one.
  ///
  /// - Parameter readingAttributes: Whether to open each queue read-only for
  ///   a moment to read its attributes and status line. Closing that
  ///   descriptor drops this process's `mq_notify` registration on the queue,
  ///   as closing any descriptor of it does: pass `false` if the process
  ///   relies on one.
  /// - Returns: The queues. A queue removed while the directory is read is
  ///   left out.
  /// - Throws: ``HinixError``: `EPERM` or `ENOENT` when neither way works,
  ///   with a detail that says what is needed (`CAP_SYS_ADMIN`, or a
  ///   mounted mqueue file system); `EINVAL` when the only mount belongs to
  ///   another IPC namespace.
  ///
  /// The corresponding C functions are `fsopen`, `fsconfig`, `fsmount`,
  /// `openat`, `readdir`, `fstatat`, `mq_getattr` and `read`.
  public static func list(readingAttributes: Bool = true) throws(HinixError) -> [DirectoryEntry] {
    let directory = try openQueueDirectory()
    guard let stream = fdopendir(directory) else {
      let error = HinixError.current(.fdopendir)
      _ = Glibc.close(directory)
      throw error
    }
    defer { closedir(stream) }
    var entries: [DirectoryEntry] = []
    while true {
      errno = 0
      guard let entry = readdir(stream) else {
        if errno != 0 { throw HinixError.current(.readdir) }
        break
      }
      let bytes = withUnsafeBytes(of: entry.pointee.d_name) { Array($0.prefix { $0 != 0 }) }
      if bytes == [UInt8(ascii: ".")] || bytes == [UInt8(ascii: "."), UInt8(ascii: ".")] { continue }
      if let found = try readEntry(dirfd(stream), bytes, readingAttributes: readingAttributes) {
        entries.append(found)
      }
    }
    return entries.sorted { $0.nameBytes.lexicographicallyPrecedes($1.nameBytes) }
  }

  /// The entry for the file `bytes` in `directory`, or `nil` if it is gone.
  private static func readEntry(
    _ directory: CInt, _ bytes: [UInt8], readingAttributes: Bool
  ) throws(HinixError) -> DirectoryEntry? {
    let path = bytes.map { CChar(bitPattern: $0) } + [0]
    var info = stat()
    guard fstatat(directory, path, &info, AT_SYMLINK_NOFOLLOW) == 0 else {
      if errno == ENOENT { return nil }
      throw HinixError.current(.fstatat)
    }
    let nameBytes = [UInt8(ascii: "/")] + bytes
    let name = try? MsgQueueName(bytes: nameBytes)
    let text = MsgQueueName.printable(nameBytes)
    var attributes: Attributes?
    var status: Status?
    var attributesError: HinixError?
    if readingAttributes {
      // The mqueue file system's files are the queues: a descriptor opened
      // through it works with mq_getattr, and read(2) returns the status line.
      let queue = openat(directory, path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
      if queue < 0 {
        if errno == ENOENT { return nil }
        attributesError = HinixError.current(.openat, queueName: text)
      } else {
        defer { _ = CHinix_mq_close(queue) }
        var raw = mq_attr()
        if CHinix_mq_getattr(queue, &raw) == 0 {
          attributes = Attributes(raw)
        } else {
          attributesError = HinixError.current(.mqGetAttr, queueName: text)
        }
        var buffer = [UInt8](repeating: 0, count: 128)
        let count = buffer.withUnsafeMutableBytes { pread(queue, $0.baseAddress, $0.count, 0) }
        if count > 0 { status = Status(parsing: String(decoding: buffer[..<count], as: UTF8.self)) }
      }
    }
    return DirectoryEntry(
      nameBytes: nameBytes, name: name, userID: info.st_uid, groupID: info.st_gid,
      permissions: FilePermissions(rawValue: CModeT(info.st_mode & 0o7777)),
      attributes: attributes, status: status, attributesError: attributesError)
  }

  /// A descriptor of the root of this IPC namespace's mqueue file system.
  private static func openQueueDirectory() throws(HinixError) -> CInt {
    let detachedError: HinixError
    do {
      return try detachedQueueMount()
    } catch {
      detachedError = error
    }
    let mountPoints = queueMountPoints()
    guard let mountPoint = mountPoints.first else {
      let needs =
        "listing queues needs CAP_SYS_ADMIN (for a private, detached mount of the mqueue file system)"
        + " or a mounted one (as root: mkdir -p /dev/mqueue && mount -t mqueue none /dev/mqueue)"
      throw HinixError(
        detachedError.errno == .noFunction ? .noSuchFileOrDirectory : detachedError.errno,
        operation: detachedError.operation, detail: needs)
    }
    var lastError: HinixError?
    for point in mountPoints {
      let directory = Glibc.open(point, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
      guard directory >= 0 else {
        lastError = HinixError.current(.init(rawValue: "open(\"\(point)\")"))
        continue
      }
      do {
        try checkOwnNamespace(directory, mountPoint: point)
        return directory
      } catch {
        _ = Glibc.close(directory)
        lastError = error
      }
    }
    throw lastError ?? HinixError(.noSuchFileOrDirectory, operation: .init(rawValue: "open(\"\(mountPoint)\")"))
  }

  /// The root of a new, read-only, detached mount of the mqueue file system.
  private static func detachedQueueMount() throws(HinixError) -> CInt {
    let context = fsopen("mqueue", CUnsignedInt(FSOPEN_CLOEXEC))
    guard context >= 0 else { throw HinixError.current(.fsopen) }
    defer { _ = Glibc.close(context) }
    guard fsconfig(context, CUnsignedInt(FSCONFIG_CMD_CREATE.rawValue), nil, nil, 0) == 0 else {
      throw HinixError.current(.fsconfig)
    }
    let attributes = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC
    let mount = fsmount(context, CUnsignedInt(FSMOUNT_CLOEXEC), CUnsignedInt(attributes))
    guard mount >= 0 else { throw HinixError.current(.fsmount) }
    defer { _ = Glibc.close(mount) }
    // fsmount returns an O_PATH descriptor: open the directory itself to read it.
    let directory = openat(mount, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard directory >= 0 else { throw HinixError.current(.openat) }
    return directory
  }

  /// The mount points of the mqueue file systems in this mount namespace.
  private static func queueMountPoints() -> [String] {
    guard let text = readSmallFile("/proc/self/mountinfo") else { return [] }
    return text.split(separator: "\n").compactMap { line -> String? in
      // ID PARENT MAJ:MIN ROOT MOUNT-POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER-OPTIONS
      let fields = line.split(separator: " ", omittingEmptySubsequences: false)
      guard fields.count > 4, let dash = fields.firstIndex(of: "-"), dash + 1 < fields.count,
        fields[dash + 1] == "mqueue"
      else { return nil }
      return unescapeMountInfo(fields[4])
    }
  }

  /// Checks that a mounted mqueue file system shows this IPC namespace: a
  /// queue created here must be on the mount's device.
  private static func checkOwnNamespace(_ directory: CInt, mountPoint: String) throws(HinixError) {
    var mounted = stat()
    guard fstat(directory, &mounted) == 0 else { throw HinixError.current(.fstat) }
    let probe = "/hinix-list-probe-\(getpid())-\(String(UInt64.random(in: 0 ... .max), radix: 36))"
    let queue = CHinix_mq_open_attr(probe, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600, 1, 1)
    guard queue >= 0 else {
      let code = Errno(rawValue: systemErrno)
      throw HinixError(
        code, operation: .mqOpen, queueName: probe,
        detail: "could not create a probe queue to check that the mqueue file system at \(mountPoint) shows this IPC namespace")
    }
    _ = CHinix_mq_unlink(probe)
    defer { _ = CHinix_mq_close(queue) }
    var opened = stat()
    guard fstat(queue, &opened) == 0 else { throw HinixError.current(.fstat) }
    guard opened.st_dev == mounted.st_dev else {
      throw HinixError(
        .invalidArgument, operation: .init(rawValue: "open(\"\(mountPoint)\")"),
        detail: "the mqueue file system mounted at \(mountPoint) belongs to another IPC namespace; mount it again from this one, or list with CAP_SYS_ADMIN")
    }
  }

  /// Undoes mountinfo's octal escapes (`\040` for a space).
  private static func unescapeMountInfo(_ field: Substring) -> String {
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
