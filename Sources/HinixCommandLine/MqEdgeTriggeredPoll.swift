// Edge-triggered readiness for one descriptor, with epoll(7).

import CHinix
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
/// The calls go through the CHinix shim, since `<sys/epoll.h>` is not in
/// Swift's Glibc module. See epoll(7).
public final class MqEdgeTriggeredPoll {
  /// `EPOLLIN`: readable.
  public static let readable: UInt32 = CHinix_EPOLLIN
  /// `EPOLLOUT`: writable.
  public static let writable: UInt32 = CHinix_EPOLLOUT

  private let epoll: CInt

  /// Creates an epoll instance that watches nothing yet.
  ///
  /// - Throws: ``HinixError`` from `epoll_create1(2)`.
  public init() throws {
    let epoll = CHinix_epoll_create1(CHinix_EPOLL_CLOEXEC)
    guard epoll >= 0 else { throw HinixError.current(.epollCreate1) }
    self.epoll = epoll
  }

  deinit { close(epoll) }

  /// Watches `descriptor`, edge-triggered, for `events` (``readable``,
  /// ``writable``). The caller keeps it open for the life of this object.
  ///
  /// - Throws: ``HinixError`` from `epoll_ctl(2)`.
  public func add(_ descriptor: CInt, events: UInt32) throws {
    let added = CHinix_epoll_ctl(
      epoll, CHinix_EPOLL_CTL_ADD, descriptor, events | CHinix_EPOLLET, UInt64(descriptor))
    guard added == 0 else { throw HinixError.current(.init(rawValue: "epoll_ctl(EPOLL_CTL_ADD)")) }
  }

  /// Waits for the next edge of any descriptor, for at most `milliseconds`
  /// (-1: no limit).
  ///
  /// - Returns: Whether an edge came; `false` if the time ran out or a signal
  ///   interrupted the wait (`EINTR`), after which the caller checks its own
  ///   deadline and waits again.
  /// - Throws: ``HinixError`` from `epoll_wait(2)`.
  public func wait(milliseconds: CInt) throws -> Bool {
    var events: UInt32 = 0
    var data: UInt64 = 0
    let count = CHinix_epoll_wait(epoll, &events, &data, 1, milliseconds)
    if count == -1 {
      if errno == EINTR { return false }
      throw HinixError.current(.epollWait)
    }
    return count > 0
  }
}
