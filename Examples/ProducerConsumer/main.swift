// A producer and a consumer in two processes, sharing a temporary queue.
//
//   swift run example-producer-consumer [COUNT]
//
// The producer creates a queue with a unique name (MsgQueue.withTemporary),
// starts a copy of this program as the consumer with posix_spawn, passing it
// the queue's name, and sends COUNT numbered messages, then "done" (all at
// priority 0, so they arrive in order and "done" last).
// The consumer opens the queue by name and receives with `queue.messages`, an
// AsyncSequence whose waits suspend the task rather than block a thread. It
// prints how many messages it got and their sum, and the producer checks them.
// When the producer's scope ends, the queue's name is removed.
//
// Never fork() a Swift process: spawn a fresh one, as here.
import Hinix

#if canImport(Glibc)
  import Glibc
#endif

func consumer(queueName: String) async throws {
  let queue = try MsgQueue.open(queueName, access: .readOnly)
  var count = 0
  var sum = 0
  for try await message in queue.messages {
    if message.text == "done" { break }
    count += 1
    sum += Int(message.text) ?? 0
  }
  print("consumer \(getpid()): \(count) messages, sum \(sum)")
}

/// Starts this program again with `arguments`; returns the child's pid.
func spawnSelf(_ arguments: [String]) throws -> pid_t {
  let argv = (["/proc/self/exe"] + arguments).map { strdup($0) } + [nil]
  defer { argv.forEach { free($0) } }
  var pid: pid_t = 0
  let result = posix_spawn(&pid, "/proc/self/exe", nil, nil, argv, environ)
  guard result == 0 else { throw HinixError(.init(rawValue: result), operation: .init(rawValue: "posix_spawn")) }
  return pid
}

func producer(count: Int) async throws {
  try await MsgQueue.withTemporary(maxMessages: 8, messageSize: 64) { queue in
    let child = try spawnSelf(["consume", queue.name.rawValue])
    for number in 1...count {
      try await queue.async.send(String(number))  // suspends while the queue is full
    }
    try await queue.async.send("done")
    var status: CInt = 0
    // The consumer has the last message soon; waitpid blocks only briefly.
    while waitpid(child, &status, 0) == -1 && errno == EINTR {}
    print("producer \(getpid()): sent \(count) messages, sum \(count * (count + 1) / 2); consumer exited with \(status)")
  }
}

let arguments = CommandLine.arguments
do {
  if arguments.count == 3 && arguments[1] == "consume" {
    try await consumer(queueName: arguments[2])
  } else {
    try await producer(count: arguments.count > 1 ? Int(arguments[1]) ?? 1000 : 1000)
  }
} catch {
  print("error: \(error)")
  exit(1)
}
