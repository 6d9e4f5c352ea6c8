// A child process for the library's tests (test support).
//
//   hinix-test-helper adopt FD     adopts descriptor FD, inherited across exec,
//                                  with MsgQueue(adopting:), receives one message
//                                  (for at most 60 s), sends back "pong MESSAGE
//                                  from NAME" and prints "adopted NAME"
//   hinix-test-helper create NAME  creates queue NAME (mode 0600) and leaves it
//   hinix-test-helper list         creates /helper-own (mode 0600) and sends it
//                                  "x", then prints MsgQueue.list(), a line per queue:
//                                  "NAME uid=U mode=OOO messages=N of=MAX size=SIZE bytes=QSIZE"
//                                  or "NAME uid=U mode=OOO error=ERRNO"
//   hinix-test-helper entries      prints MsgQueue.list() the same way, creating
//                                  nothing (list() drops the mq_notify
//                                  registrations of the process that lists, so
//                                  the tests list from a child)
//
// Exits 0, or prints the error on standard error and exits 3.
import Hinix
import SystemPackage

#if canImport(Glibc)
  import Glibc
#endif

/// Writes a line to standard error.
func complain(_ line: String) {
  let bytes = Array((line + "\n").utf8)
  _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

func usage() -> Never {
  complain("usage: hinix-test-helper adopt FD | create NAME | list | entries")
  exit(64)
}

/// Prints MsgQueue.list(), a line per queue.
func printEntries() throws {
  for entry in try MsgQueue.list() {
    let name = entry.name?.rawValue ?? "?"
    let mode = String(entry.permissions.rawValue, radix: 8)
    var detail = "error=\(entry.attributesError?.errno.symbolicName ?? "?")"
    if let attributes = entry.attributes {
      detail = "messages=\(attributes.currentMessages) of=\(attributes.maxMessages)"
        + " size=\(attributes.messageSize) bytes=\(entry.status.map { String($0.queuedBytes) } ?? "?")"
    }
    print("\(name) uid=\(entry.userID) mode=\(mode) \(detail)")
  }
}

let arguments = Array(CommandLine.arguments.dropFirst())
do {
  switch (arguments.first, arguments.count) {
  case ("adopt", 2):
    guard let fd = CInt(arguments[1]) else { usage() }
    let queue = try MsgQueue(adopting: FileDescriptor(rawValue: fd))
    let message = try queue.receive(timeout: .seconds(60))
    try queue.send("pong \(message.text) from \(queue.name)")
    print("adopted \(queue.name)")
  case ("create", 2):
    _ = try MsgQueue.createExclusive(arguments[1], maxMessages: 2, messageSize: 16)
  case ("list", 1):
    let own = try MsgQueue(
      "/helper-own", options: .exclusive, permissions: .ownerReadWrite,
      capacity: .init(maxMessages: 2, messageSize: 16))
    try own.send("x")
    try printEntries()
  case ("entries", 1):
    try printEntries()
  default:
    usage()
  }
} catch {
  complain("\(error)")
  exit(3)
}
