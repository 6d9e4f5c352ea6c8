// hinix-swift-overhead: what the Swift API costs over the C shim it calls.
//
//   hinix-swift-overhead ratios [--rounds N] [--batch-ms MS] [--operation ID]... [--json FILE]
//   hinix-swift-overhead run OPERATION SIDE COUNT
//
// `ratios` times every operation pair through both sides in the same process,
// interleaved: each round runs one batch of each side back to back, in random
// order, so drift in the machine's speed (other tenants, frequency) falls on
// both sides of a round alike. The ratio Swift/C is taken per round, and the
// report gives its median over the rounds with a distribution-free 95%
// confidence interval (order statistics of the binomial). Run it pinned to
// one CPU (`taskset -c 0`), as scripts/bench-swift does.
//
// `run` performs COUNT pairs of one side inside `hinix_swift_cg_run`, the
// function callgrind is told to count (--toggle-collect), and under perf it
// gives system calls per pair (the same run with COUNT 0 is the baseline).

import Hinix
import SwiftOverheadWorkloads

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

// MARK: - Output

/// Writes `text` to standard error, unbuffered.
func printError(_ text: String) {
  var text = text
  text.withUTF8 { bytes in
    var rest = UnsafeRawBufferPointer(bytes)
    while !rest.isEmpty {
      let n = write(2, rest.baseAddress, rest.count)
      if n < 0 && errno == EINTR { continue }
      if n <= 0 { return }
      rest = UnsafeRawBufferPointer(rebasing: rest[n...])
    }
  }
}

func fail(_ message: String, status: CInt = 1) -> Never {
  printError("hinix-swift-overhead: \(message)\n")
  exit(status)
}

let usage = """
  USAGE: hinix-swift-overhead ratios [--rounds N] [--batch-ms MS] [--operation ID]... [--json FILE]
         hinix-swift-overhead run OPERATION SIDE COUNT
         hinix-swift-overhead list

  ratios  Times each operation pair through the Swift API and through the C
          shim, interleaved in random order, N rounds (default 31) of batches
          of about MS milliseconds (default 4) per side, and prints per
          operation the median ns per pair of each side and the median of the
          per-round ratio Swift/C with its 95% confidence interval.
          --json FILE also writes the figures, with each round's, as JSON.
  run     Performs COUNT pairs of OPERATION on SIDE (Swift or C) inside
          hinix_swift_cg_run: for valgrind --tool=callgrind
          --toggle-collect=hinix_swift_cg_run, and for perf stat -e
          raw_syscalls:sys_enter (compare with COUNT 0).
  list    Prints the operation identifiers.

  Operations: \(Operation.all.map(\.identifier).joined(separator: ", ")); async beside
  blocking, by --operation only: \(Operation.async.map(\.identifier).joined(separator: ", ")).
  Example: taskset -c 0 hinix-swift-overhead ratios --rounds 41 --json /tmp/overhead.json

  """

// MARK: - Clock and statistics

func nowNanoseconds() -> UInt64 {
  var ts = timespec()
  clock_gettime(CLOCK_MONOTONIC, &ts)
  return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

func median(_ values: [Double]) -> Double {
  let sorted = values.sorted()
  let mid = sorted.count / 2
  return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/// The ranks (1-based, inclusive) of the order statistics that bound a 95%
/// confidence interval for the median of `n` samples: the largest k with
/// P(Binomial(n, 1/2) < k) <= 0.025. Nil below 6 samples.
func medianConfidenceRanks(_ n: Int) -> (low: Int, high: Int)? {
  guard n >= 6 else { return nil }
  var cumulative = 0.0
  var coefficient = 1.0  // C(n, i)
  let total = pow(2.0, Double(n))
  var k = 0
  for i in 0 ... n {
    if i > 0 { coefficient = coefficient * Double(n - i + 1) / Double(i) }
    if (cumulative + coefficient) / total > 0.025 { k = i; break }
    cumulative += coefficient
  }
  // P(X < k) <= 0.025: the interval is [x_(k), x_(n-k+1)], in 1-based ranks.
  guard k >= 1 else { return nil }
  return (k, n - k + 1)
}

/// `value` with `digits` decimals (no Foundation here).
func format(_ value: Double, _ digits: Int) -> String {
  guard value.isFinite else { return "null" }
  var scale = 1.0
  for _ in 0 ..< digits { scale *= 10 }
  let scaled = Int64((abs(value) * scale).rounded())
  let whole = scaled / Int64(scale)
  var fraction = String(scaled % Int64(scale))
  fraction = String(repeating: "0", count: digits - fraction.count) + fraction
  return (value < 0 && scaled != 0 ? "-" : "") + "\(whole)" + (digits > 0 ? "." + fraction : "")
}

func pad(_ text: String, _ width: Int, left: Bool = false) -> String {
  let space = String(repeating: " ", count: max(0, width - text.count))
  return left ? text + space : space + text
}

// MARK: - ratios

struct PairResult {
  var operation: Operation
  var batch: Int
  var swiftNs: [Double] = []  // per pair, per round
  var cNs: [Double] = []
  var ratios: [Double] = []
}

func ratios(rounds: Int, batchMilliseconds: Double, operations: [Operation], jsonPath: String?) throws {
  var results: [PairResult] = []
  var workloads: [Operation: (swift: Workload, c: Workload)] = [:]
  for operation in operations {
    let pair = (swift: try Workload(operation, .swift), c: try Workload(operation, .c))
    // Warm both sides, then size the batch from the slower one.
    try pair.swift.run(2000)
    try pair.c.run(2000)
    let start = nowNanoseconds()
    try pair.swift.run(2000)
    let perPair = Double(nowNanoseconds() - start) / 2000
    let batch = max(100, Int(batchMilliseconds * 1e6 / max(perPair, 1)))
    workloads[operation] = pair
    results.append(PairResult(operation: operation, batch: batch))
  }
  var generator = SystemRandomNumberGenerator()
  let started = nowNanoseconds()
  for round in 1 ... rounds {
    for index in results.indices.shuffled(using: &generator) {
      let pair = workloads[results[index].operation]!
      let batch = results[index].batch
      var swiftTime = 0.0
      var cTime = 0.0
      for side in [Side.swift, Side.c].shuffled(using: &generator) {
        let workload = side == .swift ? pair.swift : pair.c
        let start = nowNanoseconds()
        try workload.run(batch)
        let elapsed = Double(nowNanoseconds() - start) / Double(batch)
        if side == .swift { swiftTime = elapsed } else { cTime = elapsed }
      }
      results[index].swiftNs.append(swiftTime)
      results[index].cNs.append(cTime)
      results[index].ratios.append(swiftTime / cTime)
    }
    if isatty(2) != 0 {
      printError("\r\u{1B}[K[round \(round)/\(rounds), \((nowNanoseconds() - started) / 1_000_000_000) s]")
    } else if round % 10 == 0 || round == rounds {
      printError("[round \(round)/\(rounds), \((nowNanoseconds() - started) / 1_000_000_000) s]\n")
    }
  }
  if isatty(2) != 0 { printError("\n") }

  let ranks = medianConfidenceRanks(rounds)
  print(
    pad("operation", 34, left: true) + pad("C ns/pair", 11) + pad("Swift ns/pair", 15)
      + pad("Swift/C", 9) + pad("95% CI", 16))
  var json: [String] = []
  for result in results {
    let sortedRatios = result.ratios.sorted()
    let ratio = median(result.ratios)
    var interval = "-"
    var low = "null"
    var high = "null"
    if let ranks {
      low = format(sortedRatios[ranks.low - 1], 4)
      high = format(sortedRatios[ranks.high - 1], 4)
      interval = "\(format(sortedRatios[ranks.low - 1], 3))..\(format(sortedRatios[ranks.high - 1], 3))"
    }
    print(
      pad(result.operation.description, 34, left: true) + pad(format(median(result.cNs), 1), 11)
        + pad(format(median(result.swiftNs), 1), 15) + pad(format(ratio, 3), 9) + pad(interval, 16))
    let list = { (values: [Double]) in "[" + values.map { format($0, 2) }.joined(separator: ", ") + "]" }
    json.append(
      """
          {"operation": "\(result.operation.identifier)", "description": "\(result.operation.description)", \
      "c_side": "\(result.operation.cSide)", \
      "batch": \(result.batch), "rounds": \(result.ratios.count), \
      "c_ns_median": \(format(median(result.cNs), 2)), "swift_ns_median": \(format(median(result.swiftNs), 2)), \
      "ratio_median": \(format(ratio, 4)), "ratio_ci95_low": \(low), "ratio_ci95_high": \(high), \
      "c_ns": \(list(result.cNs)), "swift_ns": \(list(result.swiftNs)), "ratios": \(list(result.ratios))}
      """)
  }
  print("Swift/C: median over \(rounds) rounds of the per-round ratio (1.000 = no overhead); 95% CI of that median.")
  if results.contains(where: { $0.operation.swiftAllocates }) {
    print("mq send([UInt8])+receive(): the allocating conveniences, against the C buffer pair.")
  }
  if results.contains(where: { Operation.async.contains($0.operation) }) {
    print("mq async send+receive: the async calls (queue always ready), against the C blocking pair.")
    print("mq ping-pong: ns per round trip; Swift: two tasks with the async calls, C: two threads blocking.")
    print("mq stream: ns per message one way through a queue of 10; Swift: two tasks, C: two threads blocking.")
  }
  if let jsonPath {
    var uts = utsname()
    uname(&uts)
    let text = { (field: UnsafeRawBufferPointer) in String(decoding: field.prefix { $0 != 0 }, as: UTF8.self) }
    let release = withUnsafeBytes(of: &uts.release, text)
    let host = withUnsafeBytes(of: &uts.nodename, text)
    let commit = getenv("HINIX_GIT_COMMIT").map { String(cString: $0) } ?? "unknown"
    let document = """
      {
        "context": {"tool": "hinix-swift-overhead", "host_name": "\(host)", "kernel": "\(release)", \
      "hinix_git_commit": "\(commit)", "rounds": \(rounds), "batch_ms": \(format(batchMilliseconds, 2)), \
      "method": "interleaved paired batches, random order per round; ratio = median of per-round Swift/C"},
        "results": [
      \(json.joined(separator: ",\n"))
        ]
      }

      """
    let temporary = jsonPath + ".tmp"
    guard let file = fopen(temporary, "w") else { fail("cannot write \(jsonPath): \(String(cString: strerror(errno)))") }
    fputs(document, file)
    guard fclose(file) == 0, rename(temporary, jsonPath) == 0 else {
      unlink(temporary)
      fail("cannot write \(jsonPath): \(String(cString: strerror(errno)))")
    }
  }
}

// MARK: - run (callgrind, perf)

nonisolated(unsafe) var countedWorkload: Workload?
nonisolated(unsafe) var countedFailure: (any Error)?

/// The function callgrind counts: COUNT pairs of the chosen workload.
@_cdecl("hinix_swift_cg_run")
@inline(never)
func hinixSwiftCallgrindRun(_ count: Int) {
  do { try countedWorkload!.run(count) } catch { countedFailure = error }
}

// MARK: - Main

var arguments = Array(CommandLine.arguments.dropFirst())
if arguments.isEmpty || arguments.contains("--help") || arguments.contains("-h") {
  print(usage, terminator: "")
  exit(arguments.isEmpty ? 64 : 0)
}
let command = arguments.removeFirst()
do {
  switch command {
  case "list":
    for operation in Operation.all + Operation.async { print(operation.identifier, "\t", operation) }
  case "run":
    guard arguments.count == 3 else { fail("run takes OPERATION SIDE COUNT (try --help)", status: 64) }
    guard let operation = Operation(identifier: arguments[0]) else {
      fail("unknown operation '\(arguments[0])'; one of \(Operation.all.map(\.identifier).joined(separator: ", "))", status: 64)
    }
    guard let side = Side.allCases.first(where: { $0.rawValue.lowercased() == arguments[1].lowercased() }) else {
      fail("unknown side '\(arguments[1])'; Swift or C", status: 64)
    }
    guard let count = Int(arguments[2]), count >= 0 else { fail("COUNT must be a whole number, not '\(arguments[2])'", status: 64) }
    countedWorkload = try Workload(operation, side)
    hinixSwiftCallgrindRun(count)
    if let countedFailure { throw countedFailure }
    countedWorkload = nil
  case "ratios":
    var rounds = 31
    var batch = 4.0
    var operations: [Operation] = []
    var jsonPath: String?
    while !arguments.isEmpty {
      let option = arguments.removeFirst()
      guard !arguments.isEmpty else { fail("\(option) needs a value (try --help)", status: 64) }
      let value = arguments.removeFirst()
      switch option {
      case "--rounds":
        guard let n = Int(value), n >= 1 else { fail("--rounds needs a positive whole number, not '\(value)'", status: 64) }
        rounds = n
      case "--batch-ms":
        guard let ms = Double(value), ms > 0, ms <= 1000 else { fail("--batch-ms needs milliseconds in (0, 1000], not '\(value)'", status: 64) }
        batch = ms
      case "--operation":
        guard let operation = Operation(identifier: value) else {
          fail("unknown operation '\(value)'; one of \(Operation.all.map(\.identifier).joined(separator: ", "))", status: 64)
        }
        operations.append(operation)
      case "--json": jsonPath = value
      default: fail("unknown option '\(option)' (try --help)", status: 64)
      }
    }
    try ratios(rounds: rounds, batchMilliseconds: batch, operations: operations.isEmpty ? Operation.all : operations, jsonPath: jsonPath)
  default:
    fail("unknown command '\(command)' (try --help)", status: 64)
  }
} catch {
  fail("\(error)")
}
