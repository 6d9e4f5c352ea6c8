import CHinix
import Synchronization
import SystemPackage

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// Why a task waiting in the ``Reactor`` was resumed.
enum Wakeup: Sendable {
  /// The descriptor reported the events (or an error or hang-up): try the call again.
  case ready
  /// The task was cancelled; the waiter is no longer registered.
  case cancelled
  /// The descriptor was closed through its owner while the task waited.
  case closed
  /// `epoll_ctl` refused the descriptor, with this errno.
  case failed(CInt)
}

/// The process-wide readiness loop behind Hinix's `async` calls: one
/// dedicated thread blocked in `epoll_wait`, which resumes suspended tasks
/// when their descriptor becomes readable or writable.
///
/// ## Design
///
/// - **One registration per descriptor, one-shot.** A descriptor that has
///   waiters is in the epoll set with `EPOLLONESHOT` and the union of its
///   waiters' events. When it fires, the reactor resumes every waiter whose
///   events it reported (all of them on `EPOLLERR` or `EPOLLHUP`) and
///   re-arms the descriptor with `EPOLL_CTL_MOD` for the waiters that remain.
///   A descriptor without waiters stays in the set, disarmed, until its owner
///   closes it, so a wait costs one `epoll_ctl`. One-shot, because
///   a level-triggered registration would report a readable queue again and
///   again until the resumed task got round to receiving: a busy loop. Not
///   edge-triggered, because `EPOLL_CTL_ADD` and `EPOLL_CTL_MOD` test the
///   descriptor's *current* readiness, so a message that arrives between a
///   task's failed `tryReceive` and its registration still wakes it.
/// - **Callers retry.** A resumed task makes the non-waiting call
///   (`trySend`, `tryReceive`, `tryRead`) and registers again if another
///   receiver or sender won the race. Spurious wake-ups are harmless.
/// - **No wake-up descriptor.** Registering, re-arming and removing are
///   `epoll_ctl` calls made by the waiting or cancelling thread under the
///   reactor's lock; the kernel applies them to an `epoll_wait` already in
///   progress, so the reactor thread never needs waking. (It runs for the
///   life of the process, like swift-nio's singleton event loop.)
/// - **Cancellation** removes the waiter under the lock and resumes it with
///   ``Wakeup/cancelled`` from the cancelling thread; a waiter that
///   registers after its task was cancelled is resumed at once. A cancelled
///   wait has made no call that dequeues, so no message is lost.
/// - **Closing** a descriptor through its owner (``GuardedDescriptor/close(_:)``)
///   resumes its waiters with ``Wakeup/closed``. Each waiter holds a borrow
///   of the descriptor while it is registered, so the descriptor number stays
///   open, and cannot be reused, until the waiter has left the epoll set.
final class Reactor: Sendable {
  /// The reactor, once one has started.
  private static let instance = AtomicLazyReference<Reactor>()
  /// Held while a reactor starts, so that only one does.
  private static let starting = Mutex(())

  /// The reactor if one has started, without starting one: closing a
  /// descriptor need not start a reactor only to find it has no waiters.
  static var running: Reactor? { instance.load() }

  /// The reactor, started on first use.
  ///
  /// - Throws: ``HinixError`` when the reactor cannot start: `EMFILE` or
  ///   `ENFILE` from `epoll_create1` when descriptors run out (with the
  ///   ``Limit/descriptors(limit:)`` limit for `EMFILE`), `EAGAIN` from
  ///   `pthread_create` when threads do. The failure is not remembered: the
  ///   next call tries again, and succeeds once the resources are back.
  static func shared() throws(HinixError) -> Reactor {
    if let reactor = instance.load() { return reactor }
    return try starting.withLock { _ throws(HinixError) in
      if let reactor = instance.load() { return reactor }
      return instance.storeIfNil(try start())
    }
  }

  private struct Waiter {
    let id: UInt64
    let events: UInt32
    let continuation: UnsafeContinuation<Wakeup, Never>
  }

  private struct State {
    /// The descriptors in the epoll set, and who waits on each.
    var waiters: [CInt: [Waiter]] = [:]
    /// Which descriptor each waiter waits on, for cancellation.
    var descriptorOfWaiter: [UInt64: CInt] = [:]
    /// The descriptors in the epoll set, armed or not. A descriptor stays
    /// there when its last waiter leaves (disarmed, so it reports nothing),
    /// which saves an `epoll_ctl` per wait; closing it through its owner
    /// removes it.
    var inEpollSet: Set<CInt> = []
    var nextID: UInt64 = 1
  }

  private let state = Mutex(State())
  private let epoll: CInt

  private init(epoll: CInt) {
    self.epoll = epoll
  }

  /// Creates the epoll set and starts the thread that waits on it.
  private static func start() throws(HinixError) -> Reactor {
    let epoll = CHinix_epoll_create1(CHinix_EPOLL_CLOEXEC)
    guard epoll >= 0 else {
      throw HinixError.currentOpening(
        .epollCreate1, detail: "the reactor that async calls wait in could not start")
    }
    let reactor = Reactor(epoll: epoll)
    var thread = pthread_t()
    let context = Unmanaged.passRetained(reactor).toOpaque()
    let result = pthread_create(
      &thread, nil,
      { context in
        let reactor = Unmanaged<Reactor>.fromOpaque(context!).takeRetainedValue()
        reactor.run()
        return nil
      }, context)
    guard result == 0 else {
      Unmanaged<Reactor>.fromOpaque(context).release()
      _ = Glibc.close(epoll)
      throw HinixError(
        Errno(rawValue: result), operation: .pthreadCreate,
        detail:
          "the reactor that async calls wait in could not start its thread"
          + " (threads are bounded by RLIMIT_NPROC, kernel.threads-max and a cgroup's pids.max)")
    }
    pthread_detach(thread)
    return reactor
  }

  /// A new waiter identity.
  func makeID() -> UInt64 {
    state.withLock { state in
      defer { state.nextID += 1 }
      return state.nextID
    }
  }

  /// Suspends the calling task until `fd` reports one of `events`, the task
  /// is cancelled, or `guarded` is closed. The caller holds a borrow of `guarded`.
  func wait(for events: UInt32, on guarded: GuardedDescriptor) async -> Wakeup {
    let id = makeID()
    let fd = guarded.rawValue
    return await withTaskCancellationHandler {
      await withUnsafeContinuation { continuation in
        register(Waiter(id: id, events: events, continuation: continuation), fd: fd, guarded)
      }
    } onCancel: {
      cancel(id)
    }
  }

  private func register(_ waiter: Waiter, fd: CInt, _ guarded: GuardedDescriptor) {
    let early: Wakeup? = state.withLock { state in
      // Both under the lock: close() and cancellation take it after setting their flags.
      if guarded.isClosed { return .closed }
      if Task.isCancelled { return .cancelled }
      var list = state.waiters[fd] ?? []
      list.append(waiter)
      let mask = list.reduce(0) { $0 | $1.events } | CHinix_EPOLLONESHOT
      let data = UInt64(UInt32(bitPattern: fd))
      let known = state.inEpollSet.contains(fd)
      var result = CHinix_epoll_ctl(epoll, known ? CHinix_EPOLL_CTL_MOD : CHinix_EPOLL_CTL_ADD, fd, mask, data)
      if result != 0 && (known ? errno == ENOENT : errno == EEXIST) {
        // The set changed behind our back: a descriptor closed without its
        // owner knowing (the kernel removed it), or one left in the set.
        result = CHinix_epoll_ctl(epoll, known ? CHinix_EPOLL_CTL_ADD : CHinix_EPOLL_CTL_MOD, fd, mask, data)
      }
      if result != 0 {
        state.inEpollSet.remove(fd)
        // Not pollable, or not open: report it rather than retry (a retry would spin).
        return .failed(errno)
      }
      state.waiters[fd] = list
      state.inEpollSet.insert(fd)
      state.descriptorOfWaiter[waiter.id] = fd
      return nil
    }
    if let early { waiter.continuation.resume(returning: early) }
  }

  private func cancel(_ id: UInt64) {
    let cancelled: Waiter? = state.withLock { state in
      guard let fd = state.descriptorOfWaiter.removeValue(forKey: id),
        var list = state.waiters[fd], let index = list.firstIndex(where: { $0.id == id })
      else { return nil }
      let waiter = list.remove(at: index)
      update(&state, fd: fd, remaining: list)
      return waiter
    }
    cancelled?.continuation.resume(returning: .cancelled)
  }

  /// Removes `fd` from the epoll set and resumes every task waiting on it
  /// with ``Wakeup/closed``. Called by ``GuardedDescriptor/close(_:)`` after
  /// it marked the descriptor closed, and by its `deinit`.
  func descriptorClosing(_ fd: CInt) {
    let woken: [Waiter] = state.withLock { state in
      if state.inEpollSet.remove(fd) != nil {
        _ = CHinix_epoll_ctl(epoll, CHinix_EPOLL_CTL_DEL, fd, 0, 0)
      }
      guard let list = state.waiters.removeValue(forKey: fd) else { return [] }
      for waiter in list { state.descriptorOfWaiter[waiter.id] = nil }
      return list
    }
    for waiter in woken { waiter.continuation.resume(returning: .closed) }
  }

  /// Stores the waiters left on `fd` and re-arms or removes its registration.
  private func update(_ state: inout State, fd: CInt, remaining: [Waiter]) {
    if remaining.isEmpty {
      // Stays in the set. After an event it is disarmed already; after a
      // cancellation it may still be armed and report once more, which finds
      // no waiter or wakes a later one early: harmless, it tries again.
      state.waiters[fd] = nil
    } else {
      state.waiters[fd] = remaining
      let mask = remaining.reduce(0) { $0 | $1.events } | CHinix_EPOLLONESHOT
      _ = CHinix_epoll_ctl(epoll, CHinix_EPOLL_CTL_MOD, fd, mask, UInt64(UInt32(bitPattern: fd)))
    }
  }

  /// The reactor thread: waits for events and resumes their waiters.
  private func run() {
    let capacity = 64
    let events = UnsafeMutablePointer<UInt32>.allocate(capacity: capacity)
    let data = UnsafeMutablePointer<UInt64>.allocate(capacity: capacity)
    var woken: [Waiter] = []
    while true {
      let count = CHinix_epoll_wait(epoll, events, data, CInt(capacity), -1)
      if count < 0 {
        if errno == EINTR { continue }
        fatalError("epoll_wait: \(String(cString: strerror(errno)))")
      }
      state.withLock { state in
        for index in 0..<Int(count) {
          let fd = CInt(bitPattern: UInt32(truncatingIfNeeded: data[index]))
          let reported = events[index]
          // A stale event for a registration removed meanwhile finds no waiters.
          guard let list = state.waiters[fd] else { continue }
          let everyone = reported & (CHinix_EPOLLERR | CHinix_EPOLLHUP) != 0
          var remaining: [Waiter] = []
          for waiter in list {
            if everyone || waiter.events & reported != 0 {
              woken.append(waiter)
              state.descriptorOfWaiter[waiter.id] = nil
            } else {
              remaining.append(waiter)
            }
          }
          update(&state, fd: fd, remaining: remaining)
        }
      }
      for waiter in woken { waiter.continuation.resume(returning: .ready) }
      woken.removeAll(keepingCapacity: true)
    }
  }
}

extension GuardedDescriptor {
  /// Suspends the calling task, not its thread, until the descriptor reports
  /// one of `events` (`CHinix_EPOLLIN`, `CHinix_EPOLLOUT`).
  ///
  /// - Throws: `CancellationError` if the task is cancelled, ``HinixError``
  ///   with `EBADF` if the descriptor is closed (before or during the wait),
  ///   or as ``Reactor/shared()`` if the reactor cannot start.
  func waitUntilReady(_ events: UInt32, _ operation: HinixError.Operation) async throws {
    try beginBorrow(operation)
    defer { endBorrow() }
    let reactor = try Reactor.shared()
    switch await reactor.wait(for: events, on: self) {
    case .ready: return
    case .cancelled: throw CancellationError()
    case .closed: throw HinixError.closed(operation, queueName: label)
    case .failed(let code):
      throw HinixError(
        Errno(rawValue: code), operation: .epollCtl, queueName: label,
        detail: "the descriptor cannot be waited on with epoll")
    }
  }
}
