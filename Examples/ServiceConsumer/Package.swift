// swift-tools-version: 6.2
// A long-running queue consumer under swift-service-lifecycle that shuts down
// gracefully on SIGTERM. A package of its own, like Bench/Swift, so that
// Hinix's users never resolve swift-service-lifecycle (and its swift-log and
// swift-async-algorithms) just because an example uses it.
//
//   cd Examples/ServiceConsumer && swift run queue-consumer-service /jobs /acks
//
// Tests/HinixTests/ServiceExampleTests.swift builds and runs it.

import PackageDescription

let package = Package(
  name: "HinixServiceConsumerExample",
  platforms: [.macOS(.v15)],
  dependencies: [
    .package(name: "Hinix", path: "../.."),
    .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    .package(url: "https://github.com/apple/swift-log", from: "1.14.0"),
  ],
  targets: [
    .executableTarget(
      name: "queue-consumer-service",
      dependencies: [
        .product(name: "Hinix", package: "Hinix"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "Logging", package: "swift-log"),
      ],
      path: "Sources/QueueConsumerService"
    )
  ],
  swiftLanguageModes: [.v6]
)
