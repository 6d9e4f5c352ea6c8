// hinix-clock-step-probe: times one wait on an empty queue and prints what it
// saw, for the clock-step test, which runs it with libHinixClockStep.so
// preloaded (Tests/CClockStep). Test support, not a tool.
//
//   hinix-clock-step-probe timeout MS     receive(timeout: MS)
//   hinix-clock-step-probe deadline MS    receive(deadline: .after(MS)), given up after 3 s
//
// Prints one line: `outcome=… monotonic_ms=… realtime_ms=… realtime_reads=…`,
// where realtime_* are what this process saw of CLOCK_REALTIME across the wait.
import Dispatch
import Hinix

#if canImport(Glibc)
  import Glibc
#endif

enum FileDescriptorWrite {
  static func error(_ text: String) { _ = text.withCString { write(2, $0, strlen($0)) } }
}

typealias ReadCounter = @convention(c) () -> Int
let counter = dlsym(nil, "HinixClockStep_realtimeReads").map { unsafeBitCast($0, to: ReadCounter.self) }
func realtimeReads() -> Int { counter?() ?? -1 }

let arguments = CommandLine.arguments
guard arguments.count == 3, let milliseconds = Int(arguments[2]) else {
  FileDescriptorWrite.error("usage: hinix-clock-step-probe timeout|deadline MS\n")
  exit(64)
}
// Let a step scheduled "after N ms" happen before a deadline is computed.
if let delay = getenv("PROBE_DELAY_MS").flatMap({ Int(String(cString: $0)) }) {
  usleep(useconds_t(delay * 1000))
}

let name = "/hinix-clockstep-\(getpid())"
let queue = try MsgQueue.createExclusive(name, maxMessages: 1, messageSize: 8)
try MsgQueue.unlink(name)

struct Probe: Sendable {
  let clock = ContinuousClock()
  let realtimeStart = Deadline.now
  let readsStart = realtimeReads()
  let start = ContinuousClock.now

  func finish(_ text: String) -> Never {
    let elapsed = start.duration(to: clock.now)
    let reads = realtimeReads() - readsStart
    let realtimeEnd = Deadline.now
    let realtimeMs =
      (realtimeEnd.seconds - realtimeStart.seconds) * 1000
      + (realtimeEnd.nanoseconds - realtimeStart.nanoseconds) / 1_000_000
    let monotonicMs =
      elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000
    print(
      "outcome=\(text) monotonic_ms=\(monotonicMs) realtime_ms=\(realtimeMs) realtime_reads=\(reads)")
    fflush(nil)
    exit(0)
  }
}

func describe(_ body: () throws -> MsgQueue.Message) -> String {
  do {
    _ = try body()
    return "message"
  } catch let error as HinixError {
    return error.errno.symbolicName
  } catch {
    return "\(error)"
  }
}

let probe = Probe()
switch arguments[1] {
case "timeout":
  probe.finish(describe { try queue.receive(timeout: .milliseconds(milliseconds)) })
case "deadline":
  // The deadline comes from CLOCK_REALTIME as this process sees it; the
  // kernel waits for it on its own CLOCK_REALTIME. Give up after 3 s.
  DispatchQueue.global().asyncAfter(deadline: .now() + 3) { probe.finish("still-waiting") }
  let deadline = Deadline.after(.milliseconds(milliseconds))
  probe.finish(describe { try queue.receive(deadline: deadline) })
default:
  FileDescriptorWrite.error("unknown mode \(arguments[1])\n")
  exit(64)
}
