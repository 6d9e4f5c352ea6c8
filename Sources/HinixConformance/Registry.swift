// Every check, by name.

/// The checks the bench knows.
public enum Registry {
  /// Every check, in catalog order of their first ID.
  public static let checks: [Check] = {
    let all =
      messageQueueChecks + openAndLimitChecks + transferChecks + notificationChecks + lifecycleChecks
      + eventfdChecks + moreEventfdChecks + stressChecks + selfTestChecks
    let order = Dictionary(uniqueKeysWithValues: catalogRows.map { ($0.id, $0.number) })
    return all.sorted { (order[$0.ids[0]] ?? .max, $0.ids[0]) < (order[$1.ids[0]] ?? .max, $1.ids[0]) }
  }()

  /// The check called `name` (its first ID).
  public static func check(named name: String) -> Check? {
    checks.first { $0.name == name }
  }

  /// The catalog rows that no check covers.
  public static var uncoveredRows: [CatalogRow] {
    let covered = Set(checks.flatMap(\.ids))
    return catalogRows.filter { !covered.contains($0.id) }
  }

  /// The checks whose IDs match `filter`: an ID prefix (`MQ-SEND`) or a glob
  /// with `*` and `?` (`MQ-*-EINTR`). Self-test checks, which fail or hang by
  /// design, run only when `filter` is exactly one's name (`SELFTEST-HANG`):
  /// no prefix or glob (`S`, `*`, `SELFTEST-*`) selects them.
  public static func checks(matching filter: String?) -> [Check] {
    guard let filter, !filter.isEmpty else {
      return checks.filter { !$0.isSelfTest }
    }
    if let named = checks.first(where: { $0.isSelfTest && $0.name == filter }) { return [named] }
    return checks.filter { check in
      !check.isSelfTest && check.ids.contains { id in
        filter.contains("*") || filter.contains("?") ? glob(filter, matches: id) : id.hasPrefix(filter)
      }
    }
  }
}

extension Check {
  /// Whether the check tests the harness (`SELFTEST-…`) rather than the kernel.
  var isSelfTest: Bool { name.hasPrefix("SELFTEST-") }
}

/// Whether `pattern` (with `*` for any run and `?` for one character) matches all of `text`.
func glob(_ pattern: String, matches text: String) -> Bool {
  let p = Array(pattern)
  let t = Array(text)
  var (pi, ti, star, mark) = (0, 0, -1, 0)
  while ti < t.count {
    if pi < p.count && (p[pi] == "?" || p[pi] == t[ti]) {
      pi += 1
      ti += 1
    } else if pi < p.count && p[pi] == "*" {
      star = pi
      mark = ti
      pi += 1
    } else if star >= 0 {
      pi = star + 1
      mark += 1
      ti = mark
    } else {
      return false
    }
  }
  while pi < p.count && p[pi] == "*" { pi += 1 }
  return pi == p.count
}
