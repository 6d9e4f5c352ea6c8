// Checks of POSIX message queues: mq_overview(7), mq_open(3), mq_send(3),
// mq_receive(3), mq_getattr(3). Each cites its clause in its own words.

import CHinix
import Hinix

#if canImport(Glibc)
  import Glibc
#endif

/// Calls mq_open with a name as raw bytes, bypassing Hinix's validation, so
/// the kernel's (and glibc's) own answer is what the check sees.
func rawOpen(_ name: String, _ flags: CInt, maxMessages: Int = 0, messageSize: Int = 0) -> mqd_t {
  if maxMessages > 0 || messageSize > 0 || flags & O_CREAT != 0 && (maxMessages != 0 || messageSize != 0) {
    return CHinix_mq_open_attr(name, flags | O_CLOEXEC, 0o600, maxMessages, messageSize)
  }
  return CHinix_mq_open(name, flags | O_CLOEXEC, 0o600, nil)
}

let messageQueueChecks: [Check] = [
  Check(
    "MQ-OV-NAME-FORM", source: "mq_overview(7) DESCRIPTION",
    clause: "A name is a slash and 1 to 255 characters with no other slash; a 255-character one is accepted"
  ) { context in
    let base = context.queueName("n")
    let name = base + String(repeating: "x", count: 256 - base.utf8.count)
    let fd = rawOpen(name, O_RDWR | O_CREAT | O_EXCL, maxMessages: 1, messageSize: 8)
    try expectOpened(fd, "creating a queue with a 255-character name failed")
    CHinix_mq_close(fd)
    CHinix_mq_unlink(name)
  },

  Check(
    "MQ-OV-PRIO-FIRST", "MQ-SEND-PRIO-ORDER", "MQ-RECV-ORDER", source: "mq_overview(7), mq_send(3), mq_receive(3) DESCRIPTION",
    clause: "Messages leave highest priority first; receive takes the oldest message of the highest priority"
  ) { context in
    let queue = try context.makeQueue(maxMessages: 8)
    for (text, priority) in [("low", 1), ("high", 30), ("mid", 7), ("high2", 30), ("zero", 0)] {
      try queue.send(text, priority: UInt32(priority))
    }
    let got = try (0..<5).map { _ in try queue.receive().text }
    try expect(got == ["high", "high2", "mid", "low", "zero"], "received in the order \(got)")
  },

  Check(
    "MQ-SEND-FIFO-SAME-PRIO", source: "mq_send(3) DESCRIPTION",
    clause: "Within one priority, a new message goes after the older ones"
  ) { context in
    let queue = try context.makeQueue(maxMessages: 8)
    for index in 0..<8 { try queue.send([UInt8(index)], priority: 5) }
    let got = try (0..<8).map { _ in try queue.receive().bytes[0] }
    try expect(got == Array(0..<8), "received in the order \(got)")
  },

  Check(
    "MQ-OV-PRIO-RANGE", "MQ-SEND-PRIO-MAX1", source: "mq_overview(7) DESCRIPTION",
    clause: "Priorities run from 0 to sysconf(_SC_MQ_PRIO_MAX) − 1, which is 32767 on Linux, and are reported back"
  ) { context in
    let limit = sysconf(Int32(_SC_MQ_PRIO_MAX))
    try expect(limit == 32768, "sysconf(_SC_MQ_PRIO_MAX) is \(limit), expected 32768")
    let queue = try context.makeQueue()
    try queue.send("top", priority: 32767)
    try expect(try queue.receive().priority == 32767, "priority 32767 was not reported back")
  },

  Check(
    "MQ-SEND-EINVAL-PRIO", source: "POSIX mq_send ERRORS (absent from the 6.03 man page)",
    clause: "A priority of MQ_PRIO_MAX or more fails with EINVAL, and Linux checks it before the descriptor",
    kernelDiffers: true
  ) { context in
    let queue = try context.makeQueue()
    var byte: UInt8 = 0
    try expectCErrno(EINVAL, "mq_send with priority 32768", Int(queue.withDescriptor { CHinix_mq_send($0.rawValue, &byte, 1, 32768) }))
    try expectCErrno(EINVAL, "mq_send with a bad descriptor and priority 32768", Int(CHinix_mq_send(-1, &byte, 1, 32768)))
    try expect(try queue.attributes().currentMessages == 0, "a message was queued")
  },

  Check(
    "MQ-SEND-OK", "MQ-RECV-LEN", source: "mq_send(3), mq_receive(3) RETURN VALUE",
    clause: "Send returns 0 and receive returns the message's length, with its bytes intact"
  ) { context in
    let queue = try context.makeQueue(messageSize: 256)
    let payload = (0..<200).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
    try queue.send(payload, priority: 3)
    let message = try queue.receive()
    try expect(message.bytes == payload, "the bytes differ (\(message.bytes.count) received)")
  },

  Check(
    "MQ-SEND-LEN-LIMIT", source: "mq_send(3) DESCRIPTION",
    clause: "A message of exactly mq_msgsize bytes is accepted"
  ) { context in
    let queue = try context.makeQueue(maxMessages: 1, messageSize: 8192)
    try queue.send([UInt8](repeating: 0xA5, count: 8192))
    try expect(try queue.receive().bytes.count == 8192, "the 8192-byte message came back shorter")
  },

  Check(
    "MQ-SEND-ZERO-LEN", source: "mq_send(3) DESCRIPTION",
    clause: "A zero-length message is allowed, and its receive returns 0"
  ) { context in
    let queue = try context.makeQueue()
    try queue.send([UInt8](), priority: 2)
    let message = try queue.receive()
    try expect(message.bytes.isEmpty && message.priority == 2, "received \(message.bytes.count) bytes, priority \(message.priority)")
  },

  Check(
    "MQ-SEND-EMSGSIZE", source: "mq_send(3) ERRORS",
    clause: "A message longer than mq_msgsize fails with EMSGSIZE"
  ) { context in
    let queue = try context.makeQueue(messageSize: 16)
    try expectErrno(.messageTooLong, "a 17-byte message to a 16-byte queue") { try queue.send([UInt8](repeating: 1, count: 17)) }
  },

  Check(
    "MQ-SEND-EAGAIN", "MQ-SEND-FAIL-NOT-QUEUED", source: "mq_send(3) ERRORS; POSIX RETURN VALUE",
    clause: "A full queue with O_NONBLOCK fails with EAGAIN at once, and the failed send queues nothing"
  ) { context in
    let queue = try context.makeQueue(maxMessages: 2, options: .nonBlocking)
    try queue.send("a")
    try queue.send("b")
    try expectErrno(.resourceTemporarilyUnavailable, "a send to a full non-blocking queue") { try queue.send("c") }
    try expect(try queue.attributes().currentMessages == 2, "the failed send changed the message count")
  },

  Check(
    "MQ-SEND-EBADF", source: "mq_send(3) ERRORS",
    clause: "A bad descriptor, a descriptor that is not a queue, or a queue not open for writing gives EBADF"
  ) { context in
    var byte: UInt8 = 0
    try expectCErrno(EBADF, "mq_send on descriptor -1", Int(CHinix_mq_send(-1, &byte, 1, 0)))
    let null = open("/dev/null", O_WRONLY | O_CLOEXEC)
    defer { close(null) }
    try expectCErrno(EBADF, "mq_send on /dev/null", Int(CHinix_mq_send(null, &byte, 1, 0)))
    let queue = try context.makeQueue()
    let reader = try MsgQueue(queue.name, access: .readOnly)
    try expectErrno(.badFileDescriptor, "mq_send on an O_RDONLY queue") { try reader.send("x") }
  },

  Check(
    "MQ-TSEND-EXPIRED", source: "mq_timedsend(3) DESCRIPTION",
    clause: "On a full queue with a deadline already past, mq_timedsend returns at once with ETIMEDOUT"
  ) { context in
    let queue = try context.makeQueue(maxMessages: 1)
    try queue.send("full")
    try expectErrno(.timedOut, "mq_timedsend with a past deadline on a full queue") { try queue.send("x", deadline: .expired) }
  },

  Check(
    "MQ-TSEND-ROOM", source: "POSIX mq_timedsend (open_posix_testsuite assertion 18)",
    clause: "With room in the queue, mq_timedsend succeeds even when the deadline has passed"
  ) { context in
    let queue = try context.makeQueue()
    try queue.send("x", deadline: .expired)
    try expect(try queue.attributes().currentMessages == 1, "the message was not queued")
  },

  Check(
    "MQ-TSEND-ETIMEDOUT", source: "mq_timedsend(3) ERRORS",
    clause: "On a full blocking queue, mq_timedsend fails with ETIMEDOUT, no earlier than its absolute deadline"
  ) { context in
    let queue = try context.makeQueue(maxMessages: 1)
    try queue.send("full")
    let clock = ContinuousClock()
    let start = clock.now
    try expectErrno(.timedOut, "mq_timedsend with a 200 ms deadline") { try queue.send("x", deadline: .after(.milliseconds(200))) }
    let elapsed = start.duration(to: clock.now)
    try expect(elapsed >= .milliseconds(195), "timed out after \(elapsed), before the deadline")
  },

  Check(
    "MQ-TSEND-EINVAL-TS", source: "mq_timedsend(3) ERRORS",
    clause: "A deadline with tv_nsec outside 0 ..< 1e9 fails with EINVAL, which Linux reports even when the queue has room",
    kernelDiffers: true
  ) { context in
    let queue = try context.makeQueue()
    var byte: UInt8 = 0
    for nanoseconds in [-1, 1_000_000_000] {
      var time = timespec(tv_sec: 0, tv_nsec: nanoseconds)
      let result = queue.guardedRaw { CHinix_mq_timedsend($0, &byte, 1, 0, &time) }
      try expectCErrno(EINVAL, "mq_timedsend with tv_nsec \(nanoseconds) and room in the queue", Int(result))
    }
  },

  Check(
    "MQ-OPEN-EEXIST", source: "mq_open(3) ERRORS",
    clause: "O_CREAT | O_EXCL on an existing name fails with EEXIST"
  ) { context in
    let queue = try context.makeQueue()
    try expectErrno(.fileExists, "an exclusive create of an existing name") {
      _ = try MsgQueue(queue.name, options: .exclusive, capacity: .init(maxMessages: 1, messageSize: 8))
    }
  },

  Check(
    "MQ-OPEN-ENOENT", source: "mq_open(3) ERRORS",
    clause: "Without O_CREAT, opening a name that does not exist fails with ENOENT"
  ) { context in
    try expectErrno(.noSuchFileOrDirectory, "opening a missing queue") { _ = try MsgQueue(context.queueName("missing")) }
  },

  Check(
    "MQ-OPEN-CREAT-EXISTING", source: "mq_open(3) O_CREAT",
    clause: "O_CREAT without O_EXCL opens an existing queue, ignoring the mode and attributes given, even invalid ones"
  ) { context in
    let queue = try context.makeQueue(maxMessages: 3, messageSize: 32)
    let fd = rawOpen(queue.name.rawValue, O_RDWR | O_CREAT, maxMessages: -5, messageSize: 64)
    try expectOpened(fd, "O_CREAT with maxmsg −5 on an existing queue failed")
    var attributes = mq_attr()
    CHinix_mq_getattr(fd, &attributes)
    CHinix_mq_close(fd)
    try expect(attributes.mq_maxmsg == 3 && attributes.mq_msgsize == 32, "the attributes became \(attributes.mq_maxmsg) × \(attributes.mq_msgsize)")
  },

  Check(
    "MQ-OPEN-ATTR-USED", source: "mq_open(3) DESCRIPTION",
    clause: "attr's mq_maxmsg and mq_msgsize become the new queue's attributes"
  ) { context in
    let queue = try context.makeQueue(maxMessages: 7, messageSize: 100)
    let attributes = try queue.attributes()
    try expect(attributes.maxMessages == 7 && attributes.messageSize == 100, "got \(attributes.maxMessages) × \(attributes.messageSize)")
  },

  Check(
    "MQ-OPEN-EINVAL-ATTR", source: "mq_open(3) ERRORS",
    clause: "O_CREAT with mq_maxmsg ≤ 0 or mq_msgsize ≤ 0 fails with EINVAL"
  ) { context in
    for (count, size) in [(0, 8), (-1, 8), (4, 0), (4, -3)] {
      let fd = rawOpen(context.queueName("bad"), O_RDWR | O_CREAT | O_EXCL, maxMessages: count, messageSize: size)
      try expectCErrno(EINVAL, "mq_open with maxmsg \(count) and msgsize \(size)", Int(fd))
    }
  },

  Check(
    "MQ-OPEN-EINVAL-NAME", source: "mq_open(3) ERRORS, NOTES",
    clause: "A name that does not start with a slash, the empty name included, fails with EINVAL"
  ) { _ in
    for name in ["noslash", ""] {
      try expectCErrno(EINVAL, "mq_open(\(name.debugDescription))", Int(rawOpen(name, O_RDWR)))
    }
  },

  Check(
    "MQ-OPEN-EACCES-SLASH", source: "mq_open(3) ERRORS",
    clause: "A name with more than one slash fails with EACCES, for mq_unlink too"
  ) { _ in
    for name in ["/a/b", "//x"] {
      try expectCErrno(EACCES, "mq_open(\(name.debugDescription), O_CREAT)", Int(rawOpen(name, O_RDWR | O_CREAT, maxMessages: 1, messageSize: 8)))
      try expectCErrno(EACCES, "mq_unlink(\(name.debugDescription))", Int(CHinix_mq_unlink(name)))
    }
  },

  Check(
    "MQ-OPEN-ENAMETOOLONG", source: "mq_open(3) ERRORS",
    clause: "A name over 255 characters fails with ENAMETOOLONG"
  ) { _ in
    let name = "/" + String(repeating: "y", count: 256)
    try expectCErrno(ENAMETOOLONG, "mq_open of a 256-character name", Int(rawOpen(name, O_RDWR | O_CREAT, maxMessages: 1, messageSize: 8)))
  },

  Check(
    "MQ-OPEN-RDONLY", "MQ-OPEN-WRONLY", "MQ-OPEN-RDWR", source: "mq_open(3) DESCRIPTION",
    clause: "O_RDONLY receives but cannot send (EBADF); O_WRONLY sends but cannot receive; O_RDWR does both"
  ) { context in
    let queue = try context.makeQueue()
    let reader = try MsgQueue(queue.name, access: .readOnly)
    let writer = try MsgQueue(queue.name, access: .writeOnly)
    try writer.send("w")
    try expect(try reader.receive().text == "w", "O_RDONLY could not receive")
    try expectErrno(.badFileDescriptor, "send on O_RDONLY") { try reader.send("x") }
    try expectErrno(.badFileDescriptor, "receive on O_WRONLY") { _ = try writer.receive() }
    try queue.send("rw")
    try expect(try queue.receive().text == "rw", "O_RDWR could not do both")
  },

  Check(
    "MQ-OPEN-NONBLOCK", source: "mq_open(3) O_NONBLOCK",
    clause: "With O_NONBLOCK, mq_flags reports it and calls that would block fail with EAGAIN"
  ) { context in
    let queue = try context.makeQueue(options: .nonBlocking)
    try expect(try queue.attributes().isNonBlocking, "mq_flags does not report O_NONBLOCK")
    try expectErrno(.resourceTemporarilyUnavailable, "receive from an empty non-blocking queue") { _ = try queue.receive() }
  },

  Check(
    "MQ-OV-CLOEXEC", source: "mq_overview(7) Linux implementation",
    clause: "Every message queue descriptor has FD_CLOEXEC set, even without O_CLOEXEC"
  ) { context in
    let name = context.queueName("cloexec")
    let fd = CHinix_mq_open_attr(name, O_RDWR | O_CREAT | O_EXCL, 0o600, 1, 8)
    try expectOpened(fd, "mq_open failed")
    defer { CHinix_mq_close(fd) }
    try expect(fcntl(fd, F_GETFD) & FD_CLOEXEC != 0, "FD_CLOEXEC is not set")
  },

  Check(
    "MQ-OV-FD-POLL", source: "mq_overview(7) Linux implementation",
    clause: "A queue descriptor works with poll: POLLIN while a message is queued, POLLOUT while there is room"
  ) { context in
    let queue = try context.makeQueue(maxMessages: 1)
    func events() -> Int16 {
      var entry = pollfd(fd: queue.descriptor.rawValue, events: Int16(POLLIN | POLLOUT), revents: 0)
      _ = withExtendedLifetime(queue) { poll(&entry, 1, 0) }
      return entry.revents & Int16(POLLIN | POLLOUT)
    }
    try expect(events() == Int16(POLLOUT), "an empty queue polled \(events())")
    try queue.send("x")
    try expect(events() == Int16(POLLIN), "a full queue polled \(events())")
  },

  Check(
    "MQ-FS-READ-MQD", "MQ-FS-QSIZE", source: "kernel (undocumented); mq_overview(7) BUGS",
    clause: "read(2) on a queue descriptor returns the 60-byte status line, whose QSIZE is the user bytes queued",
    kernelDiffers: true
  ) { context in
    let queue = try context.makeQueue()
    try queue.send("abc")
    try queue.send("defgh")
    try queue.send([UInt8]())
    var buffer = [UInt8](repeating: 0, count: 128)
    let count = buffer.withUnsafeMutableBytes { bytes in queue.guardedRaw { Int32(read($0, bytes.baseAddress, bytes.count)) } }
    try expect(count == 60, "read returned \(count) bytes, expected 60")
    let status = try queue.status()
    try expect(status.queuedBytes == 8, "QSIZE is \(status.queuedBytes), expected 8")
  },

  Check(
    "MQ-OV-NAME-SHARED", "MQ-OPEN-MULTI", source: "mq_overview(7) DESCRIPTION; POSIX",
    clause: "Processes that open the same name share one queue: one sends, another receives",
    needs: [.processes],
    roles: [
      "sender": { role in
        let queue = try MsgQueue.open(role.arguments[0], access: .writeOnly)
        try queue.send("from \(getpid())", priority: 4)
      }
    ]
  ) { context in
    let queue = try context.makeQueue()
    let child = try context.spawn("sender", arguments: [queue.name.rawValue])
    let message = try queue.receive(timeout: .seconds(5))
    try expect(message.text == "from \(child.pid)" && message.priority == 4, "received \(message.text.debugDescription)")
    try expect(child.wait() == 0, "the sender failed")
  },

  Check(
    "MQ-RECV-BLOCK-EMPTY", source: "mq_receive(3) DESCRIPTION",
    clause: "A receive on an empty blocking queue waits until another process sends",
    needs: [.processes],
    roles: [
      "late-sender": { role in
        let queue = try MsgQueue.open(role.arguments[0], access: .writeOnly)
        usleep(100_000)
        try queue.send("late")
      }
    ]
  ) { context in
    let queue = try context.makeQueue()
    let clock = ContinuousClock()
    let start = clock.now
    _ = try context.spawn("late-sender", arguments: [queue.name.rawValue])
    let message = try queue.receive()
    try expect(message.text == "late", "received \(message.text.debugDescription)")
    try expect(start.duration(to: clock.now) >= .milliseconds(90), "the receive did not wait for the send")
  },
]

extension MsgQueue {
  /// Runs `body` with the raw descriptor, keeping the queue open meanwhile.
  func guardedRaw<R>(_ body: (CInt) -> R) -> R {
    (try? withDescriptor { body($0.rawValue) }) ?? body(-1)
  }
}
