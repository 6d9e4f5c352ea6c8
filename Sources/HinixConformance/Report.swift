// The run's report: host metadata, results, and the text, JSON, TAP and
// JUnit renderings.

import FoundationEssentials
import Hinix

#if canImport(Glibc)
  import Glibc
#endif

/// The machine a run happened on.
public struct HostInfo: Sendable, Codable, Hashable {
  public var hostname: String
  public var kernelRelease: String
  public var kernelVersion: String
  public var machine: String
  public var cpuModel: String?
  public var cores: Int
  public var glibcVersion: String?
  public var mqueue: [String: Int]
  public var rlimitMsgqueue: UInt64?
  public var capEff: String?
  public var hasSysResource: Bool
  public var namespaced: Bool
  public var namespaceNote: String?

  /// Reads the host's description now.
  public static func current(namespaced: Bool, note: String?) -> HostInfo {
    var names = utsname()
    uname(&names)
    func field<T>(_ value: T) -> String {
      withUnsafeBytes(of: value) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
    let limits = SystemLimits.current()
    var mqueue: [String: Int] = [:]
    for (key, value) in [
      ("msg_max", limits.msgMax), ("msgsize_max", limits.msgsizeMax), ("msg_default", limits.msgDefault),
      ("msgsize_default", limits.msgsizeDefault), ("queues_max", limits.queuesMax),
    ] {
      if let value { mqueue[key] = value }
    }
    let cpu = readSmallFile("/proc/cpuinfo")?.split(separator: "\n")
      .first { $0.hasPrefix("model name") }
      .flatMap { $0.split(separator: ":", maxSplits: 1).last }
      .map { String($0.drop { $0 == " " || $0 == "\t" }) }
    let capEff = readSmallFile("/proc/self/status")?.split(separator: "\n")
      .first { $0.hasPrefix("CapEff:") }
      .map { String($0.dropFirst("CapEff:".count).filter { !$0.isWhitespace }) }
    var glibc = [CChar](repeating: 0, count: 64)
    let glibcLength = confstr(Int32(_CS_GNU_LIBC_VERSION), &glibc, 64)
    return HostInfo(
      hostname: field(names.nodename), kernelRelease: field(names.release), kernelVersion: field(names.version),
      machine: field(names.machine), cpuModel: cpu, cores: sysconf(Int32(_SC_NPROCESSORS_ONLN)),
      glibcVersion: glibcLength > 0 ? String(cString: glibc) : nil, mqueue: mqueue,
      rlimitMsgqueue: limits.queueBytesLimit, capEff: capEff, hasSysResource: limits.hasSysResource,
      namespaced: namespaced, namespaceNote: note)
  }
}

/// A whole run: where, when, what, and the rows no check covers yet.
public struct ConformanceReport: Sendable, Codable {
  /// The report format's name and version.
  public var schema = "hinix-conform/1"
  /// The Hinix version that ran the checks (``HinixVersion/string``); absent
  /// in reports written before it was recorded.
  public var hinixVersion: String? = HinixVersion.string
  public var host: HostInfo
  /// When the run started, in seconds since the Unix epoch.
  public var started: Double
  /// How long the run took, in seconds.
  public var seconds: Double
  public var summary: Summary
  public var results: [CheckResult]
  /// Catalog rows that no check covers yet: reported as skipped, with that reason.
  public var uncovered: [CatalogRow]

  /// Counts of verdicts.
  public struct Summary: Sendable, Codable, Hashable {
    public var pass = 0
    public var fail = 0
    public var skip = 0
    public var error = 0
    /// Checks killed at their deadline: the run could not judge them.
    public var timeout = 0
    /// Catalog IDs covered by the checks that ran.
    public var coveredIDs = 0
    /// Rows in the catalog.
    public var catalogRows = catalogRowsCount

    init() {}

    /// Decodes a summary; reports written before the `timeout` verdict existed have no count for it.
    public init(from decoder: any Decoder) throws {
      let container = try decoder.container(keyedBy: CodingKeys.self)
      pass = try container.decode(Int.self, forKey: .pass)
      fail = try container.decode(Int.self, forKey: .fail)
      skip = try container.decode(Int.self, forKey: .skip)
      error = try container.decode(Int.self, forKey: .error)
      timeout = try container.decodeIfPresent(Int.self, forKey: .timeout) ?? 0
      coveredIDs = try container.decode(Int.self, forKey: .coveredIDs)
      catalogRows = try container.decode(Int.self, forKey: .catalogRows)
    }
  }

  /// Builds a report.
  public init(host: HostInfo, started: Double, seconds: Double, results: [CheckResult], uncovered: [CatalogRow]) {
    self.host = host
    self.started = started
    self.seconds = seconds
    self.results = results
    self.uncovered = uncovered
    var summary = Summary()
    for result in results {
      switch result.verdict {
      case "pass": summary.pass += 1
      case "fail": summary.fail += 1
      case "skip": summary.skip += 1
      case "timeout": summary.timeout += 1
      default: summary.error += 1
      }
    }
    summary.coveredIDs = Set(results.flatMap(\.ids)).intersection(catalogRows.map(\.id)).count
    self.summary = summary
  }

  /// The process exit status: 1 when a check failed (the kernel broke a
  /// clause); otherwise 2 when a check could not be judged (a harness error or
  /// a check killed at its deadline); 0 when every check passed or was skipped.
  public var exitStatus: Int32 {
    summary.fail > 0 ? 1 : summary.error + summary.timeout > 0 ? 2 : 0
  }

  /// JSON, with sorted keys.
  public func json() throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(self), as: UTF8.self) + "\n"
  }

  /// A table: ID, verdict, time and the reason for anything but a pass; then a summary.
  public func text() -> String {
    let width = max(20, results.map { $0.ids.joined(separator: ",").count }.max() ?? 0)
    var out = ""
    for result in results {
      let ids = result.ids.joined(separator: ",")
      let time = String(Int((result.seconds * 1000).rounded())) + " ms"
      var line = ids.padding(width) + "  " + result.verdict.padding(5) + "  " + time.padding(9, left: true)
      if let detail = result.detail { line += "  " + detail }
      if result.kernelDiffers { line += "  [Linux differs from the 6.03 man page here; the kernel's behaviour is expected]" }
      out += line + "\n"
    }
    let s = summary
    out += "\n\(s.pass) passed, \(s.fail) failed, \(s.skip) skipped, \(s.error) errors, \(s.timeout) timed out in \(String(format1(seconds))) s"
    out += "; \(s.coveredIDs) of \(s.catalogRows) catalog IDs checked, \(uncovered.count) not covered yet"
    out += host.namespaced ? " (run in a private IPC and mount namespace)\n" : " (not namespaced: \(host.namespaceNote ?? "unknown reason"))\n"
    return out
  }

  /// TAP version 13.
  public func tap() -> String {
    var out = "TAP version 13\n1..\(results.count)\n"
    for (index, result) in results.enumerated() {
      let ids = result.ids.joined(separator: ",")
      switch result.verdict {
      case "pass": out += "ok \(index + 1) - \(ids)\n"
      case "skip": out += "ok \(index + 1) - \(ids) # SKIP \(oneLine(result.detail))\n"
      default: out += "not ok \(index + 1) - \(ids) # \(result.verdict): \(oneLine(result.detail))\n"
      }
    }
    return out
  }

  /// JUnit XML: one testcase per check.
  public func junit() -> String {
    let s = summary
    var out = #"<?xml version="1.0" encoding="UTF-8"?>"# + "\n"
    out += #"<testsuites name="hinix conform" tests="\#(results.count)" failures="\#(s.fail)" errors="\#(s.error + s.timeout)" skipped="\#(s.skip)" time="\#(format1(seconds))">"# + "\n"
    out += #"  <testsuite name="\#(xml(host.hostname)) \#(xml(host.kernelRelease))" tests="\#(results.count)" failures="\#(s.fail)" errors="\#(s.error + s.timeout)" skipped="\#(s.skip)">"# + "\n"
    for result in results {
      let name = xml(result.ids.joined(separator: ","))
      out += #"    <testcase classname="\#(xml(result.source))" name="\#(name)" time="\#(result.seconds)">"#
      switch result.verdict {
      case "pass": break
      case "skip": out += #"<skipped message="\#(xml(oneLine(result.detail)))"/>"#
      case "fail": out += #"<failure message="\#(xml(oneLine(result.detail)))"/>"#
      case "timeout": out += #"<error type="timeout" message="\#(xml(oneLine(result.detail)))"/>"#
      default: out += #"<error message="\#(xml(oneLine(result.detail)))"/>"#
      }
      out += "</testcase>\n"
    }
    out += "  </testsuite>\n</testsuites>\n"
    return out
  }
}

let catalogRowsCount = catalogRows.count

private func oneLine(_ text: String?) -> String {
  (text ?? "").split(whereSeparator: \.isNewline).joined(separator: " ")
}

private func xml(_ text: String) -> String {
  var out = ""
  for scalar in text.unicodeScalars {
    switch scalar {
    case "&": out += "&amp;"
    case "<": out += "&lt;"
    case ">": out += "&gt;"
    case "\"": out += "&quot;"
    case "'": out += "&apos;"
    default:
      // XML 1.0 allows tab, newline and carriage return among the control characters.
      if scalar.value < 0x20 && scalar != "\t" && scalar != "\n" && scalar != "\r" { out += "?" } else { out.unicodeScalars.append(scalar) }
    }
  }
  return out
}

func format1(_ value: Double) -> String {
  let tenths = Int((value * 10).rounded())
  return "\(tenths / 10).\(abs(tenths % 10))"
}

extension String {
  func padding(_ width: Int, left: Bool = false) -> String {
    let pad = String(repeating: " ", count: max(0, width - count))
    return left ? pad + self : self + pad
  }
}
