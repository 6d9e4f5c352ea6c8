// Checks of a queue's life: persistence, inheritance, mq_unlink(3) and
// mq_close(3). Each cites its clause in its own words.

import CHinix
import Hinix

#if canImport(Glibc)
  import Glibc
#endif

// MARK: - Helpers (this file only)

/// NOTIFY_PID from the status line that read(2) on a queue descriptor returns.
fileprivate func lcNotifyPID(_ fd: mqd_t) throws -> Int {
  var buffer = [UInt8](repeating: 0, count: 128)
  let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
  guard count > 0 else { throw HarnessError("read of the queue's status line: \(Errno(rawValue: systemErrno))") }
  let line = String(decoding: buffer[..<count], as: UTF8.self)
  let parts = line.split(separator: "NOTIFY_PID:", omittingEmptySubsequences: false)
  guard parts.count == 2, let pid = Int(parts[1].filter { !$0.isWhitespace })
  else { throw HarnessError("cannot parse \(line.debugDescription)") }
  return pid
}

/// fcntl(F_DUPFD, 20): a descriptor the check's helper can be told about.
/// A process whose RLIMIT_NOFILE is 20 or less cannot have one (EINVAL), nor
/// one that has all its descriptors open (EMFILE): the check is skipped then.
private func dupAbove20(_ fd: CInt) throws -> CInt {
  let copy = fcntl(fd, F_DUPFD, 20)
  guard copy < 0 else { return copy }
  let error = systemErrno
  if error == EINVAL || error == EMFILE {
    let limit = SystemLimits.current().descriptorLimit.map { "\($0)" } ?? "unknown"
    throw CheckSkipped(
      "could not get the resources the check needs, which is no evidence against the kernel: fcntl(F_DUPFD, 20) failed with \(Errno(rawValue: error).symbolicName) (RLIMIT_NOFILE: \(limit) descriptors)")
  }
  throw HarnessError("fcntl(F_DUPFD, 20): \(Errno(rawValue: error))")
}

let lifecycleChecks: [Check] = [
  Check(
    "MQ-OV-FORK-INHERIT", "MQ-OV-FORK-SHARED-FLAGS", source: "mq_overview(7) DESCRIPTION",
    clause: "A child that inherits a queue descriptor shares its open description: it can receive and send on it, and its mq_setattr(O_NONBLOCK) shows in the parent's mq_getattr. Checked without fork(): the descriptor is duplicated without FD_CLOEXEC and inherited through posix_spawn, which shares the open description as fork does",
    needs: [.processes],
    roles: [
      "inheritor": { role in
        let fd = CInt(role.arguments[0])!
        let got = try rawReceiveText(fd)
        try rawSend(fd, "pong:" + got, 6)
        var new = mq_attr()
        new.mq_flags = Int(O_NONBLOCK)
        guard CHinix_mq_setattr(fd, &new, nil) == 0 else { throw HarnessError("mq_setattr: \(Errno(rawValue: systemErrno))") }
        role.report("done")
      }
    ]
  ) { context in
    let fd = try rawUnlinkedQueue(context)
    defer { CHinix_mq_close(fd) }
    let inheritable = try dupAbove20(fd)
    defer { close(inheritable) }
    try rawSend(fd, "ping")
    let child = try context.spawn("inheritor", arguments: [String(inheritable)])
    close(inheritable)
    try expect(child.readLine() == "done", "the child could not use the inherited descriptor")
    try expect(child.wait() == 0, "the child failed")
    try expect(try rawReceiveText(fd) == "pong:ping", "the child's reply did not arrive")
    try expect(try rawAttributes(fd).mq_flags == Int(O_NONBLOCK), "the child's mq_setattr(O_NONBLOCK) is not visible in the parent")
  },

  Check(
    "MQ-OV-PERSIST", source: "mq_overview(7) Persistence",
    clause: "A queue and its messages outlive the process that created them, until mq_unlink",
    needs: [.processes],
    roles: [
      "creator": { role in
        let fd = CHinix_mq_open_attr(role.arguments[0], O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600, 3, 32)
        guard fd >= 0 else { throw HarnessError("mq_open: \(Errno(rawValue: systemErrno))") }
        try rawSend(fd, "left behind", 5)
        CHinix_mq_close(fd)
      }
    ]
  ) { context in
    let name = context.queueName("persist")
    let child = try context.spawn("creator", arguments: [name])
    try expect(child.wait() == 0, "the creator failed")
    let fd = CHinix_mq_open(name, O_RDWR | O_CLOEXEC, 0, nil)
    try expectOpened(fd, "the queue did not outlive its creator")
    defer { CHinix_mq_close(fd) }
    let attributes = try rawAttributes(fd)
    try expect(attributes.mq_maxmsg == 3 && attributes.mq_msgsize == 32 && attributes.mq_curmsgs == 1, "the queue is \(attributes.mq_maxmsg) × \(attributes.mq_msgsize) with \(attributes.mq_curmsgs) queued")
    try expect(try rawReceiveText(fd) == "left behind", "the message did not survive")
  },

  // MARK: mq_unlink

  Check(
    "MQ-UNLINK-OK", source: "mq_unlink(3) DESCRIPTION, RETURN VALUE",
    clause: "mq_unlink returns 0 and the name is gone at once: mq_open without O_CREAT gives ENOENT"
  ) { context in
    let (name, fd) = try rawQueue(context)
    CHinix_mq_close(fd)
    try expect(CHinix_mq_unlink(name) == 0, "mq_unlink failed: \(Errno(rawValue: systemErrno))")
    try expectCErrno(ENOENT, "mq_open after mq_unlink", Int(CHinix_mq_open(name, O_RDWR | O_CLOEXEC, 0, nil)))
  },

  Check(
    "MQ-UNLINK-DEFERRED", source: "mq_unlink(3) DESCRIPTION",
    clause: "After mq_unlink the queue lives on for the descriptors already open, in this and other processes, until the last close",
    needs: [.processes],
    roles: [
      "holder": { role in
        let fd = CHinix_mq_open(role.arguments[0], O_RDWR | O_CLOEXEC, 0, nil)
        guard fd >= 0 else { throw HarnessError("mq_open: \(Errno(rawValue: systemErrno))") }
        role.report("open")
        let first = try rawReceiveText(fd)
        let second = try rawReceiveText(fd)
        try rawSend(fd, "reply:" + first + "+" + second)
      }
    ]
  ) { context in
    let (name, fd) = try rawQueue(context)
    defer { CHinix_mq_close(fd) }
    try rawSend(fd, "before", 2)
    let child = try context.spawn("holder", arguments: [name])
    try expect(child.readLine() == "open", "the helper did not open the queue")
    try expect(CHinix_mq_unlink(name) == 0, "mq_unlink failed: \(Errno(rawValue: systemErrno))")
    try expectCErrno(ENOENT, "mq_open of the unlinked name", Int(CHinix_mq_open(name, O_RDWR | O_CLOEXEC, 0, nil)))
    try rawSend(fd, "after", 1)
    try expect(child.wait() == 0, "the helper could not use the unlinked queue")
    try expect(try rawReceiveText(fd) == "reply:before+after", "the unlinked queue did not carry the helper's reply")
  },

  Check(
    "MQ-UNLINK-RECREATE", source: "Linux (POSIX allows mq_open to fail here)",
    clause: "While an unlinked queue is still open, its name can be created again (O_CREAT | O_EXCL); the new queue is separate and empty"
  ) { context in
    let (name, old) = try rawQueue(context)
    defer { CHinix_mq_close(old) }
    try rawSend(old, "old")
    try expect(CHinix_mq_unlink(name) == 0, "mq_unlink failed")
    let new = CHinix_mq_open_attr(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600, 2, 16)
    try expectOpened(new, "re-creating the unlinked name failed")
    defer { CHinix_mq_close(new) }
    let attributes = try rawAttributes(new)
    try expect(attributes.mq_curmsgs == 0 && attributes.mq_maxmsg == 2, "the new queue has \(attributes.mq_curmsgs) messages, maxmsg \(attributes.mq_maxmsg)")
    try rawSend(new, "new")
    try expect(try rawAttributes(old).mq_curmsgs == 1, "a send to the new queue reached the old one")
    try expect(try rawReceiveText(old) == "old" && (try rawReceiveText(new, size: 16)) == "new", "the two queues' messages are mixed up")
  },

  Check(
    "MQ-UNLINK-EACCES", "MQ-UNLINK-FAIL-UNCHANGED", source: "mq_unlink(3) ERRORS; POSIX mq_unlink (open_posix_testsuite assertion 4)",
    clause: "Another uid's mq_unlink fails with EACCES (the kernel's EPERM from the sticky mqueue root, turned into EACCES by glibc); the failed unlink leaves the queue usable and unlinkable by its owner",
    kernelDiffers: true, needs: [.secondUID, .processes],
    roles: [
      "intruder": { role in
        guard setuid(uid_t(61000 + getpid() % 3000)) == 0 else { throw HarnessError("setuid: \(Errno(rawValue: systemErrno))") }
        let name = role.arguments[0]
        role.report(CHinix_mq_unlink(name) == 0 ? "unlinked" : Errno(rawValue: systemErrno).symbolicName)
        let fd = CHinix_mq_open(name, O_WRONLY | O_CLOEXEC, 0, nil)
        guard fd >= 0 else { role.report("open: \(Errno(rawValue: systemErrno).symbolicName)"); return }
        try rawSend(fd, "still here")
        role.report("sent")
      }
    ]
  ) { context in
    guard getuid() == 0 else { throw CheckSkipped("needs real root to switch to a second uid") }
    umask(0)
    let (name, fd) = try rawQueue(context, mode: 0o666)
    defer { CHinix_mq_close(fd) }
    let child = try context.spawn("intruder", arguments: [name])
    let unlinkResult = child.readLine() ?? "no answer"
    try expect(unlinkResult == "EACCES", "another uid's mq_unlink: expected EACCES, got \(unlinkResult)")
    let sendResult = child.readLine() ?? "no answer"
    try expect(sendResult == "sent", "after the failed unlink the queue was not usable: \(sendResult)")
    try expect(try rawReceiveText(fd) == "still here", "the message sent after the failed unlink is missing")
    try expect(CHinix_mq_unlink(name) == 0, "the owner could not unlink: \(Errno(rawValue: systemErrno))")
    try expectCErrno(ENOENT, "mq_open after the owner's unlink", Int(CHinix_mq_open(name, O_RDWR | O_CLOEXEC, 0, nil)))
  },

  Check(
    "MQ-UNLINK-ENAMETOOLONG", source: "mq_unlink(3) ERRORS",
    clause: "A name over 255 characters fails with ENAMETOOLONG"
  ) { _ in
    try expectCErrno(ENAMETOOLONG, "mq_unlink of a 256-character name", Int(CHinix_mq_unlink("/" + String(repeating: "z", count: 256))))
  },

  Check(
    "MQ-UNLINK-ENOENT", source: "mq_unlink(3) ERRORS",
    clause: "Unlinking a name with no queue fails with ENOENT"
  ) { context in
    try expectCErrno(ENOENT, "mq_unlink of a missing queue", Int(CHinix_mq_unlink(context.queueName("missing"))))
  },

  Check(
    "MQ-UNLINK-EINVAL-NAME", source: "glibc mq_unlink (absent from mq_unlink(3))",
    clause: "A name without a leading slash fails with EINVAL",
    kernelDiffers: true
  ) { _ in
    try expectCErrno(EINVAL, "mq_unlink(\"noslash\")", Int(CHinix_mq_unlink("noslash")))
  },

  // MARK: mq_close

  Check(
    "MQ-CLOSE-OK", source: "mq_close(3) RETURN VALUE",
    clause: "mq_close of an open queue descriptor returns 0"
  ) { context in
    let fd = try rawUnlinkedQueue(context)
    try expect(CHinix_mq_close(fd) == 0, "mq_close failed: \(Errno(rawValue: systemErrno))")
  },

  Check(
    "MQ-CLOSE-EBADF", "MQ-CLOSE-DISASSOC", source: "mq_close(3) ERRORS, DESCRIPTION",
    clause: "A bad descriptor or a second close gives EBADF, and after close every mq_* call on that value gives EBADF"
  ) { context in
    try expectCErrno(EBADF, "mq_close(-1)", Int(CHinix_mq_close(-1)))
    let fd = try rawUnlinkedQueue(context)
    try expect(CHinix_mq_close(fd) == 0, "mq_close failed")
    var buffer = [UInt8](repeating: 0, count: 64)
    var attributes = mq_attr()
    try expectCErrno(EBADF, "mq_send after close", Int(CHinix_mq_send(fd, &buffer, 1, 0)))
    try expectCErrno(EBADF, "mq_receive after close", CHinix_mq_receive(fd, &buffer, 64, nil))
    try expectCErrno(EBADF, "mq_getattr after close", Int(CHinix_mq_getattr(fd, &attributes)))
    try expectCErrno(EBADF, "mq_setattr after close", Int(CHinix_mq_setattr(fd, &attributes, nil)))
    try expectCErrno(EBADF, "mq_notify after close", Int(CHinix_mq_notify_none(fd)))
    try expectCErrno(EBADF, "a second mq_close", Int(CHinix_mq_close(fd)))
  },

  Check(
    "MQ-CLOSE-EXIT", source: "mq_close(3) NOTES",
    clause: "A process's queues are closed when it terminates: its notification registration goes away and another process can register",
    needs: [.processes],
    roles: [
      "registrant": { role in
        let fd = CHinix_mq_open(role.arguments[0], O_RDWR | O_CLOEXEC, 0, nil)
        guard fd >= 0 else { throw HarnessError("mq_open: \(Errno(rawValue: systemErrno))") }
        guard CHinix_mq_notify_none(fd) == 0 else { throw HarnessError("mq_notify: \(Errno(rawValue: systemErrno))") }
        role.report("registered")
        _ = try rawReceiveText(fd)
        // Exits without closing: termination must close the descriptor.
      }
    ]
  ) { context in
    let (name, fd) = try rawQueue(context)
    defer { CHinix_mq_close(fd) }
    let child = try context.spawn("registrant", arguments: [name])
    try expect(child.readLine() == "registered", "the helper did not register")
    try expect(try lcNotifyPID(fd) == Int(child.pid), "NOTIFY_PID is not the helper's PID while it runs")
    try expectCErrno(EBUSY, "registering while the helper is registered", Int(CHinix_mq_notify_none(fd)))
    try rawSend(fd, "exit now")
    try expect(child.wait() == 0, "the helper failed")
    try expect(try lcNotifyPID(fd) == 0, "the registration survived the helper's exit")
    try expect(CHinix_mq_notify_none(fd) == 0, "registering after the helper's exit failed: \(Errno(rawValue: systemErrno))")
  },

  Check(
    "MQ-CLOSE-EXEC", source: "mq_close(3) NOTES",
    clause: "Queue descriptors are closed by execve: a spawned program has none of the parent's queue descriptors, except one explicitly made inheritable (the control)",
    needs: [.processes],
    roles: [
      "lister": { role in
        let needle = role.arguments[0]
        var found: [String] = []
        for fd in 0..<1024 {
          if let link = linkTarget("/proc/self/fd/\(fd)"), link.contains(needle) { found.append(String(fd)) }
        }
        role.report("fds:" + found.joined(separator: ","))
      }
    ]
  ) { context in
    let (name, fd) = try rawQueue(context)
    defer { CHinix_mq_close(fd) }
    let link = linkTarget("/proc/self/fd/\(fd)") ?? ""
    let needle = String(name.dropFirst())
    try expect(link.contains(needle), "the queue's /proc/self/fd link \(link.debugDescription) does not name it")
    let second = CHinix_mq_open(name, O_RDWR, 0, nil)
    try expect(second >= 0, "mq_open without O_CLOEXEC failed")
    defer { CHinix_mq_close(second) }
    let control = try dupAbove20(fd)
    defer { close(control) }
    let child = try context.spawn("lister", arguments: [needle])
    let got = child.readLine() ?? "no answer"
    try expect(got == "fds:\(control)", "after execve the child holds \(got); expected only the inheritable duplicate \(control) (queue descriptors \(fd), \(second) must be closed)")
  },
]
