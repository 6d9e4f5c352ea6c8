// Raw message-queue calls for checks that must see exactly what libc and the
// kernel return, without Hinix's validation or retries in between.

import CHinix
import Hinix

#if canImport(Glibc)
  import Glibc
#endif

/// Creates a fresh queue (exclusively, close-on-exec) of `count` × `size` with
/// mq_open directly; the name comes from `context`, so it is unlinked at the end.
func rawQueue(
  _ context: CheckContext, _ count: Int = 4, _ size: Int = 64, flags: CInt = O_RDWR, mode: mode_t = 0o600
) throws -> (name: String, fd: mqd_t) {
  let name = context.queueName("r")
  let fd = CHinix_mq_open_attr(name, flags | O_CREAT | O_EXCL | O_CLOEXEC, mode, count, size)
  guard fd >= 0 else {
    let error = systemErrno
    if isResourceShortage(error) {
      throw resourceSkip("creating the queue \(name) (\(count) × \(size))", errno: error, maxMessages: count, messageSize: size)
    }
    throw HarnessError("mq_open \(name): \(Errno(rawValue: error))")
  }
  return (name, fd)
}

/// ``rawQueue(_:_:_:flags:mode:)`` for a check that needs only the
/// descriptor: the name is unlinked at once, so the queue goes away with the
/// descriptor even if the run is killed (an unprivileged run's queues live in
/// the host's namespace).
func rawUnlinkedQueue(
  _ context: CheckContext, _ count: Int = 4, _ size: Int = 64, flags: CInt = O_RDWR, mode: mode_t = 0o600
) throws -> mqd_t {
  let (name, fd) = try rawQueue(context, count, size, flags: flags, mode: mode)
  _ = CHinix_mq_unlink(name)
  return fd
}

/// mq_send of `text`'s UTF-8 bytes; a failure fails the check.
func rawSend(_ fd: mqd_t, _ text: String, _ priority: UInt32 = 0) throws {
  let bytes = Array(text.utf8)
  let result = bytes.withUnsafeBytes { CHinix_mq_send(fd, $0.baseAddress, $0.count, priority) }
  guard result == 0 else { throw CheckFailure("mq_send(\(text.debugDescription)) failed: \(Errno(rawValue: systemErrno))") }
}

/// mq_receive into a `size`-byte buffer; a failure fails the check.
func rawReceive(_ fd: mqd_t, size: Int = 64) throws -> (text: String, priority: UInt32) {
  var buffer = [UInt8](repeating: 0, count: size)
  var priority: UInt32 = 0
  let count = buffer.withUnsafeMutableBytes { CHinix_mq_receive(fd, $0.baseAddress, $0.count, &priority) }
  guard count >= 0 else { throw CheckFailure("mq_receive failed: \(Errno(rawValue: systemErrno))") }
  return (String(decoding: buffer[..<count], as: UTF8.self), priority)
}

/// The text of ``rawReceive(_:size:)``.
func rawReceiveText(_ fd: mqd_t, size: Int = 64) throws -> String {
  try rawReceive(fd, size: size).text
}

/// mq_getattr; a failure fails the check.
func rawAttributes(_ fd: mqd_t) throws -> mq_attr {
  var attributes = mq_attr()
  guard CHinix_mq_getattr(fd, &attributes) == 0 else {
    throw CheckFailure("mq_getattr failed: \(Errno(rawValue: systemErrno))")
  }
  return attributes
}

