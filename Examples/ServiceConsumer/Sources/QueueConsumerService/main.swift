// A long-running consumer of a message queue that shuts down gracefully.
//
//   queue-consumer-service REQUESTS ACKNOWLEDGEMENTS
//
// It receives each message from the REQUESTS queue with `queue.async`, which
// suspends the task rather than blocking a thread, handles it, and sends
// "ack MESSAGE" to the ACKNOWLEDGEMENTS queue. Both queues must exist.
//
// It runs as a swift-service-lifecycle `Service` in a `ServiceGroup` that
// turns SIGTERM and SIGINT into a graceful shutdown. On shutdown the
// consumer takes no new work from its waiting receive, finishes and
// acknowledges the message in hand, then drains what is still queued
// (acknowledging each), prints "stopped: H handled, D drained" and returns;
// the process exits with 0. A second signal, or an error, cancels it.
import Hinix
import Logging
import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// Set once graceful shutdown has begun.
final class ShutdownFlag: Sendable {
  private let value = Atomic<Bool>(false)
  func set() { value.store(true, ordering: .releasing) }
  var isSet: Bool { value.load(ordering: .acquiring) }
}

struct QueueConsumer: Service {
  let requests: MsgQueue
  let acknowledgements: MsgQueue

  func run() async throws {
    let stopping = ShutdownFlag()
    var handled = 0
    say("ready: consuming \(requests.name), acknowledging on \(acknowledgements.name)")
    try await withGracefulShutdownHandler {
      while !stopping.isSet {
        let message: MsgQueue.Message
        do {
          // Only the wait for a message is cut short by the shutdown, never
          // the handling of one already received.
          message = try await cancelWhenGracefulShutdown { [requests] in
            try await requests.async.receive()
          }
        } catch is CancellationError {
          break
        }
        try await handle(message)
        handled += 1
      }
    } onGracefulShutdown: {
      stopping.set()
      say("shutting down: finishing the message in hand, then draining the queue")
    }
    // Whatever was sent before the shutdown is still handled.
    var drained = 0
    while let message = try requests.tryReceive() {
      try await handle(message)
      drained += 1
    }
    say("stopped: \(handled) handled, \(drained) drained")
  }

  /// The work, and its acknowledgement, which waits while that queue is full.
  func handle(_ message: MsgQueue.Message) async throws {
    try await acknowledgements.async.send("ack \(message.text)")
  }
}

/// Prints a line at once (standard output may be a file).
func say(_ line: String) {
  print(line)
  fflush(nil)  // every stream: standard output included
}

/// Writes a line to standard error.
func complain(_ line: String) {
  let bytes = Array((line + "\n").utf8)
  _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

let arguments = CommandLine.arguments
guard arguments.count == 3 else {
  complain("usage: queue-consumer-service REQUESTS ACKNOWLEDGEMENTS")
  exit(64)
}
do {
  let consumer = QueueConsumer(
    requests: try MsgQueue.open(arguments[1], access: .readOnly),
    acknowledgements: try MsgQueue.open(arguments[2], access: .writeOnly))
  var logger = Logger(label: "queue-consumer-service")
  logger.logLevel = .warning
  let group = ServiceGroup(
    services: [consumer], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
  try await group.run()
} catch {
  complain("queue-consumer-service: \(error)")
  exit(1)
}
