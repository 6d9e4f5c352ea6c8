// Edge-triggered readiness for one descriptor, with epoll(7).

import Hinix

#if canImport(Glibc)
  import Glibc
#endif

/// An epoll instance whose descriptors are edge-triggered (`EPOLLET`):
/// ``wait(milliseconds:)`` returns once per wake-up of a descriptor's wait
/// queue, not whenever the descriptor is ready.
///
/// That is what watching a message queue without consuming it needs. poll(2)
/// and level-triggered epoll report a queue readable for as long as it holds
/// a message, so a loop around them spins. The kernel wakes a queue's wait
/// queue on every message added (`__do_notify` in ipc/mqueue.c) and every
/// message taken (`pipelined_receive`, "for poll"), so with `EPOLLET` each of
/// those is one edge.
///
/// Ask for `EPOLLIN | EPOLLOUT`: when an edge comes, epoll re-polls the
/// descriptor and reports the edge only if one of the asked-for conditions
/// holds. A queue is always readable (it holds a message) or writable (it
/// has room), so every wake-up is reported, including the receive that
/// empties it, after which the queue is writable but not readable.
///
/// `<sys/epoll.h>` is not in Swift's Glibc module, so the three functions are
/// looked up in the C library with dlsym(3), which is as direct a call as
/// through a C shim. See epoll(7).
public final class MqEdgeTriggeredPoll {
  /// `EPOLLIN`: readable.
  public static let readable: UInt32 = 0x001
  /// `EPOLLOUT`: writable.
  public static let writable: UInt32 = 0x004
  private static let edgeTriggered: UInt32 = 1 << 31
  private static let controlAdd: CInt = 1  // EPOLL_CTL_ADD

  private let epoll: CInt
  private let functions: EpollFunctions

  /// Creates an epoll instance that watches nothing yet.
  ///
  /// - Throws: ``HinixError`` from `epoll_create1(2)`, or `ENOSYS` if the C
  ///   library does not export the epoll functions.
  public init() throws {
    guard let functions = EpollFunctions.shared else {
      throw HinixError(.noFunction, operation: "dlsym(\"epoll_create1\")")
    }
    let epoll = functions.create(O_CLOEXEC)
    guard epoll >= 0 else { throw HinixError.mqCurrent("epoll_create1") }
    self.epoll = epoll
    self.functions = functions
  }

  deinit { close(epoll) }

  /// Watches `descriptor`, edge-triggered, for `events` (``readable``,
  /// ``writable``). The caller keeps it open for the life of this object.
  ///
  /// - Throws: ``HinixError`` from `epoll_ctl(2)`.
  public func add(_ descriptor: CInt, events: UInt32) throws {
    var event = EpollEvent(events: events | Self.edgeTriggered)
    let added = event.withBytes { functions.control(epoll, Self.controlAdd, descriptor, $0) }
    guard added == 0 else { throw HinixError.mqCurrent("epoll_ctl(EPOLL_CTL_ADD)") }
  }

  /// Waits for the next edge of any descriptor, for at most `milliseconds`
  /// (-1: no limit).
  ///
  /// - Returns: Whether an edge came; `false` if the time ran out or a signal
  ///   interrupted the wait (`EINTR`), after which the caller checks its own
  ///   deadline and waits again.
  /// - Throws: ``HinixError`` from `epoll_wait(2)`.
  public func wait(milliseconds: CInt) throws -> Bool {
    var event = EpollEvent(events: 0)
    let count = event.withBytes { functions.wait(epoll, $0, 1, milliseconds) }
    if count == -1 {
      if errno == EINTR { return false }
      throw HinixError.mqCurrent("epoll_wait")
    }
    return count > 0
  }
}

/// `struct epoll_event`: 32 bits of events, then 64 bits of data, packed
/// (12 bytes) on x86-64 and naturally aligned (16 bytes) elsewhere. Only the
/// events are used, and they come first in both layouts.
private struct EpollEvent {
  var storage: (UInt64, UInt64) = (0, 0)

  init(events: UInt32) {
    withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: events, as: UInt32.self) }
  }

  var events: UInt32 {
    withUnsafeBytes(of: storage) { $0.load(as: UInt32.self) }
  }

  mutating func withBytes<R>(_ body: (UnsafeMutableRawPointer) -> R) -> R {
    withUnsafeMutableBytes(of: &storage) { body($0.baseAddress!) }
  }
}

/// epoll_create1(2), epoll_ctl(2) and epoll_wait(2), found with dlsym(3).
private struct EpollFunctions: Sendable {
  typealias Create = @convention(c) (CInt) -> CInt
  typealias Control = @convention(c) (CInt, CInt, CInt, UnsafeMutableRawPointer?) -> CInt
  typealias Wait = @convention(c) (CInt, UnsafeMutableRawPointer?, CInt, CInt) -> CInt

  let create: Create
  let control: Control
  let wait: Wait

  static let shared: EpollFunctions? = {
    // The null handle searches the program and the libraries it loaded, libc among them.
    let program = dlopen(nil, RTLD_NOW)
    guard let create = dlsym(program, "epoll_create1"),
      let control = dlsym(program, "epoll_ctl"),
      let wait = dlsym(program, "epoll_wait")
    else { return nil }
    return EpollFunctions(
      create: unsafeBitCast(create, to: Create.self),
      control: unsafeBitCast(control, to: Control.self),
      wait: unsafeBitCast(wait, to: Wait.self))
  }()
}
