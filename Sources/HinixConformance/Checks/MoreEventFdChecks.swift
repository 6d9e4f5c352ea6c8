// Conformance checks; see the catalog rows each cites.

import CHinix
import Hinix

#if canImport(Glibc)
  import Glibc
#endif

// MARK: - Raw helpers

/// A raw eventfd(2) that is closed when the check's scope ends.
private final class RawEventFd {
  let fd: CInt
  init(_ initval: UInt32 = 0, flags: CInt = CHinix_EFD_CLOEXEC) throws {
    fd = CHinix_eventfd(initval, flags)
    guard fd >= 0 else {
      let error = systemErrno
      if isResourceShortage(error) { throw resourceSkip("eventfd(\(initval), \(flags))", errno: error, creating: false) }
      throw CheckFailure("eventfd(\(initval), \(flags)) failed: \(Errno(rawValue: error).symbolicName)")
    }
  }
  deinit { close(fd) }

  /// read(2) into a buffer of `size` bytes: the result and the bytes.
  func read(size: Int = 8) -> (Int, [UInt8]) {
    var buffer = [UInt8](repeating: 0xEE, count: size)
    let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
    return (count, buffer)
  }

  /// read(2) of 8 bytes as a value; nil when the call failed.
  func value() -> UInt64? {
    var value: UInt64 = 0
    let count = withUnsafeMutableBytes(of: &value) { Glibc.read(fd, $0.baseAddress, 8) }
    return count == 8 ? value : nil
  }

  /// write(2) of raw bytes.
  func write(bytes: [UInt8]) -> Int {
    bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
  }

  /// write(2) of one 8-byte value.
  func write(_ value: UInt64) -> Int {
    withUnsafeBytes(of: value) { Glibc.write(fd, $0.baseAddress, 8) }
  }

  /// The poll(2) events that are ready now, of POLLIN | POLLOUT.
  func pollEvents() -> Int16 {
    var entry = pollfd(fd: fd, events: Int16(POLLIN | POLLOUT), revents: 0)
    _ = poll(&entry, 1, 0)
    return entry.revents
  }

  /// Adds `value` to the counter with one write (from zero, this sets it).
  func set(_ value: UInt64) throws {
    try expect(write(value) == 8, "writing \(value) to set the counter failed: \(Errno(rawValue: systemErrno).symbolicName)")
  }
}

// glibc entry points that Swift's Glibc module does not import: `syscall` and
// `ioctl` are variadic, `ppoll` needs _GNU_SOURCE, and `eventfd_read` and
// `eventfd_write` live in <sys/eventfd.h>. They are bound by symbol at link
// time rather than looked up with dlsym, which finds nothing in a static
// executable (the one scripts/kernel-matrix boots in a guest). Each takes
// integers and pointers only, which Swift's calling convention passes in the
// same registers as C; glibc's `syscall` and `ioctl` read only integer
// registers, so calling them as fixed-arity functions is safe.
@_silgen_name("syscall")
private func libcSyscall(_ number: Int, _ a1: Int, _ a2: Int, _ a3: Int, _ a4: Int, _ a5: Int, _ a6: Int) -> Int
@_silgen_name("ioctl")
private func libcIoctl(_ fd: CInt, _ request: UInt, _ argument: Int) -> CInt
@_silgen_name("ppoll")
private func libcPpoll(
  _ fds: UnsafeMutablePointer<pollfd>, _ count: nfds_t, _ timeout: UnsafePointer<timespec>?, _ mask: UnsafePointer<sigset_t>?
) -> CInt
@_silgen_name("eventfd_read")
private func libcEventfdRead(_ fd: CInt, _ value: UnsafeMutablePointer<UInt64>) -> CInt
@_silgen_name("eventfd_write")
private func libcEventfdWrite(_ fd: CInt, _ value: UInt64) -> CInt

/// libc's `syscall`, for the raw x86-64 syscall numbers the checks use.
private func rawSyscall() throws -> (Int, Int, Int, Int, Int, Int, Int) -> Int {
  #if arch(x86_64)
    return libcSyscall
  #else
    throw CheckSkipped("the raw syscall numbers used here are x86-64's")
  #endif
}

/// The contents of /proc/self/fdinfo/`fd`.
private func fdinfo(_ fd: CInt) throws -> String {
  let file = open("/proc/self/fdinfo/\(fd)", O_RDONLY | O_CLOEXEC)
  guard file >= 0 else { throw HarnessError("open fdinfo: \(Errno(rawValue: systemErrno))") }
  defer { close(file) }
  var buffer = [UInt8](repeating: 0, count: 4096)
  let count = buffer.withUnsafeMutableBytes { read(file, $0.baseAddress, $0.count) }
  guard count >= 0 else { throw HarnessError("read fdinfo: \(Errno(rawValue: systemErrno))") }
  return String(decoding: buffer[..<count], as: UTF8.self)
}

/// The `eventfd-id` in the fdinfo of `fd`, or nil if it is not an open eventfd.
private func eventfdID(_ fd: CInt) -> String? {
  guard let text = try? fdinfo(fd) else { return nil }
  return text.split(separator: "\n").first { $0.hasPrefix("eventfd-id:") }
    .map { $0.dropFirst("eventfd-id:".count).trimmingPrefix(while: { $0 == " " || $0 == "\t" }) }.map(String.init)
}

private func errnoName() -> String { Errno(rawValue: systemErrno).symbolicName }

/// Sleeps `milliseconds` of wall time, resuming after signal handlers.
private func sleepMilliseconds(_ milliseconds: Int) {
  let clock = ContinuousClock()
  let deadline = clock.now + .milliseconds(milliseconds)
  while clock.now < deadline { usleep(5_000) }
}

/// Roles that use an eventfd inherited across posix_spawn (created without
/// EFD_CLOEXEC; its number is the first argument).
///
/// - `write-after` [fd, value, ms]: waits, writes value, reports "wrote".
/// - `read-after` [fd, ms]: waits, reads, reports the value.
/// - `signal-after` [pid, signo, ms, fd]: waits until pid is blocked in read(2),
///   sends the signal, reports "sent";
///   1.5 s later writes 1 to fd so that a read that missed the signal ends.
/// - `exec-probe` [inheritable fd, close-on-exec fd]: reports the link of
///   each ("none" if not open) and writes 5 to the first.
private let eventfdRoles: [String: @Sendable (RoleContext) throws -> Void] = [
  "write-after": { role in
    guard let fd = CInt(role.arguments[0]), let value = UInt64(role.arguments[1]), let delay = Int(role.arguments[2]) else {
      throw HarnessError("bad arguments")
    }
    sleepMilliseconds(delay)
    guard CHinix_eventfd_write(fd, value) == 0 else { throw HarnessError("write: \(errnoName())") }
    role.report("wrote")
  },
  "read-after": { role in
    guard let fd = CInt(role.arguments[0]), let delay = Int(role.arguments[1]) else { throw HarnessError("bad arguments") }
    sleepMilliseconds(delay)
    var value: UInt64 = 0
    guard CHinix_eventfd_read(fd, &value) == 0 else { throw HarnessError("read: \(errnoName())") }
    role.report("\(value)")
  },
  "signal-after": { role in
    guard let pid = pid_t(role.arguments[0]), let signo = CInt(role.arguments[1]), let delay = Int(role.arguments[2]),
      let fd = CInt(role.arguments[3])
    else { throw HarnessError("bad arguments") }
    // Ordering, not time: signal once the reader is seen blocked in read(2)
    // (at most `delay` ms of waiting per try, up to 10 s in all).
    let clock = ContinuousClock()
    let giveUp = clock.now + .seconds(10)
    while !isBlocked("/proc/\(pid)/syscall", inSyscall: syscallRead) && clock.now < giveUp {
      sleepMilliseconds(min(delay, 2))
    }
    guard kill(pid, signo) == 0 else { throw HarnessError("kill: \(errnoName())") }
    role.report("sent")
    sleepMilliseconds(1_500)
    _ = CHinix_eventfd_write(fd, 1)
  },
  "exec-probe": { role in
    guard let inherited = CInt(role.arguments[0]), let closing = CInt(role.arguments[1]) else { throw HarnessError("bad arguments") }
    let flags = fcntl(inherited, F_GETFD)
    role.report(flags < 0 ? "none" : "\(linkTarget("/proc/self/fd/\(inherited)") ?? "?") cloexec=\(flags & FD_CLOEXEC) id=\(eventfdID(inherited) ?? "none")")
    role.report("id=\(eventfdID(closing) ?? "none")")
    guard CHinix_eventfd_write(inherited, 5) == 0 else { throw HarnessError("write: \(errnoName())") }
  },
]

/// A do-nothing handler (installed without SA_RESTART).
private func installPlainHandler(_ signo: CInt) throws {
  var action = sigaction()
  action.__sigaction_handler.sa_handler = { _ in }
  action.sa_flags = 0
  sigemptyset(&action.sa_mask)
  guard sigaction(signo, &action, nil) == 0 else { throw HarnessError("sigaction: \(errnoName())") }
  var set = sigset_t()
  sigemptyset(&set)
  sigaddset(&set, signo)
  pthread_sigmask(SIG_UNBLOCK, &set, nil)
}

private func hex(_ value: UInt64) -> String { "0x" + String(value, radix: 16) }

private let maxCount: UInt64 = 0xffff_ffff_ffff_fffe

let moreEventfdChecks: [Check] = [
  Check(
    "EFD-INITVAL-32BIT", source: "eventfd(2) SYNOPSIS",
    clause: "initval is an unsigned int: 0xffffffff is accepted as is, and a wider value passed to the raw syscall is truncated to 32 bits"
  ) { _ in
    let event = try RawEventFd(0xffff_ffff)
    let value = event.value()
    try expect(value == 0xffff_ffff, "initval 0xffffffff read back as \(value.map(hex) ?? "an error")")
    let call = try rawSyscall()
    let fd = CInt(truncatingIfNeeded: call(290 /* SYS_eventfd2 */, 0x1_0000_0005, Int(CHinix_EFD_CLOEXEC), 0, 0, 0, 0))
    try expect(fd >= 0, "eventfd2(0x100000005) failed: \(errnoName())")
    defer { close(fd) }
    var wide: UInt64 = 0
    try expect(CHinix_eventfd_read(fd, &wide) == 0 && wide == 5, "the raw syscall's initval 0x100000005 read back as \(hex(wide)), expected 0x5")
  },

  Check(
    "EFD-CLOEXEC", "EFD-NONBLOCK", "EFD-FLAGS-DEFAULT", source: "eventfd(2) EFD_CLOEXEC, EFD_NONBLOCK",
    clause: "EFD_CLOEXEC sets FD_CLOEXEC; EFD_NONBLOCK sets O_NONBLOCK (F_GETFL 0x802); flags 0 give a blocking O_RDWR descriptor without FD_CLOEXEC"
  ) { _ in
    let cloexec = try RawEventFd(0, flags: CHinix_EFD_CLOEXEC)
    try expect(fcntl(cloexec.fd, F_GETFD) & FD_CLOEXEC != 0, "EFD_CLOEXEC: FD_CLOEXEC is not set")
    try expect(fcntl(cloexec.fd, F_GETFL) == O_RDWR, "EFD_CLOEXEC: F_GETFL is \(hex(UInt64(UInt32(bitPattern: fcntl(cloexec.fd, F_GETFL)))))")
    let nonblocking = try RawEventFd(0, flags: CHinix_EFD_NONBLOCK)
    let nbFlags = fcntl(nonblocking.fd, F_GETFL)
    try expect(nbFlags == 0x802 && nbFlags == O_RDWR | O_NONBLOCK, "EFD_NONBLOCK: F_GETFL is \(hex(UInt64(UInt32(bitPattern: nbFlags)))), expected 0x802")
    try expect(fcntl(nonblocking.fd, F_GETFD) & FD_CLOEXEC == 0, "EFD_NONBLOCK alone set FD_CLOEXEC")
    try expect(nonblocking.value() == nil && systemErrno == EAGAIN, "EFD_NONBLOCK: a read of 0 did not fail with EAGAIN")
    let plain = try RawEventFd(0, flags: 0)
    try expect(fcntl(plain.fd, F_GETFD) & FD_CLOEXEC == 0, "flags 0: FD_CLOEXEC is set")
    try expect(fcntl(plain.fd, F_GETFL) == O_RDWR, "flags 0: F_GETFL is \(hex(UInt64(UInt32(bitPattern: fcntl(plain.fd, F_GETFL))))), expected O_RDWR")
  },

  Check(
    "EFD-EINVAL-FLAGS", source: "eventfd(2) ERRORS",
    clause: "A flag bit other than EFD_CLOEXEC, EFD_NONBLOCK and EFD_SEMAPHORE, O_RDWR included, fails with EINVAL"
  ) { _ in
    // (O_WRONLY is 1, the same bit as EFD_SEMAPHORE, so it is not an invalid flag.)
    for flags: CInt in [O_RDWR, O_RDWR | CHinix_EFD_CLOEXEC, 0x10, 0x4000_0000, CHinix_EFD_NONBLOCK | O_APPEND] {
      let fd = CHinix_eventfd(0, flags)
      if fd >= 0 { close(fd) }
      try expectCErrno(EINVAL, "eventfd(0, \(hex(UInt64(UInt32(bitPattern: flags)))))", Int(fd))
    }
  },

  Check(
    "EFD-EMFILE", source: "eventfd(2) ERRORS",
    clause: "With no descriptor free under RLIMIT_NOFILE, eventfd fails with EMFILE"
  ) { _ in
    let probe = CHinix_eventfd(0, CHinix_EFD_CLOEXEC)
    try expect(probe >= 0, "eventfd failed: \(errnoName())")
    close(probe)  // `probe` was the lowest free number: every lower one is in use
    var saved = rlimit()
    guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &saved) == 0 else { throw HarnessError("getrlimit") }
    var lowered = saved
    lowered.rlim_cur = rlim_t(probe)
    guard setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &lowered) == 0 else { throw HarnessError("setrlimit: \(errnoName())") }
    let fd = CHinix_eventfd(0, CHinix_EFD_CLOEXEC)
    let error = systemErrno
    _ = setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &saved)
    if fd >= 0 { close(fd) }
    try expect(fd == -1, "eventfd succeeded (fd \(fd)) with RLIMIT_NOFILE \(probe)")
    try expect(error == EMFILE, "eventfd failed with \(Errno(rawValue: error).symbolicName), expected EMFILE")
  },

  Check("EFD-ENFILE", source: "eventfd(2) ERRORS", clause: "A full system-wide file table gives ENFILE") { _ in
    throw CheckSkipped("needs the system-wide file table filled (ROOT, fs.file-max is not namespaced): it would disturb the host")
  },

  Check("EFD-ENODEV", source: "eventfd(2) ERRORS", clause: "A failure to mount the anonymous inode device gives ENODEV") { _ in
    throw CheckSkipped("not practically testable (UNT): the anon-inode mount is made once at boot")
  },

  Check("EFD-ENOMEM", source: "eventfd(2) ERRORS", clause: "Insufficient memory gives ENOMEM") { _ in
    throw CheckSkipped("not practically testable (UNT): the kernel's allocation cannot be made to fail without fault injection")
  },

  Check(
    "EFD-READ-8", source: "eventfd(2) read(2)",
    clause: "A successful read returns exactly 8 bytes, even into a 16- or 32-byte buffer, and leaves the rest of the buffer alone"
  ) { _ in
    let event = try RawEventFd(0, flags: CHinix_EFD_NONBLOCK)
    for size in [8, 16, 32] {
      try event.set(0x0102)
      let (count, bytes) = event.read(size: size)
      try expect(count == 8, "a read into \(size) bytes returned \(count) (\(errnoName()))")
      let value = bytes[..<8].withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
      try expect(value == 0x0102, "a read into \(size) bytes gave \(hex(value))")
      try expect(bytes[8...].allSatisfy { $0 == 0xEE }, "a read into \(size) bytes wrote past 8 bytes")
    }
  },

  Check(
    "EFD-READ-EINVAL", source: "eventfd(2) read(2)",
    clause: "A read into a buffer of fewer than 8 bytes fails with EINVAL and leaves the counter"
  ) { _ in
    let event = try RawEventFd(9, flags: CHinix_EFD_NONBLOCK)
    for size in [1, 4, 7] {
      try expectCErrno(EINVAL, "a read into \(size) bytes", event.read(size: size).0)
    }
    try expect(event.value() == 9, "the counter changed")
  },

  Check(
    "EFD-READ-BLOCK", source: "eventfd(2) read(2)",
    clause: "A blocking read of a zero counter waits until another process writes, and returns what it wrote",
    needs: [.processes], roles: eventfdRoles
  ) { context in
    let event = try RawEventFd(0, flags: 0)
    let clock = ContinuousClock()
    let start = clock.now
    let child = try context.spawn("write-after", arguments: ["\(event.fd)", "77", "300"])
    let value = event.value()
    let waited = start.duration(to: clock.now)
    try expect(value == 77, "the blocking read returned \(value.map(hex) ?? errnoName())")
    try expect(waited >= .milliseconds(250), "the read returned after \(waited), before the write")
    try expect(child.readLine() == "wrote" && child.wait() == 0, "the writer failed")
  },

  Check(
    "EFD-READ-EAGAIN", source: "eventfd(2) read(2)",
    clause: "A non-blocking read of a zero counter fails with EAGAIN at once"
  ) { _ in
    let event = try RawEventFd(0, flags: CHinix_EFD_NONBLOCK)
    try expectCErrno(EAGAIN, "a non-blocking read of 0", event.read().0)
    let semaphore = try RawEventFd(0, flags: CHinix_EFD_NONBLOCK | CHinix_EFD_SEMAPHORE)
    try expectCErrno(EAGAIN, "a non-blocking semaphore read of 0", semaphore.read().0)
  },

  Check(
    "EFD-READ-EINTR", source: "signal(7) Interruption of system calls",
    clause: "A blocked eventfd read interrupted by a handler installed without SA_RESTART fails with EINTR",
    needs: [.signals], roles: eventfdRoles
  ) { context in
    try installPlainHandler(SIGUSR2)
    let event = try RawEventFd(0, flags: 0)
    let child = try context.spawn("signal-after", arguments: ["\(getpid())", "\(SIGUSR2)", "500", "\(event.fd)"])
    let (count, _) = event.read()
    let error = systemErrno
    try expect(child.readLine() == "sent", "the helper did not signal")
    try expect(count == -1, "the read returned \(count) instead of failing")
    try expect(error == EINTR, "the read failed with \(Errno(rawValue: error).symbolicName), expected EINTR")
  },

  Check(
    "EFD-READ-HOSTORDER", source: "eventfd(2) read(2)",
    clause: "The 8 bytes read are the counter in host byte order"
  ) { _ in
    let event = try RawEventFd(0, flags: CHinix_EFD_NONBLOCK)
    let value: UInt64 = 0x0102_0304_0506_0708
    try event.set(value)
    let (count, bytes) = event.read()
    try expect(count == 8, "read returned \(count)")
    let host = withUnsafeBytes(of: value) { Array($0) }
    try expect(bytes == host, "read gave bytes \(bytes), host order is \(host)")
    // Little-endian bytes 1, 0, … are the value 1 on x86-64 (host order), not 2^56.
    try expect(event.write(bytes: withUnsafeBytes(of: UInt64(1)) { Array($0) }) == 8, "write failed")
    try expect(event.value() == 1, "the written host-order 1 read back differently")
  },

  Check(
    "EFD-WRITE-MAX", source: "eventfd(2) write(2)",
    clause: "The counter can reach 0xfffffffffffffffe, in one write or as the sum 1 + 0xfffffffffffffffd"
  ) { _ in
    let event = try RawEventFd(0, flags: CHinix_EFD_NONBLOCK)
    try expect(event.write(maxCount) == 8, "writing 0xfffffffffffffffe failed: \(errnoName())")
    try expect(event.value() == maxCount, "the counter did not read back as the maximum")
    try expect(event.write(1) == 8 && event.write(maxCount - 1) == 8, "writing 1 + 0xfffffffffffffffd failed: \(errnoName())")
    try expect(event.value() == maxCount, "the sum did not read back as the maximum")
  },

  Check(
    "EFD-WRITE-BLOCK", source: "eventfd(2) write(2)",
    clause: "A blocking write that would take the counter past the maximum waits until another process reads",
    needs: [.processes], roles: eventfdRoles
  ) { context in
    let event = try RawEventFd(0, flags: 0)
    try event.set(maxCount)
    let clock = ContinuousClock()
    let start = clock.now
    let child = try context.spawn("read-after", arguments: ["\(event.fd)", "300"])
    let written = event.write(3)
    let waited = start.duration(to: clock.now)
    try expect(written == 8, "the blocking write returned \(written) (\(errnoName()))")
    try expect(waited >= .milliseconds(250), "the write returned after \(waited), before the read")
    let read = child.readLine()
    try expect(read == "\(maxCount)", "the reader got \(read ?? "nothing"), expected \(maxCount)")
    try expect(event.pollEvents() & Int16(POLLIN) != 0, "nothing to read after the write")
    try expect(event.value() == 3, "after the read and the write the counter is not 3")
  },

  Check(
    "EFD-WRITE-EAGAIN", source: "eventfd(2) write(2)",
    clause: "A non-blocking write that would take the counter past the maximum fails with EAGAIN and changes nothing"
  ) { _ in
    let event = try RawEventFd(0, flags: CHinix_EFD_NONBLOCK)
    try event.set(maxCount - 1)
    try expectCErrno(EAGAIN, "writing 2 onto 0xfffffffffffffffd", event.write(2))
    try expect(event.write(1) == 8, "writing 1 onto 0xfffffffffffffffd failed")
    try expectCErrno(EAGAIN, "writing 1 onto the maximum", event.write(1))
    try expect(event.value() == maxCount, "the counter changed")
  },

  Check(
    "EFD-WRITE-EINVAL-SHORT", source: "eventfd(2) write(2)",
    clause: "A write of fewer than 8 bytes fails with EINVAL and leaves the counter"
  ) { _ in
    let event = try RawEventFd(4, flags: CHinix_EFD_NONBLOCK)
    for size in [1, 4, 7] {
      try expectCErrno(EINVAL, "a \(size)-byte write", event.write(bytes: [UInt8](repeating: 1, count: size)))
    }
    try expect(event.value() == 4, "the counter changed")
  },

  Check(
    "EFD-WRITE-EINVAL-LONG", source: "kernel eventfd_write (count != 8; man-pages 6.03 says only fewer than 8)",
    clause: "A write of more than 8 bytes (16 or 32) fails with EINVAL on this kernel and leaves the counter",
    kernelDiffers: true
  ) { _ in
    let event = try RawEventFd(4, flags: CHinix_EFD_NONBLOCK)
    for size in [9, 16, 32] {
      var bytes = [UInt8](repeating: 0, count: size)
      bytes[0] = 1
      try expectCErrno(EINVAL, "a \(size)-byte write", event.write(bytes: bytes))
    }
    try expect(event.value() == 4, "the counter changed")
  },

  Check(
    "EFD-WRITE-ZERO", source: "eventfd(2) write(2)",
    clause: "Writing 0 returns 8 and leaves the counter, even when it is at the maximum",
    kernelDiffers: true
  ) { _ in
    let event = try RawEventFd(6, flags: CHinix_EFD_NONBLOCK)
    try expect(event.write(0) == 8, "writing 0 failed: \(errnoName())")
    try expect(event.value() == 6, "writing 0 changed the counter")
    try event.set(maxCount)
    try expect(event.write(0) == 8, "writing 0 at the maximum failed: \(errnoName())")
    try expect(event.value() == maxCount, "writing 0 at the maximum changed the counter")
    try expect(event.write(0) == 8, "writing 0 at zero failed: \(errnoName())")
    try expect(event.pollEvents() & Int16(POLLIN) == 0, "writing 0 made a zero counter readable")
  },

  Check(
    "EFD-POLL-IN", "EFD-POLL-OUT", source: "eventfd(2) poll(2), select(2)",
    clause: "POLLIN iff the counter is above zero; POLLOUT iff 1 could be written without blocking (counter below 0xfffffffffffffffe)"
  ) { _ in
    let event = try RawEventFd(0, flags: CHinix_EFD_NONBLOCK)
    let inOut = Int16(POLLIN | POLLOUT)
    for (value, expected) in [(UInt64(0), Int16(POLLOUT)), (1, inOut), (maxCount - 1, inOut), (maxCount, Int16(POLLIN))] {
      if value > 0 { try event.set(value) }
      let got = event.pollEvents()
      try expect(got == expected, "counter \(hex(value)): poll gave \(hex(UInt64(UInt16(bitPattern: got)))), expected \(hex(UInt64(UInt16(bitPattern: expected))))")
      _ = event.value()
    }
  },

  Check(
    "EFD-POLL-OVERFLOW", source: "eventfd(2) poll(2), select(2)",
    clause: "After a kernel-side overflow (an AIO completion at the maximum) select shows readable and writable, poll POLLERR, and read returns 0xffffffffffffffff"
  ) { _ in
    let call = try rawSyscall()
    let event = try RawEventFd(0, flags: CHinix_EFD_NONBLOCK)
    try event.set(maxCount)
    var aioContext: UInt = 0
    let setup = withUnsafeMutablePointer(to: &aioContext) { call(206 /* io_setup */, 1, Int(bitPattern: $0), 0, 0, 0, 0) }
    guard setup == 0 else { throw CheckSkipped("needs kernel AIO (AIO), and io_setup failed with \(errnoName())") }
    defer { _ = call(207 /* io_destroy */, Int(aioContext), 0, 0, 0, 0, 0) }
    let zero = open("/dev/zero", O_RDONLY | O_CLOEXEC)
    guard zero >= 0 else { throw HarnessError("open /dev/zero") }
    defer { close(zero) }
    var target = [UInt8](repeating: 1, count: 8)
    // struct iocb: 64 bytes; an IOCB_CMD_PREAD of 8 bytes with IOCB_FLAG_RESFD.
    var iocb = [UInt64](repeating: 0, count: 8)
    let submitted: Int = target.withUnsafeMutableBytes { buffer in
      iocb.withUnsafeMutableBytes { raw in
        raw.storeBytes(of: UInt64(0x1234), toByteOffset: 0, as: UInt64.self)  // aio_data
        raw.storeBytes(of: UInt16(0), toByteOffset: 16, as: UInt16.self)  // IOCB_CMD_PREAD
        raw.storeBytes(of: UInt32(bitPattern: zero), toByteOffset: 20, as: UInt32.self)
        raw.storeBytes(of: UInt64(UInt(bitPattern: buffer.baseAddress)), toByteOffset: 24, as: UInt64.self)
        raw.storeBytes(of: UInt64(8), toByteOffset: 32, as: UInt64.self)
        raw.storeBytes(of: UInt32(1), toByteOffset: 56, as: UInt32.self)  // IOCB_FLAG_RESFD
        raw.storeBytes(of: UInt32(bitPattern: event.fd), toByteOffset: 60, as: UInt32.self)
        var list: [UnsafeMutableRawPointer?] = [raw.baseAddress]
        let result = list.withUnsafeMutableBufferPointer {
          call(209 /* io_submit */, Int(aioContext), 1, Int(bitPattern: $0.baseAddress), 0, 0, 0)
        }
        if result == 1 {
          var events = [UInt64](repeating: 0, count: 4)
          var timeout = timespec(tv_sec: 5, tv_nsec: 0)
          _ = events.withUnsafeMutableBytes { eventBytes in
            withUnsafeMutablePointer(to: &timeout) { time in
              call(208 /* io_getevents */, Int(aioContext), 1, 1, Int(bitPattern: eventBytes.baseAddress), Int(bitPattern: UnsafeMutableRawPointer(time)), 0)
            }
          }
        }
        return result
      }
    }
    try expect(submitted == 1, "io_submit returned \(submitted) (\(errnoName()))")
    var entry = pollfd(fd: event.fd, events: Int16(POLLIN | POLLOUT), revents: 0)
    _ = poll(&entry, 1, 0)
    try expect(entry.revents & Int16(POLLERR) != 0, "poll gave \(hex(UInt64(UInt16(bitPattern: entry.revents)))) without POLLERR")
    var readSet = fd_set()
    var writeSet = fd_set()
    func setBit(_ set: inout fd_set) {
      withUnsafeMutableBytes(of: &set) { $0.bindMemory(to: UInt64.self)[Int(event.fd) / 64] |= 1 << UInt64(event.fd % 64) }
    }
    func isSet(_ set: inout fd_set) -> Bool {
      withUnsafeMutableBytes(of: &set) { $0.bindMemory(to: UInt64.self)[Int(event.fd) / 64] & (1 << UInt64(event.fd % 64)) != 0 }
    }
    setBit(&readSet)
    setBit(&writeSet)
    var noWait = timeval(tv_sec: 0, tv_usec: 0)
    let ready = select(event.fd + 1, &readSet, &writeSet, nil, &noWait)
    try expect(ready == 2 && isSet(&readSet) && isSet(&writeSet), "select gave \(ready) ready (readable \(isSet(&readSet)), writable \(isSet(&writeSet)))")
    let value = event.value()
    try expect(value == .max, "read returned \(value.map(hex) ?? errnoName()), expected 0xffffffffffffffff")
  },

  Check(
    "EFD-OTHER-MUX", source: "eventfd(2) poll(2), select(2) and epoll(7)",
    clause: "pselect, ppoll and epoll see the same readiness: epoll gives EPOLLOUT (0x4) at 0 and EPOLLIN|EPOLLOUT (0x5) at 5"
  ) { _ in
    let event = try RawEventFd(0, flags: CHinix_EFD_NONBLOCK)
    let epoll = CHinix_epoll_create1(CHinix_EPOLL_CLOEXEC)
    try expect(epoll >= 0, "epoll_create1 failed")
    defer { close(epoll) }
    try expect(CHinix_epoll_ctl(epoll, CHinix_EPOLL_CTL_ADD, event.fd, CHinix_EPOLLIN | CHinix_EPOLLOUT, 42) == 0, "epoll_ctl failed")
    func epollMask() -> UInt32 {
      var masks = [UInt32](repeating: 0, count: 2)
      var data = [UInt64](repeating: 0, count: 2)
      let count = CHinix_epoll_wait(epoll, &masks, &data, 2, 0)
      return count == 1 && data[0] == 42 ? masks[0] : UInt32.max
    }
    func ppollMask() -> Int16 {
      var entry = pollfd(fd: event.fd, events: Int16(POLLIN | POLLOUT), revents: 0)
      var zero = timespec(tv_sec: 0, tv_nsec: 0)
      _ = libcPpoll(&entry, 1, &zero, nil)
      return entry.revents
    }
    func pselectReady() -> (Bool, Bool) {
      var readSet = fd_set()
      var writeSet = fd_set()
      let word = Int(event.fd) / 64
      let bit = UInt64(1) << UInt64(event.fd % 64)
      withUnsafeMutableBytes(of: &readSet) { $0.bindMemory(to: UInt64.self)[word] |= bit }
      withUnsafeMutableBytes(of: &writeSet) { $0.bindMemory(to: UInt64.self)[word] |= bit }
      var zero = timespec(tv_sec: 0, tv_nsec: 0)
      _ = pselect(event.fd + 1, &readSet, &writeSet, nil, &zero, nil)
      let readable = withUnsafeMutableBytes(of: &readSet) { $0.bindMemory(to: UInt64.self)[word] & bit != 0 }
      let writable = withUnsafeMutableBytes(of: &writeSet) { $0.bindMemory(to: UInt64.self)[word] & bit != 0 }
      return (readable, writable)
    }
    try expect(epollMask() == 0x4, "epoll at 0 gave \(hex(UInt64(epollMask()))), expected 0x4")
    try expect(ppollMask() == Int16(POLLOUT), "ppoll at 0 gave \(ppollMask())")
    try expect(pselectReady() == (false, true), "pselect at 0 gave (readable, writable) = \(pselectReady())")
    try event.set(5)
    try expect(epollMask() == 0x5, "epoll at 5 gave \(hex(UInt64(epollMask()))), expected 0x5")
    try expect(ppollMask() == Int16(POLLIN | POLLOUT), "ppoll at 5 gave \(ppollMask())")
    try expect(pselectReady() == (true, true), "pselect at 5 gave (readable, writable) = \(pselectReady())")
    try event.set(maxCount - 5)
    try expect(epollMask() == 0x1, "epoll at the maximum gave \(hex(UInt64(epollMask()))), expected 0x1")
    try expect(ppollMask() == Int16(POLLIN), "ppoll at the maximum gave \(ppollMask())")
    try expect(pselectReady() == (true, false), "pselect at the maximum gave (readable, writable) = \(pselectReady())")
  },

  Check(
    "EFD-FORK", "EFD-EXEC", source: "eventfd(2) DESCRIPTION",
    clause: "A child (posix_spawn: fork then execve) inherits an eventfd without close-on-exec as the same object, its write waking the parent's blocking read, while an EFD_CLOEXEC one does not survive the execve",
    needs: [.processes], roles: eventfdRoles
  ) { context in
    let inherited = try RawEventFd(0, flags: 0)
    let closing = try RawEventFd(0, flags: CHinix_EFD_CLOEXEC)
    let child = try context.spawn("exec-probe", arguments: ["\(inherited.fd)", "\(closing.fd)"])
    // The same object is recognised by its fdinfo eventfd-id.
    guard let inheritedID = eventfdID(inherited.fd), let closingID = eventfdID(closing.fd) else {
      throw CheckFailure("fdinfo has no eventfd-id")
    }
    let first = child.readLine()
    try expect(first == "anon_inode:[eventfd] cloexec=0 id=\(inheritedID)", "the inherited descriptor in the child: \(first ?? "no answer"), expected the eventfd with id \(inheritedID)")
    let second = child.readLine()
    try expect(second != nil && second != "id=\(closingID)", "the EFD_CLOEXEC eventfd (id \(closingID)) is still open in the child: \(second ?? "no answer")")
    let value = inherited.value()  // blocking: the child's write wakes it
    try expect(value == 5, "the parent's read returned \(value.map(hex) ?? errnoName()), expected the child's 5")
    try expect(child.wait() == 0, "the child failed")
  },

  Check(
    "EFD-CLOSE-FREE", source: "eventfd(2) close(2)",
    clause: "The eventfd object is freed when its last descriptor is closed"
  ) { _ in
    throw CheckSkipped("not practically testable (UNT): the freeing of a kernel object has no observable effect from user space")
  },

  Check(
    "EFD-FDINFO-COUNT", source: "eventfd(2) NOTES; proc(5)",
    clause: "/proc/PID/fdinfo/N has an eventfd-count line with the counter in hexadecimal, padded to 16 characters"
  ) { _ in
    let event = try RawEventFd(0xabc, flags: CHinix_EFD_NONBLOCK)
    let text = try fdinfo(event.fd)
    let line = text.split(separator: "\n").first { $0.hasPrefix("eventfd-count:") }
    try expect(line == "eventfd-count:              abc", "fdinfo has \(line.map { String($0).debugDescription } ?? "no eventfd-count line") for 0xabc")
    try event.set(UInt64(0xfedc_ba98_7654) - 0xabc)
    let full = try fdinfo(event.fd).split(separator: "\n").first { $0.hasPrefix("eventfd-count:") }
    try expect(full == "eventfd-count:     fedcba987654", "fdinfo has \(full.map { String($0).debugDescription } ?? "no line") for 0xfedcba987654")
  },

  Check(
    "EFD-FDINFO-EXTRA", source: "kernel eventfd_show_fdinfo (newer than proc(5) 6.03)",
    clause: "fdinfo also has eventfd-id: N, distinct per eventfd, and eventfd-semaphore: 0 or 1",
    kernelDiffers: true
  ) { _ in
    let plain = try RawEventFd(0, flags: 0)
    let semaphore = try RawEventFd(0, flags: CHinix_EFD_SEMAPHORE)
    func field(_ text: String, _ name: String) -> String? {
      text.split(separator: "\n").first { $0.hasPrefix(name + ": ") }.map { String($0.dropFirst(name.count + 2)) }
    }
    let plainInfo = try fdinfo(plain.fd)
    let semaphoreInfo = try fdinfo(semaphore.fd)
    try expect(field(plainInfo, "eventfd-semaphore") == "0", "plain eventfd: eventfd-semaphore is \(field(plainInfo, "eventfd-semaphore") ?? "missing")")
    try expect(field(semaphoreInfo, "eventfd-semaphore") == "1", "EFD_SEMAPHORE: eventfd-semaphore is \(field(semaphoreInfo, "eventfd-semaphore") ?? "missing")")
    let ids = [field(plainInfo, "eventfd-id"), field(semaphoreInfo, "eventfd-id")].map { $0.flatMap { Int($0) } }
    try expect(ids.allSatisfy { $0 != nil } && ids[0] != ids[1], "eventfd-id values \(ids), expected two different integers")
  },

  Check(
    "EFD-PROC-LINK", source: "proc(5) /proc/PID/fd",
    clause: "The /proc/PID/fd/N link of an eventfd reads anon_inode:[eventfd]"
  ) { _ in
    let event = try RawEventFd()
    let target = linkTarget("/proc/self/fd/\(event.fd)")
    try expect(target == "anon_inode:[eventfd]", "the link reads \(target ?? "nothing")")
    let byPID = linkTarget("/proc/\(getpid())/fd/\(event.fd)")
    try expect(byPID == "anon_inode:[eventfd]", "/proc/PID/fd link reads \(byPID ?? "nothing")")
  },

  Check(
    "EFD-GLIBC-HELPERS", source: "eventfd(2) NOTES",
    clause: "glibc's eventfd_read and eventfd_write return 0, or −1 with errno (EAGAIN, EINVAL)"
  ) { _ in
    let eventfdRead = libcEventfdRead
    let eventfdWrite = libcEventfdWrite
    let event = try RawEventFd(0, flags: CHinix_EFD_NONBLOCK)
    var value: UInt64 = 99
    try expectCErrno(EAGAIN, "eventfd_read of 0 (non-blocking)", Int(eventfdRead(event.fd, &value)))
    try expect(eventfdWrite(event.fd, 40) == 0 && eventfdWrite(event.fd, 2) == 0, "eventfd_write failed: \(errnoName())")
    try expectCErrno(EINVAL, "eventfd_write of 0xffffffffffffffff", Int(eventfdWrite(event.fd, .max)))
    try expectCErrno(EAGAIN, "eventfd_write past the maximum", Int(eventfdWrite(event.fd, maxCount)))
    try expect(eventfdRead(event.fd, &value) == 0, "eventfd_read failed: \(errnoName())")
    try expect(value == 42, "eventfd_read gave \(value), expected 42")
    try expectCErrno(EBADF, "eventfd_read on descriptor -1", Int(eventfdRead(-1, &value)))
  },

  Check(
    "EFD-NO-IOCTL", source: "kernel 6.18 (eventfd_fops has no unlocked_ioctl)",
    clause: "An eventfd has no ioctls of its own: FIONREAD and an EFD_IOC-style request fail with ENOTTY"
  ) { _ in
    let ioctlCall = libcIoctl
    let event = try RawEventFd(3, flags: CHinix_EFD_NONBLOCK)
    var scratch: UInt64 = 0
    for request: UInt in [0x541B /* FIONREAD */, 0x4008_4501 /* _IOW('E', 1, u64) */, 0x8008_4502 /* _IOR('E', 2, u64) */] {
      let result = withUnsafeMutablePointer(to: &scratch) { ioctlCall(event.fd, request, Int(bitPattern: $0)) }
      try expectCErrno(ENOTTY, "ioctl \(hex(UInt64(request)))", Int(result))
    }
    try expect(event.value() == 3, "an ioctl changed the counter")
  },
]
