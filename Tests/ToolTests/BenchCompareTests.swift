import Foundation
import FoundationXML
import Testing
import ToolTestSupport

#if canImport(Glibc)
  import Glibc
#endif

/// The repository's root, from this file's path.
private let repositoryRoot: String = {
  var parts = String(#filePath).split(separator: "/", omittingEmptySubsequences: false)
  parts.removeLast(3)  // Tests/ToolTests/BenchCompareTests.swift
  return parts.joined(separator: "/")
}()

private let script = repositoryRoot + "/scripts/bench-compare"
/// Two real hinix-bench runs on the project's 2-vCPU VM: the second with CPU 1 kept busy
/// (Tests/Fixtures/bench/README.md).
private let quiet = repositoryRoot + "/Tests/Fixtures/bench/vm-quiet.json"
private let busy = repositoryRoot + "/Tests/Fixtures/bench/vm-cpu1-busy.json"

/// The environment python3 is found in: the caller's PATH (pyenv included), else /usr/bin.
private let pythonEnvironment = ProcessInfo.processInfo.environment.filter {
  ["PATH", "HOME", "PYENV_ROOT", "PYENV_VERSION"].contains($0.key)
}

/// Runs `python3 scripts/bench-compare ARGUMENTS`.
private func benchCompare(_ arguments: [String]) throws -> ToolResult {
  try runExecutable(
    "/usr/bin/env", ["python3", script] + arguments, timeout: .seconds(60),
    environment: pythonEnvironment)
}

/// Runs a Python program with arguments (for the scipy cross-check).
private func python(_ program: String, _ arguments: [String]) throws -> ToolResult {
  try runExecutable(
    "/usr/bin/env", ["python3", "-c", program] + arguments, timeout: .seconds(60),
    environment: pythonEnvironment)
}

/// A fresh directory under /tmp, removed by `body`'s caller.
private func withTemporaryDirectory<R>(_ body: (String) throws -> R) throws -> R {
  let path = NSTemporaryDirectory() + "bench-compare-test-\(getpid())-\(UInt64.random(in: 0 ... .max))"
  try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
  defer { try? FileManager.default.removeItem(atPath: path) }
  return try body(path)
}

private func jsonObject(_ bytes: [UInt8]) throws -> [String: Any] {
  let object = try JSONSerialization.jsonObject(with: Data(bytes))
  return try #require(object as? [String: Any])
}

// MARK: - An independent reading of the result files

/// A result file's repetitions, read here with JSONSerialization, without the script's code:
/// benchmark name (without /iterations:N and /manual_time) -> metric -> per-repetition values.
private struct Fixture {
  var host: String
  var date: String
  var samples: [String: [String: [Double]]] = [:]

  init(path: String) throws {
    let root = try jsonObject(Array(try Data(contentsOf: URL(fileURLWithPath: path))))
    let context = try #require(root["context"] as? [String: Any])
    host = try #require(context["host_name"] as? String)
    date = try #require(context["date"] as? String)
    let unitNs: [String: Double] = ["ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9]
    for entry in try #require(root["benchmarks"] as? [[String: Any]]) {
      guard entry["run_type"] as? String == "iteration", entry["error_occurred"] == nil else { continue }
      var name = try #require(entry["run_name"] as? String)
      name = name.replacingOccurrences(of: "/manual_time", with: "")
      name = name.replacingOccurrences(of: #"/iterations:[0-9]+"#, with: "", options: .regularExpression)
      let time: Double
      if name.contains("MqThroughput/") {
        time = 1e9 / (try #require(entry["items_per_second"] as? Double))  // per message
      } else {
        let unit = unitNs[entry["time_unit"] as? String ?? "ns"] ?? 1
        time = (try #require(entry["real_time"] as? Double)) * unit
      }
      samples[name, default: [:]]["time", default: []].append(time)
      if let p50 = entry["p50_ns"] as? Double {
        samples[name, default: [:]]["p50", default: []].append(p50)
      }
    }
  }

  func median(_ name: String, _ metric: String) -> Double? {
    guard let values = samples[name]?[metric]?.sorted(), !values.isEmpty else { return nil }
    let n = values.count
    return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2
  }
}

private func close(_ a: Double?, _ b: Double?, relative: Double = 1e-9) -> Bool {
  guard let a, let b else { return a == nil && b == nil }
  return abs(a - b) <= relative * max(abs(a), abs(b))
}

// MARK: - Hand-made result files

/// Writes a minimal hinix-bench result: each benchmark's per-repetition real times in ns.
private func writeResult(
  _ path: String, host: String = "testhost", date: String = "2026-01-02T03:04:05+00:00",
  _ benchmarks: [(name: String, times: [Double])]
) throws {
  var entries: [[String: Any]] = []
  for (family, benchmark) in benchmarks.enumerated() {
    for (index, time) in benchmark.times.enumerated() {
      entries.append([
        "name": benchmark.name, "run_name": benchmark.name, "run_type": "iteration",
        "family_index": family, "per_family_instance_index": 0, "repetitions": benchmark.times.count,
        "repetition_index": index, "threads": 1, "iterations": 1000, "real_time": time,
        "cpu_time": time, "time_unit": "ns",
      ])
    }
  }
  let root: [String: Any] = [
    "context": [
      "date": date, "host_name": host, "hinix_version": "0.1.0-dev", "hinix_git_commit": "test",
      "hinix_iteration_scale": "1", "num_cpus": 2,
    ],
    "benchmarks": entries,
  ]
  try JSONSerialization.data(withJSONObject: root, options: [.sortedKeys])
    .write(to: URL(fileURLWithPath: path))
}

/// The script's --json rows, by "benchmark metric".
private func rows(_ result: ToolResult) throws -> [String: [String: Any]] {
  let document = try jsonObject(result.stdout)
  var byName: [String: [String: Any]] = [:]
  for row in try #require(document["rows"] as? [[String: Any]]) {
    byName["\(row["benchmark"] as? String ?? "?") \(row["metric"] as? String ?? "?")"] = row
  }
  return byName
}

/// The test of file `index` against the baseline in a --json row.
private func test(_ row: [String: Any]?, _ index: Int = 1) -> [String: Any]? {
  (row?["tests"] as? [Any])?[index] as? [String: Any]
}

// MARK: - SVG

/// Counts what the plot holds, and fails on XML that is not well-formed.
private final class SVGReader: NSObject, XMLParserDelegate {
  var root: String?
  var panels: [String] = []
  /// Panel id -> the data-label of each series in it.
  var series: [String: [String]] = [:]
  var legendEntries = 0
  private var panel: String?

  func parser(
    _ parser: XMLParser, didStartElement element: String, namespaceURI: String?,
    qualifiedName: String?, attributes: [String: String] = [:]
  ) {
    if root == nil { root = element }
    guard element == "g" else { return }
    switch attributes["class"] {
    case "panel":
      panel = attributes["id"]
      panels.append(attributes["id"] ?? "?")
    case "series": series[panel ?? "?", default: []].append(attributes["data-label"] ?? "?")
    case "legend-entry": legendEntries += 1
    default: break
    }
  }

  static func read(_ path: String) throws -> (SVGReader, Bool) {
    let reader = SVGReader()
    let parser = try #require(XMLParser(contentsOf: URL(fileURLWithPath: path)))
    parser.delegate = reader
    let ok = parser.parse()
    return (reader, ok)
  }
}

// MARK: - The tests

@Suite("scripts/bench-compare", .timeLimit(.minutes(5)))
struct BenchCompareTests {
  @Test("Two real runs: a row per shared benchmark, medians and ratios as computed here from the JSON")
  func comparesFixtures() throws {
    let a = try Fixture(path: quiet)
    let b = try Fixture(path: busy)
    let shared = Set(a.samples.keys).intersection(b.samples.keys)
    #expect(shared.count >= 8, "the fixtures share too little: \(shared.sorted())")
    #expect(Set(a.samples.keys) != Set(b.samples.keys), "one fixture should hold a benchmark the other lacks")

    let result = try benchCompare([quiet, busy, "--json", "--no-plot"])
    #expect(result.status == 0, "\(result)")
    let byName = try rows(result)
    var expectedRows = 0
    for name in shared.sorted() {
      for metric in ["time", "p50"] where a.samples[name]?[metric] != nil {
        expectedRows += 1
        let row = try #require(byName["\(name) \(metric)"], "no row for \(name) \(metric)")
        let medians = try #require(row["medians"] as? [Double])
        let ratios = try #require(row["ratios"] as? [Any])
        let ma = try #require(a.median(name, metric)), mb = try #require(b.median(name, metric))
        #expect(close(medians[0], ma) && close(medians[1], mb), "\(name) \(metric): \(medians) vs \(ma), \(mb)")
        #expect(close(ratios[1] as? Double, mb / ma), "\(name) \(metric): ratio \(ratios[1]) vs \(mb / ma)")
        let t = try #require(test(row), "\(name) \(metric): no test")
        let p = try #require(t["p"] as? Double)
        #expect(p > 0 && p <= 1)
        #expect((t["significant"] as? Bool) == (p < 0.05))
        #expect(["exact", "normal"].contains(t["method"] as? String ?? ""))
      }
    }
    #expect(byName.count == expectedRows, "rows beyond the shared benchmarks: \(byName.keys.sorted())")

    // The text table: one line per shared benchmark and metric, the ratio to three places.
    let text = try benchCompare([quiet, busy, "--no-plot"])
    #expect(text.status == 0, "\(text)")
    let lines = text.out.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
    for name in shared {
      for metric in ["time", "p50"] where a.samples[name]?[metric] != nil {
        let matching = lines.filter { $0.contains(name) && $0.contains(metric) && $0.count > 7 }
        #expect(matching.count == 1, "\(name) \(metric): \(matching.count) lines")
        guard let cells = matching.first, let at = cells.firstIndex(of: metric) else { continue }
        // name metric <value> <unit> <value> <unit> <ratio> <p> <test> [*]
        let ratio = b.median(name, metric)! / a.median(name, metric)!
        #expect(cells[at + 5] == String(format: "%.3f", ratio), "\(name): \(cells)")
      }
    }
    #expect(text.out.contains("vm 20"), "labels are the host and the run date: \(text.out)")
  }

  @Test("The SVG is written, is well-formed XML, and has one series per input in every panel")
  func writesPlot() throws {
    try withTemporaryDirectory { dir in
      let svg = dir + "/plot.svg"
      let result = try benchCompare([quiet, busy, "--plot", svg, "--label", "quiet", "--label", "busy"])
      #expect(result.status == 0, "\(result)")
      #expect(result.out.contains("plot: \(svg)"))
      let (reader, wellFormed) = try SVGReader.read(svg)
      #expect(wellFormed)
      #expect(reader.root == "svg")
      #expect(reader.panels == ["panel-send-receive", "panel-ping-pong", "panel-throughput"])
      #expect(reader.legendEntries == 2)
      for panel in reader.panels {
        #expect(reader.series[panel] == ["quiet", "busy"], "\(panel): \(reader.series[panel] ?? [])")
      }
      // Nothing else left in the directory (the temporary file was renamed).
      #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["plot.svg"])
    }
  }

  @Test("One file: its medians and its plot beside it, with one series; no ratios")
  func singleFile() throws {
    try withTemporaryDirectory { dir in
      let copy = dir + "/run.json"
      try FileManager.default.copyItem(atPath: quiet, toPath: copy)
      let result = try benchCompare([copy, "--json"])
      #expect(result.status == 0, "\(result)")
      let document = try jsonObject(result.stdout)
      #expect(document["plot"] as? String == dir + "/run.svg")
      let a = try Fixture(path: quiet)
      for row in try #require(document["rows"] as? [[String: Any]]) {
        #expect(row["ratios"] == nil && row["tests"] == nil)
        let name = row["benchmark"] as? String ?? "?", metric = row["metric"] as? String ?? "?"
        #expect(close((row["medians"] as? [Double])?.first, a.median(name, metric)), "\(name) \(metric)")
      }
      let (reader, wellFormed) = try SVGReader.read(dir + "/run.svg")
      #expect(wellFormed && reader.legendEntries == 1)
      #expect(reader.series.values.allSatisfy { $0.count == 1 } && !reader.series.isEmpty)
    }
  }

  @Test("--markdown prints a table with a line per row of --json")
  func markdown() throws {
    let json = try rows(try benchCompare([quiet, busy, "--json", "--no-plot"]))
    let result = try benchCompare([quiet, busy, "--markdown", "--no-plot"])
    #expect(result.status == 0, "\(result)")
    let tableLines = result.out.split(separator: "\n").filter { $0.hasPrefix("| ") }
    #expect(tableLines.first?.hasPrefix("| benchmark | metric |") == true)
    #expect(tableLines.count == json.count + 1)  // the header, then one line per row
  }

  @Test("Mann-Whitney: 9 against 9 fully separated is exact p = 2/C(18,9); identical samples give p = 1")
  func knownUTests() throws {
    try withTemporaryDirectory { dir in
      let low = (1...9).map { Double($0) * 100 }
      let high = (10...18).map { Double($0) * 100 }
      let tied: [Double] = [100, 100, 200, 200, 300]
      try writeResult(
        dir + "/a.json",
        [("BM_Separated", low), ("BM_Identical", low), ("BM_Ties", tied), ("BM_OnlyHere", low)])
      try writeResult(
        dir + "/b.json", date: "2026-01-02T04:00:00+00:00",
        [("BM_Separated", high.shuffled()), ("BM_Identical", low.shuffled()),
         ("BM_Ties", [300, 400, 400, 500, 500])])
      let result = try benchCompare([dir + "/a.json", dir + "/b.json", "--json", "--no-plot"])
      #expect(result.status == 0, "\(result)")
      let byName = try rows(result)
      #expect(Set(byName.keys) == ["BM_Separated time", "BM_Identical time", "BM_Ties time"])

      let separated = test(byName["BM_Separated time"])
      #expect(separated?["method"] as? String == "exact")
      #expect(close(separated?["p"] as? Double, 2.0 / 48620, relative: 1e-12))  // C(18, 9) = 48620
      #expect(separated?["significant"] as? Bool == true)
      #expect(close((byName["BM_Separated time"]?["ratios"] as? [Any])?[1] as? Double, 1400.0 / 500))

      let identical = test(byName["BM_Identical time"])
      #expect(identical?["p"] as? Double == 1.0)
      #expect(identical?["significant"] as? Bool == false)

      // Ties: the normal approximation with tie and continuity corrections. The value is
      // scipy.stats.mannwhitneyu([100,100,200,200,300], [300,400,400,500,500]).pvalue.
      let ties = test(byName["BM_Ties time"])
      #expect(ties?["method"] as? String == "normal")
      #expect(close(ties?["p"] as? Double, 0.014706853890834981, relative: 1e-9))

      // With the alpha lowered below that p, the row is no longer significant.
      let strict = try rows(
        try benchCompare([dir + "/a.json", dir + "/b.json", "--json", "--no-plot", "--alpha", "0.01"]))
      #expect(test(strict["BM_Ties time"])?["significant"] as? Bool == false)
      #expect(test(strict["BM_Separated time"])?["significant"] as? Bool == true)
    }
  }

  @Test("Too few repetitions for the test to ever reach alpha: a warning, and p = 0.1 for 3 against 3")
  func tooFewRepetitions() throws {
    try withTemporaryDirectory { dir in
      try writeResult(dir + "/a.json", [("BM_X", [1, 2, 3])])
      try writeResult(dir + "/b.json", date: "2026-01-03T00:00:00+00:00", [("BM_X", [4, 5, 6])])
      let result = try benchCompare([dir + "/a.json", dir + "/b.json", "--json", "--no-plot"])
      #expect(result.status == 0, "\(result)")
      let document = try jsonObject(result.stdout)
      let warnings = try #require(document["warnings"] as? [String])
      #expect(warnings.contains { $0.contains("never below alpha") }, "\(warnings)")
      let t = test(try rows(result)["BM_X time"])
      #expect(close(t?["p"] as? Double, 0.1) && t?["significant"] as? Bool == false)
    }
  }

  @Test("Bad input: one line on standard error, a non-zero status, no output and no plot")
  func badInput() throws {
    try withTemporaryDirectory { dir in
      try Data("not json at all\n".utf8).write(to: URL(fileURLWithPath: dir + "/text.json"))
      try Data(#"{"context": {"host_name": "x"}, "benchmarks": []}"#.utf8)
        .write(to: URL(fileURLWithPath: dir + "/gbench.json"))
      try writeResult(dir + "/other.json", [("BM_NotInTheFixtures", [1, 2, 3, 4])])
      let plot = dir + "/plot.svg"
      let cases: [(arguments: [String], status: CInt, says: String)] = [
        ([quiet, dir + "/missing.json"], 1, "no such file"),
        ([quiet, dir + "/text.json"], 1, "not JSON"),
        ([quiet, dir + "/gbench.json"], 1, "not from hinix-bench"),
        ([quiet, dir + "/other.json"], 1, "nothing to compare"),
        ([quiet, busy, "--frobnicate"], 2, "unrecognized arguments"),
        ([quiet, busy, "--alpha", "2"], 2, "--alpha"),
        ([quiet, busy, "--label", "only-one"], 2, "--label"),
        ([quiet, busy, "--json", "--markdown"], 2, "not allowed with"),
        ([], 2, "required"),
      ]
      for c in cases {
        let result = try benchCompare(c.arguments + (c.arguments.isEmpty ? [] : ["--plot", plot]))
        #expect(result.status == c.status, "\(c.arguments): \(result)")
        #expect(result.errorLines.count == 1, "\(c.arguments): \(result)")
        #expect(result.err.contains(c.says), "\(c.arguments): \(result)")
        #expect(!result.err.contains("Traceback"))
        #expect(result.stdout.isEmpty, "\(c.arguments): \(result)")
      }
      #expect(!FileManager.default.fileExists(atPath: plot))
      let left = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
      #expect(left == ["gbench.json", "other.json", "text.json"])
    }
  }

  @Test("--help teaches: usage, the test, the plot, examples, exit status")
  func help() throws {
    let result = try benchCompare(["--help"])
    #expect(result.status == 0, "\(result)")
    for part in ["usage:", "Mann-Whitney", "--alpha", "--plot", "--no-plot", "--label", "examples:", "exit status"] {
      #expect(result.out.contains(part), "--help lacks \(part)")
    }
  }

  @Test(
    "p-values agree with scipy.stats.mannwhitneyu on random samples (skipped without scipy)",
    .enabled(if: scipyIsInstalled()))
  func agreesWithScipy() throws {
    try withTemporaryDirectory { dir in
      // A fixed linear congruential generator: the same samples on every run.
      var state: UInt64 = 20_261_127
      func next() -> Double {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Double(state >> 11) / Double(1 << 53)
      }
      var a: [(name: String, times: [Double])] = []
      var b: [(name: String, times: [Double])] = []
      for i in 0..<12 {
        let (n1, n2) = (3 + Int(next() * 10), 3 + Int(next() * 10))
        let shift = [0.0, 0.3, 1.0][i % 3]
        // Every third benchmark draws whole numbers, so that it has ties.
        let draw = { (offset: Double) -> Double in
          i % 3 == 2 ? Double(Int(next() * 6 + offset * 3)) + 1 : 1000 * (1 + next() + offset)
        }
        a.append(("BM_R\(i)", (0..<n1).map { _ in draw(0) }))
        b.append(("BM_R\(i)", (0..<n2).map { _ in draw(shift) }))
      }
      try writeResult(dir + "/a.json", a)
      try writeResult(dir + "/b.json", date: "2026-01-02T05:00:00+00:00", b)
      let byName = try rows(try benchCompare([dir + "/a.json", dir + "/b.json", "--json", "--no-plot"]))
      var methods: Set<String> = []
      for i in 0..<12 {
        let t = try #require(test(byName["BM_R\(i) time"]))
        let method = try #require(t["method"] as? String)
        methods.insert(method)
        let samples = try JSONSerialization.data(withJSONObject: [a[i].times, b[i].times])
        let scipy = try python(
          """
          import json, sys
          from scipy.stats import mannwhitneyu
          x, y = json.loads(sys.argv[1])
          method = "exact" if sys.argv[2] == "exact" else "asymptotic"
          print(repr(float(mannwhitneyu(x, y, alternative="two-sided", method=method).pvalue)))
          """, [String(decoding: samples, as: UTF8.self), method])
        #expect(scipy.status == 0, "\(scipy)")
        let expected = Double(scipy.out.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(close(t["p"] as? Double, expected, relative: 1e-9), "BM_R\(i) (\(method)): \(t) vs scipy \(scipy.out)")
      }
      #expect(methods == ["exact", "normal"], "both methods should be exercised: \(methods)")
    }
  }
}

/// Whether the python3 on PATH can import scipy (a developer machine; CI may lack it).
private func scipyIsInstalled() -> Bool {
  (try? python("import scipy", []))?.status == 0
}
