// A child process for the library's tests (test support).
//
//   hinix-test-helper adopt FD     adopts descriptor FD, inherited across exec,
//                                  with MsgQueue(adopting:), receives one message
//                                  (for at most 60 s), sends back "pong MESSAGE
//                                  from NAME" and prints "adopted NAME"
//   hinix-test-helper create NAME  creates queue NAME (mode 0600) and leaves it
//   hinix-test-helper list         creates /helper-own (mode 0600), then prints
//                                  MsgQueue.list() one line per queue:
//                                  "NAME uid=U mode=OOO messages=N" or
//                                  "NAME uid=U mode=OOO error=ERRNO"
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
  complain("usage: hinix-test-helper adopt FD | create NAME | list")
  exit(64)
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
    for entry in try MsgQueue.list() {
      let name = entry.name?.rawValue ?? "?"
      let mode = String(entry.permissions.rawValue, radix: 8)
      let detail =
        entry.attributes.map { "messages=\($0.currentMessages)" }
        ?? "error=\(entry.attributesError?.errno.symbolicName ?? "?")"
      print("\(name) uid=\(entry.userID) mode=\(mode) \(detail)")
    }
  default:
    usage()
  }
} catch {
  complain("\(error)")
  exit(3)
}
