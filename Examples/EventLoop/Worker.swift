import Hinix

#if canImport(Glibc)
  import Glibc
#endif

/// Starts a thread that sends ten messages, 30 ms apart, then signals quit.
/// (In a file of its own: closures formed in main.swift's top-level code
/// belong to the main actor and must not run on another thread.)
func startWorker(queue: MsgQueue, quit: EventFd) -> pthread_t {
  var thread = pthread_t()
  let context = Unmanaged.passRetained(Sources(queue: queue, quit: quit)).toOpaque()
  let result = pthread_create(&thread, nil, { context in
    let sources = Unmanaged<Sources>.fromOpaque(context!).takeRetainedValue()
    for number in 1...10 {
      usleep(30_000)
      try? sources.queue.send("job \(number)", priority: UInt32(number % 3))
    }
    try? sources.quit.write(1)
    return nil
  }, context)
  precondition(result == 0, "pthread_create: \(result)")
  return thread
}

private final class Sources: Sendable {
  let queue: MsgQueue
  let quit: EventFd
  init(queue: MsgQueue, quit: EventFd) {
    self.queue = queue
    self.quit = quit
  }
}
