// Telling "the check could not get what it needs" from "the kernel broke the
// clause": a queue or descriptor that cannot be had because a limit is used up
// (by this user's other queues, say) is no evidence against the kernel.

import CHinix
import Hinix

#if canImport(Glibc)
  import Glibc
#endif

/// Whether `error` says a limit was used up rather than that a call was wrong:
/// EMFILE, ENFILE, ENOSPC or ENOMEM.
func isResourceShortage(_ error: CInt) -> Bool {
  [EMFILE, ENFILE, ENOSPC, ENOMEM].contains(error)
}

/// A skip that names the limit an `mq_open` hit and how much of it is in use.
///
/// - Parameters:
///   - what: The call, as the check would have reported it.
///   - error: The errno it failed with (a resource shortage).
///   - creating: Whether `O_CREAT` was given.
///   - maxMessages: The queue's message count, `nil` for the defaults.
///   - messageSize: The queue's message size, `nil` for the defaults.
func resourceSkip(
  _ what: String, errno error: CInt, creating: Bool = true, maxMessages: Int? = nil, messageSize: Int? = nil
) -> CheckSkipped {
  let capacity = maxMessages.flatMap { count in messageSize.map { MsgQueue.Capacity(maxMessages: count, messageSize: $0) } }
  let limits = SystemLimits.current()
  let (limit, _) = limits.explainOpenFailure(errno: error, creating: creating, capacity: capacity, probe: true)
  let why: String
  if let limit {
    why = limit.description
  } else if error == ENFILE {
    why = "the system-wide table of open files is full (fs.file-max)"
  } else if error == ENOMEM {
    why = "the kernel is out of memory"
  } else {
    why = "a resource limit was hit"
  }
  return CheckSkipped(
    "could not get the resources the check needs, which is no evidence against the kernel: \(what) (\(Errno(rawValue: error).symbolicName)): \(why)")
}

/// Passes when `fd` is a descriptor; otherwise skips the check when the
/// call failed for want of resources (``resourceSkip(_:errno:creating:maxMessages:messageSize:)``),
/// and fails it with `message` and the errno for any other error.
///
/// Call it right after the `mq_open` (or other call) that returned `fd`,
/// before anything else can change errno.
func expectOpened(
  _ fd: CInt, _ message: @autoclosure () -> String, creating: Bool = true, maxMessages: Int? = nil, messageSize: Int? = nil
) throws {
  guard fd < 0 else { return }
  let error = systemErrno
  if isResourceShortage(error) {
    throw resourceSkip(message(), errno: error, creating: creating, maxMessages: maxMessages, messageSize: messageSize)
  }
  throw CheckFailure("\(message()): \(Errno(rawValue: error))")
}
