// An event loop over three sources: a message queue, an eventfd used as a
// quit signal, and a timer.
//
//   swift run example-event-loop
//
// One thread waits in poll(2) on the queue's descriptor (readable: a message
// is queued) and the eventfd's (readable: quit was signalled). The timer is
// the poll timeout: the time left to the next tick, on the monotonic clock.
// A worker thread sends a message every 30 ms and, after ten, signals quit.
// On readiness the loop drains with the non-waiting calls (tryReceive,
// tryRead), which never block even if someone else got there first.
import Hinix

#if canImport(Glibc)
  import Glibc
#endif

let tick = Duration.milliseconds(100)

try MsgQueue.withTemporary(maxMessages: 4, messageSize: 64) { queue in
  let quit = try EventFd()

  // The worker: ten messages, then quit.
  let worker = startWorker(queue: queue, quit: quit)

  let clock = ContinuousClock()
  var nextTick = clock.now + tick
  var ticks = 0
  var handled = 0
  loop: while true {
    let left = clock.now.duration(to: nextTick)
    let milliseconds = left <= .zero ? 0 : CInt(left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000 + 1)
    var sources = [
      pollfd(fd: queue.descriptor.rawValue, events: Int16(POLLIN), revents: 0),
      pollfd(fd: quit.descriptor.rawValue, events: Int16(POLLIN), revents: 0),
    ]
    let ready = poll(&sources, 2, milliseconds)
    if ready == -1 && errno == EINTR { continue }
    precondition(ready >= 0, "poll failed")
    if clock.now >= nextTick {
      ticks += 1
      print("tick \(ticks): \(handled) messages so far")
      nextTick += tick
    }
    if sources[0].revents != 0 {
      while let message = try queue.tryReceive() {
        handled += 1
        print("  \(message.text) (priority \(message.priority))")
      }
    }
    if sources[1].revents != 0, try quit.tryRead() != nil {
      // Drain what is left, then stop.
      while let message = try queue.tryReceive() {
        handled += 1
        print("  \(message.text) (priority \(message.priority))")
      }
      print("quit after \(ticks) ticks and \(handled) messages")
      break loop
    }
  }
  pthread_join(worker, nil)
}
