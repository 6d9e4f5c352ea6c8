// ordo-one/benchmark view of the Swift-overhead workloads: per operation pair,
// wall-clock percentiles and heap allocations, Swift API beside C shim.
// `scripts/bench-swift` runs hinix-swift-overhead for the interleaved ratios,
// instructions and system calls; this suite adds the Swift ecosystem's usual
// report (and its malloc counter) for the same code.
//
// Names: "<operation>: <Swift|C>". Each iteration is one operation pair.

import Benchmark
import SwiftOverheadWorkloads

nonisolated(unsafe) var current: Workload?

let benchmarks: @Sendable () -> Void = {
  Benchmark.defaultConfiguration = .init(
    metrics: [.wallClock, .mallocCountTotal, .throughput],
    timeUnits: .nanoseconds,
    warmupIterations: 1000,
    scalingFactor: .kilo,
    maxDuration: .seconds(1),
    maxIterations: 1_000_000
  )

  for operation in Operation.all {
    for side in Side.allCases where !(operation.swiftAllocates && side == .c) {
      Benchmark(
        "\(operation): \(side.rawValue)",
        configuration: Benchmark.defaultConfiguration,
        closure: { benchmark in try current!.run(benchmark.scaledIterations.count) },
        setup: { current = try Workload(operation, side) },
        teardown: { current = nil }
      )
    }
  }
}
