// What a package that depends on Hinix sees: its products, its license, its
// version, and paths that survive a case-insensitive checkout.

import Foundation
import Hinix
import Testing
import ToolTestSupport

#if canImport(Glibc)
  import Glibc
#endif

/// The repository's root, from this file's path (Tests/ToolTests/…).
private let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
  .deletingLastPathComponent().deletingLastPathComponent().path

/// The absolute path of `swift`, which runs the tests (it is on PATH in CI), if found.
private let swiftExecutable: String? = {
  let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
  return (path.split(separator: ":").map(String.init) + ["/opt/swift/usr/bin"])
    .map { $0 + "/swift" }.first { access($0, X_OK) == 0 }
}()

@Suite("The package as a dependency sees it", .serialized)
struct PackageShapeTests {
  @Test("The root package's products are the library and the three tools, nothing else")
  func products() async throws {
    let swift = try #require(swiftExecutable, "no swift on PATH")
    // dump-package evaluates the manifest without building anything. Its own
    // scratch path: `swift test` holds the lock on the package's .build.
    let scratch = "/tmp/hinix-dump-package-\(getpid())-\(UInt32.random(in: 0 ... .max))"
    defer { _ = try? FileManager.default.removeItem(atPath: scratch) }
    let result = try await run(
      swiftPath: swift, ["package", "--package-path", root, "--scratch-path", scratch, "dump-package"])
    try #require(result.status == 0, "\(result)")
    let manifest = try JSONSerialization.jsonObject(with: Data(result.stdout)) as? [String: Any]
    let products = (manifest?["products"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
    #expect(products.sorted() == ["Hinix", "hinix", "mqrecv", "mqsend"])
    // And no target of the root package needs Google Benchmark.
    let targets = manifest?["targets"] as? [[String: Any]] ?? []
    #expect(!result.out.contains("\"benchmark\""), "the root manifest links Google Benchmark")
    #expect(!targets.isEmpty)
  }

  @Test("No two tracked paths differ only by case")
  func caseInsensitiveCheckout() async throws {
    let result = try await run(
      swiftPath: "/usr/bin/git", ["-C", root, "ls-files"])
    try #require(result.status == 0, "\(result)")
    var seen: [String: String] = [:]
    var clashes: [String] = []
    for path in result.out.split(separator: "\n").map(String.init) {
      // Every prefix (folder) counts too: Sources/hinix beside Sources/Hinix clashes.
      var prefix = ""
      for component in path.split(separator: "/") {
        prefix += (prefix.isEmpty ? "" : "/") + component
        let folded = prefix.lowercased()
        if let other = seen[folded], other != prefix { clashes.append("\(other) ~ \(prefix)") }
        seen[folded] = prefix
      }
    }
    #expect(clashes.isEmpty, "\(Set(clashes).sorted())")
  }

  @Test("LICENSE is the MIT license, and CHANGELOG's newest entry is this version")
  func licenseAndVersion() throws {
    let license = try String(contentsOfFile: root + "/LICENSE", encoding: .utf8)
    #expect(license.hasPrefix("MIT License"))
    let changelog = try String(contentsOfFile: root + "/CHANGELOG.md", encoding: .utf8)
    let newest = changelog.split(separator: "\n").first { $0.hasPrefix("## ") }
    #expect(newest?.hasPrefix("## \(HinixVersion.string) ") == true, "\(String(describing: newest))")
    let readme = try String(contentsOfFile: root + "/README.md", encoding: .utf8)
    #expect(readme.contains("Hinix \(HinixVersion.string)"), "the README names another version")
  }

  @Test("hinix, mqsend and mqrecv --version print the library's version", arguments: ["hinix", "mqsend", "mqrecv"])
  func toolVersion(_ tool: String) async throws {
    let result = try await run(tool, ["--version"])
    #expect(result.status == 0, "\(result)")
    #expect(result.out == HinixVersion.string + "\n", "\(result)")
  }
}

/// Runs the executable at `swiftPath` on a thread of its own.
private func run(swiftPath: String, _ arguments: [String]) async throws -> ToolResult {
  try await onThread {
    try runExecutable(
      swiftPath, arguments, timeout: .seconds(600),
      environment: ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
                    "HOME": ProcessInfo.processInfo.environment["HOME"] ?? "/root"])
  }
}
