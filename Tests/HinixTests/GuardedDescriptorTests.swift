import CHinix
import Synchronization
import Testing

@testable import Hinix

#if canImport(Glibc)
  import Glibc
#endif

/// The one atomic word that replaced the mutex: borrowers on several threads
/// race a close, and the descriptor must be closed exactly once, never while
/// a borrower holds it, and every borrow after the close must fail with EBADF.
@Suite("GuardedDescriptor: close exactly once, never under a call in flight", .timeLimit(.minutes(1)))
struct GuardedDescriptorTests {
  @Test("Borrowers on 4 threads race close(): one close, none while borrowed, later borrows fail", arguments: 0 ..< 20)
  func raceWithClose(round: Int) async throws {
    let fd = CHinix_eventfd(0, CHinix_EFD_CLOEXEC)
    try #require(fd >= 0)
    let closes = Atomic<Int>(0)
    let inFlight = Atomic<Int>(0)
    let closedUnderBorrower = Atomic<Int>(0)
    let guarded = GuardedDescriptor(fd, label: nil) { descriptor in
      closes.add(1, ordering: .relaxed)
      if inFlight.load(ordering: .sequentiallyConsistent) != 0 {
        closedUnderBorrower.add(1, ordering: .relaxed)
      }
      return Glibc.close(descriptor)
    }
    let threads = 4
    let started = Atomic<Int>(0)
    let finished = Atomic<Int>(0)
    let badAfterClose = Atomic<Int>(0)
    let failedFcntl = Atomic<Int>(0)
    for _ in 0 ..< threads {
      startThread {
        started.add(1, ordering: .relaxed)
        var sawClosed = false
        for _ in 0 ..< 20_000 {
          do {
            try guarded.withDescriptor(.init(rawValue: "test")) { descriptor in
              inFlight.add(1, ordering: .sequentiallyConsistent)
              // The descriptor must still be open while it is borrowed.
              if fcntl(descriptor, F_GETFD) == -1 { failedFcntl.add(1, ordering: .relaxed) }
              inFlight.subtract(1, ordering: .sequentiallyConsistent)
            }
            // Once a borrow has failed, no later borrow may succeed.
            if sawClosed { badAfterClose.add(1, ordering: .relaxed) }
          } catch let error as HinixError {
            if error.errno != .badFileDescriptor { badAfterClose.add(1, ordering: .relaxed) }
            sawClosed = true
          } catch {
            badAfterClose.add(1, ordering: .relaxed)
          }
        }
        finished.add(1, ordering: .releasing)
      }
    }
    while started.load(ordering: .relaxed) < threads { sched_yield() }
    usleep(useconds_t(200 * (round % 5)))
    try guarded.close(.close)
    try guarded.close(.close)  // idempotent
    #expect(guarded.isClosed)
    while finished.load(ordering: .acquiring) < threads { usleep(1000) }
    #expect(closes.load(ordering: .relaxed) == 1)
    #expect(closedUnderBorrower.load(ordering: .relaxed) == 0)
    #expect(failedFcntl.load(ordering: .relaxed) == 0)
    #expect(badAfterClose.load(ordering: .relaxed) == 0)
    #expect(guarded.callsInFlight == 0)
    #expect(throws: HinixError.self) { try guarded.withDescriptor(.init(rawValue: "test")) { _ in } }
  }

  @Test("Without close, deinit closes the descriptor once")
  func deinitCloses() throws {
    let fd = CHinix_eventfd(0, CHinix_EFD_CLOEXEC)
    try #require(fd >= 0)
    var before = stat()
    fstat(fd, &before)
    let closes = Atomic<Int>(0)
    do {
      let guarded = GuardedDescriptor(fd, label: nil) { descriptor in
        closes.add(1, ordering: .relaxed)
        return Glibc.close(descriptor)
      }
      try guarded.withDescriptor(.init(rawValue: "test")) { #expect(fcntl($0, F_GETFD) != -1) }
    }
    #expect(closes.load(ordering: .relaxed) == 1)
    // Closed, or the number was reused meanwhile by a test running in parallel.
    var after = stat()
    #expect(fstat(fd, &after) == -1 || after.st_ino != before.st_ino || after.st_dev != before.st_dev)
  }
}
