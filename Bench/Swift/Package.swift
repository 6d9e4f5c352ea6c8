// swift-tools-version: 6.1
// The Swift-overhead benchmarks: the Hinix Swift API beside the CHinix C shim it
// calls, in the same process and the same run (ordo-one/benchmark, which also
// counts heap allocations). A package of its own so that Hinix's users and its
// test suite never resolve or build the benchmark harness.
//
//   cd Bench/Swift && swift package --disable-sandbox benchmark
//   scripts/bench-swift            (from the repository root: runs it and prints the ratios)

import PackageDescription

let package = Package(
  name: "HinixSwiftBench",
  dependencies: [
    .package(name: "Hinix", path: "../.."),
    .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
  ],
  targets: [
    // The operation pairs, through the Swift API and through the C shim.
    .target(
      name: "SwiftOverheadWorkloads",
      dependencies: [
        // CHinix, the shim the library calls, comes with the Hinix product
        // (its C target); the workloads call it directly for the C side.
        .product(name: "Hinix", package: "Hinix"),
      ]
    ),
    // Interleaved Swift/C ratios, and the single-side runs callgrind and perf count.
    .executableTarget(name: "hinix-swift-overhead", dependencies: ["SwiftOverheadWorkloads", .product(name: "Hinix", package: "Hinix")]),
    // The ordo-one/benchmark suite: percentiles and heap allocations per pair.
    .executableTarget(
      name: "SwiftOverhead",
      dependencies: [
        .product(name: "Benchmark", package: "benchmark"),
        "SwiftOverheadWorkloads",
      ],
      path: "Benchmarks/SwiftOverhead",
      plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
    ),
  ],
  swiftLanguageModes: [.v6]
)
