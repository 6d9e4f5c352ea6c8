// Checks of eventfd(2).

import CHinix
import Hinix

#if canImport(Glibc)
  import Glibc
#endif

let eventfdChecks: [Check] = [
  Check(
    "EFD-READ-RESET", "EFD-WRITE-ADD", "EFD-INITVAL", source: "eventfd(2) DESCRIPTION, read(2), write(2)",
    clause: "The counter starts at initval, a write adds to it, and without EFD_SEMAPHORE a read returns it and resets it to zero"
  ) { _ in
    let event = try EventFd(initialValue: 2)
    try event.write(3)
    try expect(try event.read() == 5, "the read did not return 2 + 3")
    try expect(try event.tryRead() == nil, "the counter was not reset")
  },
  Check(
    "EFD-SEMAPHORE-FLAG", "EFD-READ-SEMAPHORE", source: "eventfd(2) EFD_SEMAPHORE, read(2)",
    clause: "With EFD_SEMAPHORE, a read returns 1 and decrements the counter by one"
  ) { _ in
    let event = try EventFd.semaphore(initialValue: 2)
    try expect(try event.read() == 1 && event.read() == 1, "reads did not return 1")
    try expect(try event.tryRead() == nil, "the counter did not reach zero after two reads")
  },
  Check(
    "EFD-WRITE-EINVAL-ALLONES", source: "eventfd(2) write(2)",
    clause: "Writing 0xffffffffffffffff fails with EINVAL"
  ) { _ in
    let event = try EventFd()
    try expectErrno(.invalidArgument, "writing 0xffffffffffffffff") { try event.write(.max) }
  },
]
