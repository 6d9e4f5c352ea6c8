// swift-tools-version: 6.1
// hinix-bench: the Google Benchmark runner (C++, Debian's libbenchmark-dev) over
// the CHinix C shim that the Hinix library calls, with a plain-libc floor beside
// each shim benchmark. A package of its own so that Hinix's users and its test
// suite never need the C++ benchmark library.
//
//   scripts/bench             (from the repository root: builds this package in
//                              release mode and runs it; --help says more)
//
// It links the Hinix library product, whose C target (CHinix) it calls: the
// very object code an application using Hinix runs.

import PackageDescription

let package = Package(
  name: "HinixBenchRunner",
  dependencies: [
    .package(name: "Hinix", path: "../.."),
  ],
  targets: [
    .systemLibrary(
      name: "CGoogleBenchmark",
      pkgConfig: "benchmark",
      providers: [.apt(["libbenchmark-dev"])]
    ),
    .executableTarget(
      name: "hinix-bench",
      dependencies: [.product(name: "Hinix", package: "Hinix"), "CGoogleBenchmark"],
      linkerSettings: [.linkedLibrary("benchmark"), .linkedLibrary("pthread")]
    ),
  ],
  cxxLanguageStandard: .cxx17
)
