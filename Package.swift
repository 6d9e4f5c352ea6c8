// swift-tools-version: 6.1
// Hinix: high-level *nix interprocess communication for Swift on Linux.

import PackageDescription

let package = Package(
  name: "Hinix",
  products: [
    // The API: the library, and the three tools. Support code (the C shim, the
    // conformance bench, the test helpers) stays targets, not products.
    .library(name: "Hinix", targets: ["Hinix"]),
    .executable(name: "mqsend", targets: ["mqsend"]),
    .executable(name: "mqrecv", targets: ["mqrecv"]),
    .executable(name: "hinix", targets: ["HinixTool"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
    .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
  ],
  targets: [
    // The one syscall boundary: fixed-arity wrappers over the libc entry points.
    .target(
      name: "CHinix",
      cSettings: [.define("_GNU_SOURCE")],
      linkerSettings: [.linkedLibrary("rt")]
    ),
    // Under ThreadSanitizer only: Mutex's slow paths annotated for it, so a
    // TSan build of anything that links Hinix sees Mutex hand-offs. Empty in
    // every other build.
    .target(name: "CHinixTSan"),
    // The library: MsgQueue, EventFd, Pipe, names, errors and limits.
    .target(
      name: "Hinix",
      dependencies: [
        "CHinix", "CHinixTSan",
        .product(name: "SystemPackage", package: "swift-system"),
      ]
    ),
    // What the command-line tools share: queue-name arguments, error reporting, output formats.
    .target(
      name: "HinixCommandLine",
      dependencies: [
        "Hinix", "CHinix",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]
    ),
    .executableTarget(name: "mqsend", dependencies: ["HinixCommandLine", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
    .executableTarget(name: "mqrecv", dependencies: ["HinixCommandLine", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
    // The `hinix` tool (`hinix mq …`, `hinix conform`). The folder and module are
    // HinixTool so that no two paths or module names differ only by case.
    .executableTarget(
      name: "HinixTool",
      dependencies: [
        "HinixCommandLine", "HinixConformance",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]),
    // The conformance bench: the checks, the multi-process harness, the reports.
    .target(name: "HinixConformance", dependencies: ["Hinix", "CHinix"]),
    // Counts heap allocations on the calling thread (test support, C because it interposes malloc).
    .target(name: "CAllocationCounter", path: "Tests/CAllocationCounter"),
    // Times one wait and prints what it saw, run by the clock-step test (test support).
    .executableTarget(name: "hinix-clock-step-probe", dependencies: ["Hinix"], path: "Tests/ClockStepProbe"),
    // A child for the library's tests: adopts an inherited queue, lists queues (test support).
    .executableTarget(name: "hinix-test-helper", dependencies: ["Hinix", .product(name: "SystemPackage", package: "swift-system")], path: "Tests/TestHelper"),
    // Examples that build with the package (not products): two processes
    // sharing a temporary queue, and a poll loop over a queue, an eventfd and a timer.
    .executableTarget(name: "example-producer-consumer", dependencies: ["Hinix"], path: "Examples/ProducerConsumer"),
    .executableTarget(name: "example-event-loop", dependencies: ["Hinix"], path: "Examples/EventLoop"),
    .testTarget(
      name: "HinixTests",
      dependencies: [
        "Hinix", "CHinix", "CAllocationCounter", "ToolTestSupport", "hinix-clock-step-probe",
        "hinix-test-helper",
        "example-producer-consumer", "example-event-loop",
        .product(name: "SystemPackage", package: "swift-system"),
      ]
    ),
    // Runs built executables as a user would, through subprocesses (test support).
    .target(name: "ToolTestSupport", dependencies: ["CHinix"], path: "Tests/ToolTestSupport"),
    .testTarget(
      name: "ConformanceTests",
      dependencies: ["HinixConformance", "Hinix", "CHinix", "ToolTestSupport", "HinixTool"]
    ),
    .testTarget(
      name: "ToolTests",
      dependencies: ["Hinix", "CHinix", "ToolTestSupport", "mqsend", "mqrecv", "HinixTool"]
    ),
  ],
  swiftLanguageModes: [.v6]
)
