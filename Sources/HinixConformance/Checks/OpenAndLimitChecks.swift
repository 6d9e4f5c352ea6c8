// Checks of mq_open(3), the limits of mq_overview(7) and /proc/sys/fs/mqueue,
// the mqueue file system and IPC namespaces. Each cites its clause in its own words.

import CHinix
import Hinix

#if canImport(Glibc)
  import Glibc
#endif

// MARK: - Helpers (this file only)

/// The errno of a refused write to /proc/sys/fs/mqueue/`name`, or nil if it was accepted.
fileprivate func olSysctlError(_ context: CheckContext, _ name: String, _ value: Int) throws -> CInt? {
  do {
    try context.setSysctl(name, value)
    return nil
  } catch let error as SysctlWriteError {
    return error.errno.rawValue
  }
}

fileprivate func olReadSysctl(_ name: String) -> Int? {
  let fd = open("/proc/sys/fs/mqueue/" + name, O_RDONLY | O_CLOEXEC)
  guard fd >= 0 else { return nil }
  defer { close(fd) }
  var buffer = [UInt8](repeating: 0, count: 64)
  let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
  guard count > 0 else { return nil }
  return Int(String(decoding: buffer[..<count], as: UTF8.self).filter { !$0.isWhitespace })
}

/// Creates a queue with attr NULL, returns its attributes, and removes it.
fileprivate func olDefaultQueue(_ context: CheckContext) throws -> (Int, Int) {
  let name = context.queueName("dflt")
  let fd = CHinix_mq_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600, nil)
  try expectOpened(fd, "mq_open with attr NULL")
  defer {
    CHinix_mq_close(fd)
    CHinix_mq_unlink(name)
  }
  let attributes = try rawAttributes(fd)
  return (attributes.mq_maxmsg, attributes.mq_msgsize)
}

/// Switches the whole process to a uid no other process uses, as the catalog's UID2 rows need.
fileprivate func olBecomeFreshUser() throws -> uid_t {
  guard getuid() == 0 else {
    throw CheckSkipped("needs real root to switch to a second uid, and this process runs as uid \(getuid())")
  }
  let uid = uid_t(61000 + getpid() % 3000)
  guard setuid(uid) == 0 else { throw HarnessError("setuid(\(uid)): \(Errno(rawValue: systemErrno))") }
  return uid
}

fileprivate func olRequireSysResource() throws {
  guard SystemLimits.current().hasSysResource else {
    throw CheckSkipped("needs CAP_SYS_RESOURCE in the initial user namespace, which this process lacks")
  }
}

fileprivate func olSetQueueBytesLimit(soft: rlim_t, hard: rlim_t? = nil) throws {
  var limit = rlimit()
  getrlimit(__rlimit_resource_t(__RLIMIT_MSGQUEUE.rawValue), &limit)
  limit.rlim_cur = soft
  if let hard { limit.rlim_max = hard }
  guard setrlimit(__rlimit_resource_t(__RLIMIT_MSGQUEUE.rawValue), &limit) == 0 else {
    throw HarnessError("setrlimit(RLIMIT_MSGQUEUE, \(soft)): \(Errno(rawValue: systemErrno))")
  }
}

fileprivate final class OlThreadBody: @unchecked Sendable {
  let body: () -> Void
  init(_ body: @escaping () -> Void) { self.body = body }
}

/// Starts a thread now that runs `body` once the returned function is called,
/// and waits for it to finish there.
fileprivate func olThreadWaiting(_ body: @escaping () -> Void) -> () -> Void {
  var ends: [CInt] = [-1, -1]
  precondition(CHinix_pipe2(&ends, O_CLOEXEC) == 0, "pipe2 failed")
  let (readEnd, writeEnd) = (ends[0], ends[1])
  let box = Unmanaged.passRetained(OlThreadBody {
    var byte: UInt8 = 0
    _ = read(readEnd, &byte, 1)
    body()
  }).toOpaque()
  var thread = pthread_t()
  let result = pthread_create(&thread, nil, { raw in
    let box = Unmanaged<OlThreadBody>.fromOpaque(raw!).takeRetainedValue()
    box.body()
    return nil
  }, box)
  precondition(result == 0, "pthread_create failed")
  return {
    var byte: UInt8 = 1
    _ = write(writeEnd, &byte, 1)
    pthread_join(thread, nil)
    close(readEnd)
    close(writeEnd)
  }
}

/// Mounts the mqueue file system on a fresh directory, or skips when the
/// process is not in a mount namespace of its own (the mount would reach the host).
fileprivate func olMountMqueue() throws -> String {
  // The worker's parent is the runner, which unshared; the runner's parent did not.
  let runnerStat = readSmallFile("/proc/\(getppid())/stat") ?? ""
  let afterName = runnerStat.split(separator: ")").last.map(String.init) ?? ""
  let fields = afterName.split(separator: " ")
  let launcher = fields.count > 1 ? String(fields[1]) : "0"
  guard let own = linkTarget("/proc/self/ns/mnt"), let initial = linkTarget("/proc/\(launcher)/ns/mnt"), own != initial else {
    throw CheckSkipped("needs a private mount namespace (the run is not isolated, so mounting would touch the host)")
  }
  var template = Array("/tmp/hxc-mqueue-XXXXXX".utf8CString)
  guard let made = mkdtemp(&template) else { throw HarnessError("mkdtemp: \(Errno(rawValue: systemErrno))") }
  let directory = String(cString: made)
  guard mount("none", directory, "mqueue", 0, nil) == 0 else {
    let error = Errno(rawValue: systemErrno)
    rmdir(directory)
    throw CheckSkipped("mount -t mqueue failed with \(error.symbolicName)")
  }
  return directory
}

fileprivate func olUnmount(_ directory: String) {
  umount2(directory, CInt(MNT_DETACH))
  rmdir(directory)
}

/// The kernel's status line: `QSIZE:%-10lu NOTIFY:%-5d SIGNO:%-5d NOTIFY_PID:%-6d\n`.
fileprivate func olStatusLine(qsize: Int, notify: Int, signo: Int, pid: Int) -> String {
  func pad(_ value: Int, _ width: Int) -> String {
    let text = String(value)
    return text + String(repeating: " ", count: max(0, width - text.count))
  }
  return "QSIZE:\(pad(qsize, 10)) NOTIFY:\(pad(notify, 5)) SIGNO:\(pad(signo, 5)) NOTIFY_PID:\(pad(pid, 6))\n"
}

let openAndLimitChecks: [Check] = [
  // MARK: /proc/sys/fs/mqueue

  Check(
    "MQ-OV-MSG_DEFAULT", "MQ-OV-MSGSIZE_DEFAULT", "MQ-OPEN-ATTR-NULL",
    source: "mq_overview(7) /proc interfaces; mq_open(3) DESCRIPTION",
    clause: "With attr NULL a queue gets min(msg_default, msg_max) messages of min(msgsize_default, msgsize_max) bytes: 10 × 8192 by default",
    needs: [.ipcNamespace]
  ) { context in
    try context.enterPrivateIPCNamespace()
    var got = try olDefaultQueue(context)
    try expect(got == (10, 8192), "a fresh namespace's default queue is \(got.0) × \(got.1), expected 10 × 8192")
    try context.setSysctl("msg_default", 5)
    try context.setSysctl("msgsize_default", 300)
    got = try olDefaultQueue(context)
    try expect(got == (5, 300), "with msg_default 5 and msgsize_default 300 the queue is \(got.0) × \(got.1)")
    try context.setSysctl("msg_max", 3)
    try context.setSysctl("msgsize_max", 200)
    got = try olDefaultQueue(context)
    try expect(got == (3, 200), "with msg_max 3 < msg_default 5 and msgsize_max 200 < msgsize_default 300 the queue is \(got.0) × \(got.1), expected 3 × 200")
  },

  Check(
    "MQ-OV-DEFAULT-RANGE", source: "mq_overview(7) /proc interfaces",
    clause: "msg_default accepts 1 to 65536 and msgsize_default 128 to 16777216; other values fail with EINVAL",
    needs: [.ipcNamespace]
  ) { context in
    try context.enterPrivateIPCNamespace()
    for (name, low, high) in [("msg_default", 1, 65_536), ("msgsize_default", 128, 16_777_216)] {
      for value in [low, high] {
        let error = try olSysctlError(context, name, value)
        try expect(error == nil, "writing \(value) to \(name) failed with \(Errno(rawValue: error ?? 0))")
        try expect(olReadSysctl(name) == value, "\(name) does not read back \(value)")
      }
      for value in [low - 1, high + 1] {
        let error = try olSysctlError(context, name, value)
        try expect(error == EINVAL, "writing \(value) to \(name): expected EINVAL, got \(error.map { Errno(rawValue: $0).symbolicName } ?? "success")")
      }
    }
  },

  Check(
    "MQ-OV-MSG_MAX-CEIL", source: "mq_overview(7) /proc interfaces (msg_max)",
    clause: "Without CAP_SYS_RESOURCE the message-count ceiling is msg_max: with msg_max 20, maxmsg 20 is accepted and 21 fails with EINVAL",
    needs: [.ipcNamespace]
  ) { context in
    try context.dropSysResource()  // the clause is about unprivileged callers
    try context.enterPrivateIPCNamespace()
    try context.setSysctl("msg_max", 20)
    let fd = CHinix_mq_open_attr(context.queueName("c20"), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600, 20, 16)
    try expectOpened(fd, "maxmsg 20 with msg_max 20 failed")
    CHinix_mq_close(fd)
    try expectCErrno(EINVAL, "maxmsg 21 with msg_max 20", Int(CHinix_mq_open_attr(context.queueName("c21"), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600, 21, 16)))
  },

  Check(
    "MQ-OV-MSG_MAX-RANGE", source: "mq_overview(7) /proc interfaces (msg_max)",
    clause: "msg_max accepts 1 to 65536 (HARD_MSGMAX); 0 and 65537 fail with EINVAL",
    needs: [.ipcNamespace]
  ) { context in
    try context.enterPrivateIPCNamespace()
    for value in [1, 65_536] {
      let error = try olSysctlError(context, "msg_max", value)
      try expect(error == nil, "writing \(value) to msg_max failed with \(Errno(rawValue: error ?? 0))")
      try expect(olReadSysctl("msg_max") == value, "msg_max does not read back \(value)")
    }
    for value in [0, 65_537] {
      let error = try olSysctlError(context, "msg_max", value)
      try expect(error == EINVAL, "writing \(value) to msg_max: expected EINVAL, got \(error.map { Errno(rawValue: $0).symbolicName } ?? "success")")
    }
  },

  Check(
    "MQ-OV-MSG_MAX-PRIV", source: "mq_overview(7) /proc interfaces (msg_max)",
    clause: "A CAP_SYS_RESOURCE caller ignores msg_max but is still held to HARD_MSGMAX (65536)",
    needs: [.sysResource, .ipcNamespace]
  ) { context in
    try olRequireSysResource()
    try context.enterPrivateIPCNamespace()
    try context.setSysctl("msg_max", 1)
    try olSetQueueBytesLimit(soft: rlim_t.max, hard: rlim_t.max)
    let fd = CHinix_mq_open_attr(context.queueName("big"), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600, 65_536, 1)
    try expectOpened(fd, "maxmsg 65536 with msg_max 1 failed for a privileged caller")
    CHinix_mq_close(fd)
    try expectCErrno(EINVAL, "maxmsg 65537", Int(CHinix_mq_open_attr(context.queueName("over"), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600, 65_537, 1)))
  },

  Check(
    "MQ-OV-MSGSIZE_MAX-CEIL", "MQ-OPEN-EINVAL-LIMITS", source: "mq_overview(7) /proc interfaces; mq_open(3) ERRORS",
    clause: "Without CAP_SYS_RESOURCE, mq_maxmsg above msg_max or mq_msgsize above msgsize_max fails with EINVAL (root included); the limits themselves are accepted"
  ) { context in
    try context.dropSysResource()  // the clause is about unprivileged callers
    let limits = SystemLimits.current()
    guard let msgMax = limits.msgMax, let msgsizeMax = limits.msgsizeMax else { throw HarnessError("cannot read /proc/sys/fs/mqueue") }
    let fd = CHinix_mq_open_attr(context.queueName("edge"), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600, 1, msgsizeMax)
    try expectOpened(fd, "mq_msgsize == msgsize_max (\(msgsizeMax)) failed")
    CHinix_mq_close(fd)
    try expectCErrno(EINVAL, "mq_msgsize \(msgsizeMax + 1) over msgsize_max", Int(CHinix_mq_open_attr(context.queueName("size"), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600, 1, msgsizeMax + 1)))
    try expectCErrno(EINVAL, "mq_maxmsg \(msgMax + 1) over msg_max", Int(CHinix_mq_open_attr(context.queueName("count"), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600, msgMax + 1, 8)))
  },

  Check(
    "MQ-OV-MSGSIZE_MAX-RANGE", source: "mq_overview(7) /proc interfaces (msgsize_max)",
    clause: "msgsize_max accepts 128 to 16777216 (HARD_MSGSIZEMAX); 127 and 16777217 fail with EINVAL",
    needs: [.ipcNamespace]
  ) { context in
    try context.enterPrivateIPCNamespace()
    for value in [128, 16_777_216] {
      let error = try olSysctlError(context, "msgsize_max", value)
      try expect(error == nil, "writing \(value) to msgsize_max failed with \(Errno(rawValue: error ?? 0))")
      try expect(olReadSysctl("msgsize_max") == value, "msgsize_max does not read back \(value)")
    }
    for value in [127, 16_777_217] {
      let error = try olSysctlError(context, "msgsize_max", value)
      try expect(error == EINVAL, "writing \(value) to msgsize_max: expected EINVAL, got \(error.map { Errno(rawValue: $0).symbolicName } ?? "success")")
    }
  },

  Check(
    "MQ-OV-MSGSIZE_MAX-PRIV", source: "mq_overview(7) /proc interfaces (msgsize_max)",
    clause: "A CAP_SYS_RESOURCE caller ignores msgsize_max but is still held to 16 MiB (HARD_MSGSIZEMAX)",
    needs: [.sysResource, .ipcNamespace]
  ) { context in
    try olRequireSysResource()
    try context.enterPrivateIPCNamespace()
    try context.setSysctl("msgsize_max", 128)
    try olSetQueueBytesLimit(soft: rlim_t.max, hard: rlim_t.max)
    let fd = CHinix_mq_open_attr(context.queueName("big"), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600, 1, 16_777_216)
    try expectOpened(fd, "msgsize 16 MiB with msgsize_max 128 failed for a privileged caller")
    CHinix_mq_close(fd)
    try expectCErrno(EINVAL, "msgsize 16 MiB + 1", Int(CHinix_mq_open_attr(context.queueName("over"), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600, 1, 16_777_217)))
  },

  Check(
    "MQ-OV-QUEUES_MAX-COUNT", "MQ-OPEN-ENOSPC", "MQ-UNLINK-RESOURCES",
    source: "mq_overview(7) /proc interfaces (queues_max); mq_open(3) ERRORS; kernel",
    clause: "queues_max counts the queues of the IPC namespace: at the limit mq_open(O_CREAT) fails with ENOSPC, and an unlinked queue still open keeps counting until its last close",
    needs: [.ipcNamespace]
  ) { context in
    try context.dropSysResource()  // a CAP_SYS_RESOURCE process is exempt from queues_max
    try context.enterPrivateIPCNamespace()
    try expect(olReadSysctl("queues_max") == 256, "a new namespace's queues_max is \(olReadSysctl("queues_max") ?? -1), expected 256")
    try context.setSysctl("queues_max", 2)
    let (firstName, first) = try rawQueue(context, 1, 8)
    let (_, second) = try rawQueue(context, 1, 8)
    defer { CHinix_mq_close(second) }
    let third = context.queueName("third")
    try expectCErrno(ENOSPC, "a third queue with queues_max 2", Int(CHinix_mq_open_attr(third, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600, 1, 8)))
    let reopened = CHinix_mq_open(firstName, O_RDWR | O_CLOEXEC, 0, nil)
    try expect(reopened >= 0, "opening an existing queue at the limit failed: \(Errno(rawValue: systemErrno))")
    CHinix_mq_close(reopened)
    try expect(CHinix_mq_unlink(firstName) == 0, "mq_unlink failed")
    try expectCErrno(ENOSPC, "a new queue while an unlinked one is still open", Int(CHinix_mq_open_attr(third, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600, 1, 8)))
    CHinix_mq_close(first)
    let fd = CHinix_mq_open_attr(third, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600, 1, 8)
    try expect(fd >= 0, "after the unlinked queue's last close, creating failed: \(Errno(rawValue: systemErrno))")
    CHinix_mq_close(fd)
  },

  Check(
    "MQ-OV-QUEUES_MAX-PRIV", source: "mq_overview(7) /proc interfaces (queues_max)",
    clause: "A CAP_SYS_RESOURCE process may create queues beyond queues_max",
    needs: [.sysResource, .ipcNamespace]
  ) { context in
    try olRequireSysResource()
    try context.enterPrivateIPCNamespace()
    try context.setSysctl("queues_max", 0)
    let fd = CHinix_mq_open_attr(context.queueName("priv"), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600, 1, 8)
    try expect(fd >= 0, "a privileged create with queues_max 0 failed: \(Errno(rawValue: systemErrno))")
    CHinix_mq_close(fd)
  },

  Check(
    "MQ-OV-QUEUES_MAX-NOCEIL", source: "mq_overview(7) BUGS",
    clause: "queues_max has no ceiling (since Linux 3.14): 0 and 2147483647 are accepted, and 0 then refuses every new queue",
    needs: [.ipcNamespace]
  ) { context in
    try context.enterPrivateIPCNamespace()
    for value in [2_147_483_647, 0] {
      let error = try olSysctlError(context, "queues_max", value)
      try expect(error == nil, "writing \(value) to queues_max failed with \(Errno(rawValue: error ?? 0))")
      try expect(olReadSysctl("queues_max") == value, "queues_max does not read back \(value)")
    }
    // A CAP_SYS_RESOURCE process is exempt from queues_max: shed it, or leave this part out.
    if (try? context.dropSysResource()) != nil {
      try expectCErrno(ENOSPC, "creating a queue with queues_max 0", Int(CHinix_mq_open_attr(context.queueName("none"), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600, 1, 8)))
    }
  },

  // MARK: RLIMIT_MSGQUEUE

  Check(
    "MQ-OV-RLIMIT", "MQ-OPEN-EMFILE-MSGQUEUE", source: "mq_overview(7) Resource limit; getrlimit(2) RLIMIT_MSGQUEUE",
    clause: "Each queue charges maxmsg × (msgsize + 96) bytes on x86_64 to its creator's uid; a create past RLIMIT_MSGQUEUE fails with EMFILE (4 × 64 needs exactly 640; 819200 fits 9 queues of 10 × 8192)",
    kernelDiffers: true, needs: [.secondUID]
  ) { context in
    var limit = rlimit()
    getrlimit(__rlimit_resource_t(__RLIMIT_MSGQUEUE.rawValue), &limit)
    let original = limit.rlim_cur
    let uid = try olBecomeFreshUser()
    let exact = SystemLimits.chargedBytes(maxMessages: 4, messageSize: 64)
    try expect(exact == 640, "the library computes \(exact) bytes for 4 × 64, the catalog 640")
    try olSetQueueBytesLimit(soft: rlim_t(exact - 1))
    let name = context.queueName("exact")
    try expectCErrno(EMFILE, "a 4 × 64 queue with RLIMIT_MSGQUEUE 639 (uid \(uid))", Int(CHinix_mq_open_attr(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600, 4, 64)))
    try olSetQueueBytesLimit(soft: rlim_t(exact))
    let fd = CHinix_mq_open_attr(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600, 4, 64)
    try expectOpened(fd, "a 4 × 64 queue with RLIMIT_MSGQUEUE 640 failed")
    CHinix_mq_close(fd)
    CHinix_mq_unlink(name)
    guard original == 819_200 else {
      throw CheckFailure("RLIMIT_MSGQUEUE was \(original), so the 9-queue part cannot be checked as the catalog states it")
    }
    try olSetQueueBytesLimit(soft: original)
    var created = 0
    var failure: CInt = 0
    for _ in 0..<12 {
      let fd = CHinix_mq_open_attr(context.queueName("full"), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600, 10, 8192)
      if fd < 0 { failure = systemErrno; break }
      created += 1
    }
    try expect(created == 9, "a fresh uid created \(created) queues of 10 × 8192 under 819200 bytes, expected 9")
    try expect(failure == EMFILE, "the 10th queue failed with \(Errno(rawValue: failure).symbolicName), expected EMFILE")
  },

  Check(
    "MQ-OV-RLIMIT-ROOT", source: "getrlimit(2) RLIMIT_MSGQUEUE; kernel",
    clause: "RLIMIT_MSGQUEUE binds root too: with the limit at 8192 bytes, a 1 × 8192 queue (8288 bytes) fails with EMFILE"
  ) { context in
    try olSetQueueBytesLimit(soft: 8192)
    try expectCErrno(EMFILE, "a 1 × 8192 queue as uid \(getuid()) with RLIMIT_MSGQUEUE 8192", Int(CHinix_mq_open_attr(context.queueName("root"), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600, 1, 8192)))
  },

  // MARK: The mqueue file system

  Check(
    "MQ-FS-MOUNT", "MQ-FS-FILES", source: "mq_overview(7) Mounting the message queue file system",
    clause: "mount -t mqueue works and its root is mode 01777; queues appear as files with the queue's mode and size 80; unlink(2) deletes a queue, open(O_CREAT) creates one with default attributes, mkdir gives EPERM and write(2) EINVAL"
  ) { context in
    let directory = try olMountMqueue()
    defer { olUnmount(directory) }
    var info = stat()
    try expect(stat(directory, &info) == 0, "stat of the mount failed")
    try expect(info.st_mode & 0o7777 == 0o1777, "the mount root has mode 0\(String(info.st_mode & 0o7777, radix: 8)), expected 01777")
    let (name, fd) = try rawQueue(context, mode: 0o640)
    CHinix_mq_close(fd)
    let path = directory + name
    try expect(stat(path, &info) == 0, "the queue \(name) has no file in the mount")
    try expect(info.st_mode & S_IFMT == S_IFREG && info.st_mode & 0o777 == 0o640, "the file's mode is 0\(String(info.st_mode, radix: 8))")
    try expect(info.st_size == 80, "the file's size is \(info.st_size), expected 80")
    try expect(unlink(path) == 0, "unlink(2) of the queue file failed: \(Errno(rawValue: systemErrno))")
    try expectCErrno(ENOENT, "mq_open after unlink(2)", Int(CHinix_mq_open(name, O_RDWR | O_CLOEXEC, 0, nil)))
    let created = context.queueName("file")
    let file = open(directory + created, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
    try expectOpened(file, "open(O_CREAT) in the mount failed")
    defer { close(file) }
    let queue = CHinix_mq_open(created, O_RDWR | O_CLOEXEC, 0, nil)
    try expectOpened(queue, "the file made by open(2) is not a queue", creating: false)
    let attributes = try rawAttributes(queue)
    CHinix_mq_close(queue)
    let defaults = SystemLimits.current().defaultCapacity
    try expect(attributes.mq_maxmsg == defaults.maxMessages && attributes.mq_msgsize == defaults.messageSize,
      "open(2) made a \(attributes.mq_maxmsg) × \(attributes.mq_msgsize) queue, expected the defaults \(defaults.maxMessages) × \(defaults.messageSize)")
    var byte: UInt8 = 0
    try expectCErrno(EINVAL, "write(2) on a queue file", write(file, &byte, 1))
    try expectCErrno(EPERM, "mkdir in the mount", Int(mkdir(directory + "/subdir", 0o700)))
  },

  Check(
    "MQ-FS-NOTIFY-FIELDS", source: "mq_overview(7) Mounting the message queue file system",
    clause: "A queue's file reads QSIZE:%-10lu NOTIFY:%-5d SIGNO:%-5d NOTIFY_PID:%-6d: NOTIFY_PID 0 without a registration, else the registrant's PID; NOTIFY 0 for SIGEV_SIGNAL, 1 for SIGEV_NONE and 2 for SIGEV_THREAD, SIGNO only for SIGEV_SIGNAL"
  ) { context in
    let directory = try olMountMqueue()
    defer { olUnmount(directory) }
    let (name, fd) = try rawQueue(context)
    defer { CHinix_mq_close(fd) }
    let path = directory + name
    try rawSend(fd, "abc")
    let pid = Int(getpid())
    var expected = olStatusLine(qsize: 3, notify: 0, signo: 0, pid: 0)
    var line = readSmallFile(path)
    try expect(line == expected && expected.utf8.count == 60, "unregistered: read \(line.debugDescription), expected \(expected.debugDescription)")
    try expect(CHinix_mq_notify_none(fd) == 0, "mq_notify(SIGEV_NONE) failed: \(Errno(rawValue: systemErrno))")
    expected = olStatusLine(qsize: 3, notify: 1, signo: 0, pid: pid)
    line = readSmallFile(path)
    try expect(line == expected, "SIGEV_NONE: read \(line.debugDescription), expected \(expected.debugDescription)")
    try expect(CHinix_mq_notify_cancel(fd) == 0, "unregistering failed")
    try expect(CHinix_mq_notify_signal(fd, SIGUSR2, 7) == 0, "mq_notify(SIGEV_SIGNAL) failed: \(Errno(rawValue: systemErrno))")
    expected = olStatusLine(qsize: 3, notify: 0, signo: Int(SIGUSR2), pid: pid)
    line = readSmallFile(path)
    try expect(line == expected, "SIGEV_SIGNAL: read \(line.debugDescription), expected \(expected.debugDescription)")
    try expect(CHinix_mq_notify_cancel(fd) == 0, "unregistering failed")
    var event = sigevent()
    event.sigev_notify = CHinix_SIGEV_THREAD
    event._sigev_un._sigev_thread._function = { _ in }
    try expect(CHinix_mq_notify(fd, &event) == 0, "mq_notify(SIGEV_THREAD) failed: \(Errno(rawValue: systemErrno))")
    expected = olStatusLine(qsize: 3, notify: 2, signo: 0, pid: pid)
    line = readSmallFile(path)
    try expect(line == expected, "SIGEV_THREAD: read \(line.debugDescription), expected \(expected.debugDescription)")
    try expect(CHinix_mq_notify_cancel(fd) == 0, "unregistering failed")
    expected = olStatusLine(qsize: 3, notify: 0, signo: 0, pid: 0)
    line = readSmallFile(path)
    try expect(line == expected, "after unregistering: read \(line.debugDescription), expected \(expected.debugDescription)")
  },

  // MARK: IPC namespaces

  Check(
    "MQ-NS-ISOLATION", source: "ipc_namespaces(7); mq_overview(7)",
    clause: "A queue of one IPC namespace is invisible (ENOENT) in another; /proc/sys/fs/mqueue is per namespace, and a new one starts at 10, 8192 and 256",
    needs: [.ipcNamespace]
  ) { context in
    let (name, fd) = try rawQueue(context, 1, 8)
    CHinix_mq_close(fd)
    let outerMax = olReadSysctl("msg_max")
    // A thread started before the unshare stays in the outer namespace.
    nonisolated(unsafe) var outerView: (Int?, CInt, CInt) = (nil, 0, 0)
    nonisolated(unsafe) var inner = ""
    let go = olThreadWaiting {
      let outer = CHinix_mq_open(name, O_RDWR | O_CLOEXEC, 0, nil)
      let innerThere = CHinix_mq_open(inner, O_RDWR | O_CLOEXEC, 0, nil)
      outerView = (olReadSysctl("msg_max"), outer >= 0 ? 0 : systemErrno, innerThere >= 0 ? 0 : systemErrno)
      if outer >= 0 { CHinix_mq_close(outer) }
      if innerThere >= 0 { CHinix_mq_close(innerThere) }
    }
    try context.enterPrivateIPCNamespace()
    try expectCErrno(ENOENT, "opening the outer namespace's queue", Int(CHinix_mq_open(name, O_RDWR | O_CLOEXEC, 0, nil)))
    let fresh = [olReadSysctl("msg_max"), olReadSysctl("msgsize_max"), olReadSysctl("queues_max")]
    try expect(fresh == [10, 8192, 256], "a new namespace starts at \(fresh)")
    try context.setSysctl("msg_max", 7)
    inner = context.queueName("inner")
    let innerFD = CHinix_mq_open_attr(inner, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600, 1, 8)
    try expect(innerFD >= 0, "creating in the new namespace failed")
    CHinix_mq_close(innerFD)
    go()
    try expect(outerView.0 == outerMax, "the outer msg_max became \(outerView.0 ?? -1) after the inner namespace set 7")
    try expect(outerView.1 == 0, "the outer queue was not visible from the outer namespace: \(Errno(rawValue: outerView.1))")
    try expect(outerView.2 == ENOENT, "the inner queue seen from outside: expected ENOENT, got \(Errno(rawValue: outerView.2).symbolicName)")
  },

  Check(
    "MQ-NS-FS", source: "ipc_namespaces(7)",
    clause: "An mqueue mount shows the queues of the mounting process's IPC namespace, not those of another",
    needs: [.ipcNamespace]
  ) { context in
    let (outer, outerFD) = try rawQueue(context, 1, 8)
    CHinix_mq_close(outerFD)
    try context.enterPrivateIPCNamespace()
    let (inner, innerFD) = try rawQueue(context, 1, 8)
    CHinix_mq_close(innerFD)
    let directory = try olMountMqueue()
    defer { olUnmount(directory) }
    var info = stat()
    try expect(stat(directory + inner, &info) == 0, "the mount does not show the mounting namespace's queue")
    try expect(stat(directory + outer, &info) == -1 && errno == ENOENT, "the mount shows another namespace's queue")
  },

  Check(
    "MQ-NS-DESTROY", source: "ipc_namespaces(7)",
    clause: "When an IPC namespace's last process ends, its queues are destroyed: the RLIMIT_MSGQUEUE bytes a queue charged to its creator come back",
    needs: [.ipcNamespace, .processes], deadline: .seconds(25),
    roles: [
      "holder": { role in
        guard CHinix_unshare(CHinix_CLONE_NEWIPC) == 0 else { throw HarnessError("unshare: \(Errno(rawValue: systemErrno))") }
        guard setuid(uid_t(role.arguments[0])!) == 0 else { throw HarnessError("setuid: \(Errno(rawValue: systemErrno))") }
        let fd = CHinix_mq_open_attr("/hxc-ns-destroy", O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600, 10, 8192)
        guard fd >= 0 else { throw HarnessError("mq_open: \(Errno(rawValue: systemErrno))") }
        try rawSend(fd, "kept")
        CHinix_mq_close(fd)
        role.report("ready")
        sleep(30)
      }
    ]
  ) { context in
    guard getuid() == 0 else { throw CheckSkipped("needs root to give the namespace's queue a uid of its own") }
    let uid = uid_t(61000 + getpid() % 3000)
    let holder = try context.spawn("holder", arguments: [String(uid)])
    try expect(holder.readLine() == "ready", "the helper did not create its namespace's queue")
    guard setuid(uid) == 0 else { throw HarnessError("setuid: \(Errno(rawValue: systemErrno))") }
    try olSetQueueBytesLimit(soft: rlim_t(SystemLimits.chargedBytes(maxMessages: 10, messageSize: 8192)))
    let name = context.queueName("probe")
    try expectCErrno(EMFILE, "a probe queue while the other namespace holds its queue", Int(CHinix_mq_open_attr(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600, 1, 8)))
    holder.kill()
    let clock = ContinuousClock()
    // The kernel frees a dead namespace from a work queue, after an RCU grace
    // period: allow a busy machine 10 s.
    let deadline = clock.now + .seconds(10)
    var fd: mqd_t = -1
    while clock.now < deadline {
      fd = CHinix_mq_open_attr(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600, 1, 8)
      if fd >= 0 { break }
      usleep(20_000)
    }
    try expect(fd >= 0, "10 s after the namespace's last process died, its queue's bytes were still charged (\(Errno(rawValue: systemErrno)))")
    CHinix_mq_close(fd)
  },

  // MARK: mq_open

  Check(
    "MQ-OPEN-OK", source: "mq_open(3) RETURN VALUE",
    clause: "mq_open returns a descriptor that mq_getattr, mq_send, mq_receive and mq_close accept"
  ) { context in
    let name = context.queueName("ok")
    let fd = CHinix_mq_open_attr(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600, 2, 16)
    try expectOpened(fd, "mq_open failed")
    try expect(try rawAttributes(fd).mq_maxmsg == 2, "mq_getattr disagrees")
    try rawSend(fd, "ok")
    try expect(try rawReceiveText(fd, size: 16) == "ok", "the message did not come back")
    try expect(CHinix_mq_close(fd) == 0, "mq_close failed: \(Errno(rawValue: systemErrno))")
  },

  Check(
    "MQ-OPEN-ACCMODE-BAD", source: "kernel (prepare_open)",
    clause: "O_RDWR | O_WRONLY on an existing queue fails with EINVAL; with O_CREAT on a new name it succeeds, but the descriptor can neither send nor receive (EBADF)"
  ) { context in
    let (name, fd) = try rawQueue(context)
    CHinix_mq_close(fd)
    try expectCErrno(EINVAL, "O_RDWR | O_WRONLY on an existing queue", Int(CHinix_mq_open(name, O_RDWR | O_WRONLY | O_CLOEXEC, 0, nil)))
    let fresh = CHinix_mq_open_attr(context.queueName("acc"), O_RDWR | O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600, 4, 64)
    try expectOpened(fresh, "O_RDWR | O_WRONLY | O_CREAT on a new name failed")
    defer { CHinix_mq_close(fresh) }
    var buffer = [UInt8](repeating: 0, count: 64)
    try expectCErrno(EBADF, "mq_send on the O_RDWR | O_WRONLY descriptor", Int(CHinix_mq_send(fresh, &buffer, 1, 0)))
    try expectCErrno(EBADF, "mq_receive on the O_RDWR | O_WRONLY descriptor", CHinix_mq_receive(fresh, &buffer, 64, nil))
  },

  Check(
    "MQ-OPEN-CLOEXEC-FLAG", source: "mq_open(3) O_CLOEXEC",
    clause: "O_CLOEXEC is accepted and the descriptor has FD_CLOEXEC"
  ) { context in
    let fd = CHinix_mq_open_attr(context.queueName("cx"), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600, 1, 8)
    try expectOpened(fd, "mq_open with O_CLOEXEC failed")
    defer { CHinix_mq_close(fd) }
    try expect(fcntl(fd, F_GETFD) & FD_CLOEXEC != 0, "FD_CLOEXEC is not set")
  },

  Check(
    "MQ-OPEN-CREAT-OWNER", source: "mq_open(3) O_CREAT",
    clause: "A new queue's owner is the caller's effective uid and its group the effective gid (fstat on the descriptor)",
    needs: [.secondUID]
  ) { context in
    guard getuid() == 0 else { throw CheckSkipped("needs real root to switch to a second uid") }
    let id = 61000 + getpid() % 3000
    guard setgid(gid_t(id)) == 0 else { throw HarnessError("setgid: \(Errno(rawValue: systemErrno))") }
    let uid = try olBecomeFreshUser()
    let fd = try rawUnlinkedQueue(context, 1, 8)
    defer { CHinix_mq_close(fd) }
    var info = stat()
    try expect(fstat(fd, &info) == 0, "fstat failed: \(Errno(rawValue: systemErrno))")
    try expect(info.st_uid == uid && info.st_gid == gid_t(id), "owner \(info.st_uid):\(info.st_gid), expected \(uid):\(id)")
  },

  Check(
    "MQ-OPEN-EXCL-ATOMIC", source: "POSIX mq_open (open_posix_testsuite assertion 16)",
    clause: "Of several processes racing O_CREAT | O_EXCL on one name, exactly one succeeds and the others get EEXIST",
    needs: [.processes],
    roles: [
      "creator": { role in
        let start = Int(role.arguments[1])!
        var now = timespec()
        repeat { clock_gettime(CLOCK_REALTIME, &now) } while now.tv_sec * 1_000_000_000 + now.tv_nsec < start
        let fd = CHinix_mq_open_attr(role.arguments[0], O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600, 1, 8)
        role.report(fd >= 0 ? "created" : Errno(rawValue: systemErrno).symbolicName)
      }
    ]
  ) { context in
    let name = context.queueName("race")
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    let start = now.tv_sec * 1_000_000_000 + now.tv_nsec + 500_000_000
    let children = try (0..<4).map { _ in try context.spawn("creator", arguments: [name, String(start)]) }
    let results = children.map { $0.readLine() ?? "no answer" }
    try expect(results.filter { $0 == "created" }.count == 1 && results.filter { $0 == "EEXIST" }.count == 3,
      "the racing creators reported \(results)")
  },

  Check(
    "MQ-OPEN-MODE-UMASK", source: "mq_open(3) DESCRIPTION, BUGS",
    clause: "A new queue's permissions are mode & ~umask (0666 under umask 022 → 0644, under 077 → 0600)"
  ) { context in
    for (mask, expected) in [(mode_t(0o022), mode_t(0o644)), (0o077, 0o600)] {
      umask(mask)
      let fd = try rawUnlinkedQueue(context, 1, 8, mode: 0o666)
      defer { CHinix_mq_close(fd) }
      var info = stat()
      try expect(fstat(fd, &info) == 0, "fstat failed")
      try expect(info.st_mode & 0o777 == expected, "mode 0666 under umask 0\(String(mask, radix: 8)) gave 0\(String(info.st_mode & 0o777, radix: 8))")
    }
  },

  Check(
    "MQ-OPEN-ATTR-IGNORED", source: "mq_open(3) DESCRIPTION",
    clause: "mq_flags and mq_curmsgs of attr are ignored at creation (O_NONBLOCK and 5 passed → flags 0, curmsgs 0)"
  ) { context in
    var attributes = mq_attr()
    attributes.mq_flags = Int(O_NONBLOCK)
    attributes.mq_maxmsg = 4
    attributes.mq_msgsize = 64
    attributes.mq_curmsgs = 5
    let fd = CHinix_mq_open(context.queueName("ign"), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600, &attributes)
    try expectOpened(fd, "mq_open failed")
    defer { CHinix_mq_close(fd) }
    let got = try rawAttributes(fd)
    try expect(got.mq_flags == 0 && got.mq_curmsgs == 0 && got.mq_maxmsg == 4 && got.mq_msgsize == 64,
      "got flags \(got.mq_flags), curmsgs \(got.mq_curmsgs), \(got.mq_maxmsg) × \(got.mq_msgsize)")
  },

  Check(
    "MQ-OPEN-NO-MSG-EFFECT", source: "POSIX mq_open (open_posix_testsuite assertion 19)",
    clause: "Opening a queue again, with or without O_CREAT, neither adds nor removes messages"
  ) { context in
    let (name, fd) = try rawQueue(context)
    defer { CHinix_mq_close(fd) }
    try rawSend(fd, "one", 2)
    try rawSend(fd, "two", 1)
    for flags in [O_RDONLY, O_RDWR | O_CREAT] {
      let again = CHinix_mq_open_attr(name, flags | O_CLOEXEC, 0o600, 4, 64)
      try expectOpened(again, "reopening failed")
      CHinix_mq_close(again)
    }
    try expect(try rawAttributes(fd).mq_curmsgs == 2, "the count changed")
    try expect(try rawReceiveText(fd) == "one" && (try rawReceiveText(fd)) == "two", "the messages changed")
  },

  Check(
    "MQ-OPEN-EACCES-PERM", source: "mq_open(3) ERRORS",
    clause: "Opening an existing queue for a mode its permissions deny fails with EACCES (another uid, queues 0600 and 0644)",
    needs: [.secondUID, .processes],
    roles: [
      "other-user": { role in
        guard setuid(uid_t(61000 + getpid() % 3000)) == 0 else { throw HarnessError("setuid: \(Errno(rawValue: systemErrno))") }
        var results: [String] = []
        for name in role.arguments {
          for flags in [O_RDONLY, O_WRONLY, O_RDWR] {
            let fd = CHinix_mq_open(name, flags | O_CLOEXEC, 0, nil)
            results.append(fd >= 0 ? "ok" : Errno(rawValue: systemErrno).symbolicName)
            if fd >= 0 { CHinix_mq_close(fd) }
          }
        }
        role.report(results.joined(separator: ","))
      }
    ]
  ) { context in
    guard getuid() == 0 else { throw CheckSkipped("needs real root to switch to a second uid") }
    umask(0)
    let (closed, first) = try rawQueue(context, 1, 8, mode: 0o600)
    let (readable, second) = try rawQueue(context, 1, 8, mode: 0o644)
    CHinix_mq_close(first)
    CHinix_mq_close(second)
    let child = try context.spawn("other-user", arguments: [closed, readable])
    let got = child.readLine() ?? "no answer"
    try expect(got == "EACCES,EACCES,EACCES,ok,EACCES,EACCES",
      "another uid opening (0600: RDONLY, WRONLY, RDWR; 0644: RDONLY, WRONLY, RDWR) got \(got)")
  },

  Check(
    "MQ-OPEN-EACCES-DOT", source: "kernel (undocumented)",
    clause: "The names \"/.\" and \"/..\" fail with EACCES, with or without O_CREAT",
    kernelDiffers: true
  ) { _ in
    for name in ["/.", "/.."] {
      try expectCErrno(EACCES, "mq_open(\(name.debugDescription))", Int(CHinix_mq_open(name, O_RDWR | O_CLOEXEC, 0, nil)))
      try expectCErrno(EACCES, "mq_open(\(name.debugDescription), O_CREAT)", Int(CHinix_mq_open_attr(name, O_RDWR | O_CREAT | O_CLOEXEC, 0o600, 1, 8)))
    }
  },

  Check(
    "MQ-OPEN-EINVAL-HARDMAX", source: "mq_open(3) ERRORS",
    clause: "Even a CAP_SYS_RESOURCE caller gets EINVAL for mq_maxmsg above HARD_MSGMAX (65536)",
    needs: [.sysResource]
  ) { context in
    try olRequireSysResource()
    try olSetQueueBytesLimit(soft: rlim_t.max, hard: rlim_t.max)
    try expectCErrno(EINVAL, "mq_maxmsg 65537 with privilege", Int(CHinix_mq_open_attr(context.queueName("hard"), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600, 65_537, 1)))
  },

  Check(
    "MQ-OPEN-EMFILE", source: "mq_open(3) ERRORS",
    clause: "With every descriptor under RLIMIT_NOFILE in use, mq_open fails with EMFILE"
  ) { context in
    let (name, fd) = try rawQueue(context, 1, 8)
    CHinix_mq_close(fd)
    // The lowest free descriptor is below the new limit, so at least one open succeeds.
    let lowest = open("/dev/null", O_RDONLY | O_CLOEXEC)
    guard lowest >= 0 else { throw HarnessError("open /dev/null: \(Errno(rawValue: systemErrno))") }
    close(lowest)
    var limit = rlimit()
    getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
    limit.rlim_cur = rlim_t(lowest + 8)
    guard setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { throw HarnessError("setrlimit(RLIMIT_NOFILE)") }
    var filler: [CInt] = []
    defer { filler.forEach { close($0) } }
    while true {
      let fd = open("/dev/null", O_RDONLY | O_CLOEXEC)
      if fd < 0 {
        guard systemErrno == EMFILE else { throw HarnessError("open /dev/null: \(Errno(rawValue: systemErrno))") }
        break
      }
      filler.append(fd)
      if filler.count > 100 { throw HarnessError("RLIMIT_NOFILE \(lowest + 8) did not stop open(2)") }
    }
    try expectCErrno(EMFILE, "mq_open with no descriptor left", Int(CHinix_mq_open(name, O_RDWR | O_CLOEXEC, 0, nil)))
    try expectCErrno(EMFILE, "mq_open(O_CREAT) with no descriptor left", Int(CHinix_mq_open_attr(context.queueName("more"), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600, 1, 8)))
    close(filler.removeLast())
    let again = CHinix_mq_open(name, O_RDWR | O_CLOEXEC, 0, nil)
    try expect(again >= 0, "with one descriptor free mq_open still failed: \(Errno(rawValue: systemErrno))")
    CHinix_mq_close(again)
  },

  Check(
    "MQ-OPEN-ENFILE", source: "mq_open(3) ERRORS",
    clause: "When the system-wide file table is full, mq_open fails with ENFILE"
  ) { _ in
    throw CheckSkipped("needs fs.file-max lowered system-wide, which no namespace isolates; not done on a shared host")
  },

  Check(
    "MQ-OPEN-ENOENT-SLASH", source: "mq_open(3) ERRORS",
    clause: "The name \"/\" alone fails with ENOENT, for open, create and unlink alike"
  ) { _ in
    try expectCErrno(ENOENT, "mq_open(\"/\")", Int(CHinix_mq_open("/", O_RDWR | O_CLOEXEC, 0, nil)))
    try expectCErrno(ENOENT, "mq_open(\"/\", O_CREAT)", Int(CHinix_mq_open_attr("/", O_RDWR | O_CREAT | O_CLOEXEC, 0o600, 1, 8)))
    try expectCErrno(ENOENT, "mq_unlink(\"/\")", Int(CHinix_mq_unlink("/")))
  },

  Check(
    "MQ-OPEN-ENOMEM", source: "mq_open(3) ERRORS",
    clause: "When memory is insufficient, mq_open fails with ENOMEM"
  ) { _ in
    throw CheckSkipped("not practically testable: the kernel's allocation failure cannot be provoked safely")
  },

  Check(
    "MQ-OPEN-EOVERFLOW", source: "kernel (mq_attr_ok)",
    clause: "maxmsg × msgsize overflowing the kernel's size arithmetic gives EOVERFLOW, reachable only with CAP_SYS_RESOURCE",
    needs: [.sysResource]
  ) { _ in
    try olRequireSysResource()
    throw CheckSkipped("on a 64-bit kernel HARD_MSGMAX × HARD_MSGSIZEMAX (2^40) cannot overflow, so EINVAL always comes first")
  },
]
