// MsgQueue.list(): the queues of the IPC namespace, from the mqueue file system.
import CHinix
import SystemPackage
import Testing

@testable import Hinix

#if canImport(Glibc)
  import Glibc
#endif

/// Whether list() can work here: CAP_SYS_ADMIN (a detached mount) or a mounted mqueue file system.
private var canListQueues: Bool { canUnshareIPC || hostHasQueueMount }

/// Whether an mqueue file system is mounted in this mount namespace.
private var hostHasQueueMount: Bool { (readSmallFile("/proc/self/mountinfo") ?? "").contains(" - mqueue ") }

@Suite("Listing queues", .timeLimit(.minutes(2)))
struct DirectoryTests {
  @Test("list() shows a new queue with its owner, mode, capacity and the messages queued", .enabled(if: canListQueues))
  func listsQueue() async throws {
    let name = uniqueName("list")
    let queue = try MsgQueue(
      name, options: .exclusive, permissions: [.ownerReadWrite, .groupRead],
      capacity: .init(maxMessages: 3, messageSize: 48))
    defer { _ = CHinix_mq_unlink(name) }
    try queue.send("12345")
    try queue.send("678")
    // Reading attributes opens and closes every queue, which drops the
    // mq_notify registrations of the process that lists, other tests'
    // included: list from a child.
    let result = try await onThread { try run("hinix-test-helper", ["entries"], timeout: .seconds(90)) }
    #expect(result.status == 0, "\(result)")
    let lines = result.out.split(separator: "\n").map(String.init)
    #expect(lines.contains("\(name) uid=\(geteuid()) mode=640 messages=2 of=3 size=48 bytes=8"), "\(result)")
    // Sorted by the bytes of the names; listing received nothing.
    // (A name that is not UTF-8, which another test may have made meanwhile, prints as "?".)
    let names = lines.filter { !$0.hasPrefix("? ") }.map { Array($0.prefix { $0 != " " }.utf8) }
    #expect(names == names.sorted { $0.lexicographicallyPrecedes($1) })
    #expect(try queue.attributes().currentMessages == 2)
  }

  @Test("list(readingAttributes: false) names a queue with its owner and mode", .enabled(if: canListQueues))
  func listsOwnerAndMode() throws {
    let name = uniqueName("list-owner")
    _ = try MsgQueue(name, options: .exclusive, permissions: [.ownerReadWrite, .groupRead])
    defer { _ = CHinix_mq_unlink(name) }
    let entry = try #require(try MsgQueue.list(readingAttributes: false).first { $0.name?.rawValue == name })
    #expect(entry.nameBytes == Array(name.utf8))
    #expect(entry.userID == geteuid())
    #expect(entry.groupID == getegid())
    #expect(entry.permissions == [.ownerReadWrite, .groupRead])
  }

  @Test("list(readingAttributes: false) opens no queue; an unlinked queue is not listed", .enabled(if: canListQueues))
  func listsWithoutAttributes() throws {
    let name = uniqueName("list-names")
    let queue = try MsgQueue.createExclusive(name, maxMessages: 2, messageSize: 16)
    let entry = try #require(try MsgQueue.list(readingAttributes: false).first { $0.name?.rawValue == name })
    #expect(entry.attributes == nil)
    #expect(entry.status == nil)
    #expect(entry.attributesError == nil)
    try MsgQueue.unlink(name)
    #expect(try MsgQueue.list(readingAttributes: false).allSatisfy { $0.name?.rawValue != name })
    try queue.close()
  }

  @Test("A queue whose name is not UTF-8 is listed with its exact bytes, and opens through the listed name", .enabled(if: canListQueues))
  func listsNonUTF8Name() throws {
    let prefix = Array(uniqueName("bytes").utf8)
    let bytes = prefix + [0xff, 0xfe, UInt8(ascii: "x")]
    let cName = bytes.map { CChar(bitPattern: $0) } + [0]
    let fd = CHinix_mq_open(cName, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600, nil)
    try #require(fd >= 0)
    defer {
      _ = CHinix_mq_unlink(cName)
      _ = CHinix_mq_close(fd)
    }
    let entry = try #require(try MsgQueue.list(readingAttributes: false).first { $0.nameBytes == bytes })
    // The entry's name keeps the bytes, so the queue can be opened through it.
    let name = try #require(entry.name)
    #expect(name.bytes == bytes)
    let opened = try MsgQueue(name, access: .readOnly)
    #expect(opened.name == name)
    try opened.close()
  }

  /// Runs `script` with sh in a new IPC and mount namespace (`unshare`), with
  /// HELPER and DIR set to the test helper and an empty directory to mount on.
  private func inPrivateNamespaces(_ script: String) async throws -> ToolResult {
    let directory = "/tmp/hinix-mqueue-\(getpid())-\(UInt32.random(in: 0 ... .max))"
    try #require(mkdir(directory, 0o755) == 0)
    defer { rmdir(directory) }
    return try await onThread {
      try runExecutable(
        "/usr/bin/unshare", ["--ipc", "--mount", "--propagation", "private", "/bin/sh", "-c", script],
        timeout: .seconds(90),
        environment: ["HELPER": toolDirectory + "/hinix-test-helper", "DIR": directory])
    }
  }

  /// Runs the helper as nobody, without capabilities.
  private let asNobody = "setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all"

  @Test(
    "Without CAP_SYS_ADMIN, list() reads a mounted mqueue file system of its namespace; an unreadable queue has its error",
    .enabled(if: canUnshareIPC && access("/usr/bin/setpriv", X_OK) == 0, "needs root, unshare and setpriv"))
  func listsThroughMount() async throws {
    let result = try await inPrivateNamespaces(
      "mount -t mqueue none \"$DIR\" && \"$HELPER\" create /root-owned && exec \(asNobody) \"$HELPER\" list")
    #expect(result.status == 0, "\(result)")
    #expect(result.out == "/helper-own uid=65534 mode=600 messages=1 of=2 size=16 bytes=1\n/root-owned uid=0 mode=600 error=EACCES\n", "\(result)")
  }

  @Test(
    "list() refuses a mounted mqueue file system of another IPC namespace, saying so",
    .enabled(if: canUnshareIPC && access("/usr/bin/setpriv", X_OK) == 0, "needs root, unshare and setpriv"))
  func refusesOtherNamespace() async throws {
    let result = try await inPrivateNamespaces(
      "mount -t mqueue none \"$DIR\" && \"$HELPER\" create /outer && exec unshare --ipc \(asNobody) \"$HELPER\" list")
    #expect(result.status == 3, "\(result)")
    #expect(result.err.contains("EINVAL"), "\(result)")
    #expect(result.err.contains("belongs to another IPC namespace"), "\(result)")
  }

  @Test(
    "Without CAP_SYS_ADMIN and without a mount, list() says what it needs",
    .enabled(if: canUnshareIPC && access("/usr/bin/setpriv", X_OK) == 0, "needs root, unshare and setpriv"),
    .enabled(if: !hostHasQueueMount, "the private namespace would copy the host's mqueue mount"))
  func saysWhatItNeeds() async throws {
    let result = try await inPrivateNamespaces("exec \(asNobody) \"$HELPER\" list")
    #expect(result.status == 3, "\(result)")
    #expect(result.err.contains("EPERM"), "\(result)")
    #expect(result.err.contains("CAP_SYS_ADMIN"), "\(result)")
    #expect(result.err.contains("mount -t mqueue"), "\(result)")
  }
}
