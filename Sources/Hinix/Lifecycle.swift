import CHinix
import SystemPackage

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

// MARK: - Temporary queues

extension MsgQueue {
  /// Creates a queue with a unique name, runs `body` with it, then closes it
  /// and removes its name, also when `body` throws.
  ///
  /// ```swift
  /// try MsgQueue.withTemporary(maxMessages: 4, messageSize: 64) { queue in
  ///   try queue.send("hello")
  ///   print(try queue.receiveString())
  /// }
  /// ```
  ///
  /// The name is `/hinix-tmp-PID-RANDOM` (see ``MsgQueue/name``), so another
  /// process may open the queue while `body` runs, for example a child it
  /// starts. Hinix removes the name only when `body` returns or throws; a
  /// process that is killed leaves it behind, as with any queue.
  ///
  /// - Parameters:
  ///   - maxMessages: The most messages the queue holds.
  ///   - messageSize: The largest message, in bytes.
  ///   - permissions: The queue's mode; owner read and write by default.
  ///   - body: What to do with the queue.
  /// - Returns: What `body` returns.
  /// - Throws: ``HinixError`` if the queue cannot be created, or what `body`
  ///   throws. Untyped, because `body` may throw any error.
  public static func withTemporary<R>(
    maxMessages: Int, messageSize: Int, permissions: FilePermissions = .ownerReadWrite,
    _ body: (MsgQueue) throws -> R
  ) throws -> R {
    let queue = try createTemporary(maxMessages, messageSize, permissions)
    defer { removeTemporary(queue) }
    return try body(queue)
  }

  /// ``withTemporary(maxMessages:messageSize:permissions:_:)`` for an `async` body.
  public static func withTemporary<R>(
    maxMessages: Int, messageSize: Int, permissions: FilePermissions = .ownerReadWrite,
    _ body: (MsgQueue) async throws -> R
  ) async throws -> R {
    let queue = try createTemporary(maxMessages, messageSize, permissions)
    defer { removeTemporary(queue) }
    return try await body(queue)
  }

  private static func createTemporary(
    _ maxMessages: Int, _ messageSize: Int, _ permissions: FilePermissions
  ) throws(HinixError) -> MsgQueue {
    while true {
      let name = "/hinix-tmp-\(getpid())-\(String(UInt64.random(in: 0 ... .max), radix: 36))"
      do {
        return try createExclusive(
          name, maxMessages: maxMessages, messageSize: messageSize, permissions: permissions)
      } catch where error.errno == .fileExists {
        continue  // 64 random bits taken: try others
      }
    }
  }

  private static func removeTemporary(_ queue: MsgQueue) {
    _ = queue.name.withCString { CHinix_mq_unlink($0) }
    try? queue.close()
  }
}

// MARK: - Adopting descriptors

extension MsgQueue {
  /// Takes ownership of an open message-queue descriptor, for example one
  /// inherited from a parent process, after checking that it is one.
  ///
  /// The queue's name is read from `/proc/self/fd` (`/` followed by the name,
  /// as the mqueue file system shows it), its access mode from `fcntl`, and
  /// its size from `mq_getattr`. The new object closes the descriptor; don't
  /// close it elsewhere. Its flags, close-on-exec included, are left as they are.
  ///
  /// - Parameter descriptor: An open message-queue descriptor.
  /// - Throws: ``HinixError`` `EBADF` if the descriptor is not open or not a
  ///   message queue; the detail says what it is instead, for example
  ///   "descriptor 5 is a pipe (FIFO), not a message queue". The descriptor
  ///   is not closed then.
  ///
  /// The corresponding C functions are `mq_getattr`, `fcntl` and `readlink`.
  public convenience init(adopting descriptor: FileDescriptor) throws(HinixError) {
    let fd = descriptor.rawValue
    var attributes = mq_attr()
    guard CHinix_mq_getattr(fd, &attributes) == 0 else {
      let code = Errno(rawValue: systemErrno)
      throw HinixError(
        code, operation: .mqGetAttr, detail: describeDescriptor(fd, expected: "a message queue"))
    }
    let flags = fcntl(fd, F_GETFL)
    guard flags != -1 else { throw HinixError.current(.fcntl) }
    // The link's bytes, not a String: a name need not be UTF-8.
    var path = linkTargetBytes("/proc/self/fd/\(fd)") ?? []
    let deleted = Array(" (deleted)".utf8)
    if path.count > deleted.count, path.suffix(deleted.count).elementsEqual(deleted) {
      path.removeLast(deleted.count)
    }
    let name = (try? MsgQueueName(bytes: path)) ?? MsgQueueName(unchecked: "/fd-\(fd)")
    self.init(
      owning: fd, name: name, access: AccessMode(rawValue: flags & O_ACCMODE),
      attributes: attributes)
  }
}

extension EventFd {
  /// Takes ownership of an open eventfd descriptor, for example one
  /// inherited from a parent process, after checking that it is one.
  ///
  /// The kernel's `/proc/self/fdinfo` entry for the descriptor tells whether
  /// it is an eventfd, in semaphore mode and non-blocking; ``options``
  /// reflects what it says. The new object closes the descriptor.
  ///
  /// - Parameter descriptor: An open eventfd.
  /// - Throws: ``HinixError`` `EBADF` if the descriptor is not open, or
  ///   `EINVAL` if it is not an eventfd; the detail says what it is, for
  ///   example "descriptor 5 is a pipe (FIFO), not an eventfd". The
  ///   descriptor is not closed then.
  public convenience init(adopting descriptor: FileDescriptor) throws(HinixError) {
    let fd = descriptor.rawValue
    guard fcntl(fd, F_GETFD) != -1 else {
      throw HinixError.current(.fcntl, detail: "descriptor \(fd) is not open")
    }
    guard descriptorTarget(fd) == "anon_inode:[eventfd]" else {
      throw HinixError(
        .invalidArgument, operation: .readlink,
        detail: describeDescriptor(fd, expected: "an eventfd"))
    }
    var options: Options = []
    for line in (readSmallFile("/proc/self/fdinfo/\(fd)") ?? "").split(separator: "\n") {
      let parts = line.split(separator: ":", maxSplits: 1).map {
        $0.trimmingPrefix(while: { $0 == " " || $0 == "\t" })
      }
      guard parts.count == 2 else { continue }
      let value = parts[1].trimmingPrefix(while: { $0 == " " || $0 == "\t" })
      if parts[0] == "eventfd-semaphore", value == "1" { options.insert(.semaphore) }
      if parts[0] == "flags", let flags = Int(value, radix: 8), flags & Int(O_NONBLOCK) != 0 {
        options.insert(.nonBlocking)
      }
    }
    if isCloseOnExec(fd) == false { options.insert(.inheritable) }
    self.init(adopting: fd, options: options)
  }
}

/// What `/proc/self/fd/N` links to: a path, `pipe:[…]`, `anon_inode:[eventfd]`…
func descriptorTarget(_ fd: CInt) -> String? {
  linkTarget("/proc/self/fd/\(fd)")
}

/// The target of the symbolic link at `path` (such as /proc/self/fd/N), or nil.
package func linkTarget(_ path: String) -> String? {
  linkTargetBytes(path).map { String(decoding: $0, as: UTF8.self) }
}

/// The exact bytes of the target of the symbolic link at `path`, or nil.
func linkTargetBytes(_ path: String) -> [UInt8]? {
  var buffer = [CChar](repeating: 0, count: 4096)
  let count = readlink(path, &buffer, buffer.count - 1)
  guard count >= 0 else { return nil }
  return buffer[..<count].map { UInt8(bitPattern: $0) }
}

/// "descriptor 5 is a pipe (FIFO), not EXPECTED", from `fstat` and `/proc/self/fd`.
func describeDescriptor(_ fd: CInt, expected: String) -> String {
  var info = stat()
  guard fstat(fd, &info) == 0 else { return "descriptor \(fd) is not open" }
  let target = descriptorTarget(fd) ?? ""
  let kind: String
  var attributes = mq_attr()
  switch info.st_mode & S_IFMT {
  case _ where CHinix_mq_getattr(fd, &attributes) == 0: kind = "a message queue (\(target))"
  case S_IFIFO: kind = "a pipe (FIFO)"
  case S_IFSOCK: kind = "a socket"
  case S_IFDIR: kind = "a directory (\(target))"
  case S_IFCHR: kind = "a character device (\(target))"
  case S_IFBLK: kind = "a block device (\(target))"
  case S_IFREG:
    if target.hasPrefix("anon_inode:[") {
      kind = "an \(target.dropFirst("anon_inode:[".count).dropLast())"
    } else if target.hasPrefix("/") {
      kind = "a regular file (\(target))"
    } else {
      kind = "a \(target)"
    }
  default:
    if target.hasPrefix("anon_inode:") {
      kind = "an \(target.dropFirst("anon_inode:".count).trimmingPrefix("[").dropLast())"
    } else {
      kind = target.isEmpty ? "of another kind" : target
    }
  }
  return "descriptor \(fd) is \(kind), not \(expected)"
}
