// Text output for the hinix mq commands: tables, modes, signals and times.

#if canImport(Glibc)
  import Glibc
#endif

/// A plain-text table: the header and rows padded into columns two spaces
/// apart, the columns in `numeric` right-aligned, and no trailing spaces.
public func mqTable(header: [String], rows: [[String]], numeric: Set<Int> = []) -> String {
  mqColumns([header] + rows, numeric: numeric).map { $0 + "\n" }.joined()
}

/// The rows padded into columns two spaces apart, one line each (without
/// newlines), the columns in `numeric` right-aligned, and no trailing spaces.
public func mqColumns(_ rows: [[String]], numeric: Set<Int> = []) -> [String] {
  var widths: [Int] = []
  for row in rows {
    for (column, cell) in row.enumerated() {
      if column == widths.count { widths.append(0) }
      widths[column] = max(widths[column], cell.count)
    }
  }
  return rows.map { row in
    var line = ""
    for (column, cell) in row.enumerated() {
      let padding = String(repeating: " ", count: widths[column] - cell.count)
      if column > 0 { line += "  " }
      line += numeric.contains(column) ? padding + cell : cell + padding
    }
    while line.hasSuffix(" ") { line.removeLast() }
    return line
  }
}

/// A mode as four octal digits: `0o600` → `"0600"`.
public func mqOctal(_ mode: UInt16) -> String {
  let digits = String(mode, radix: 8)
  return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
}

/// `id`'s style for an owner: `0(root)`, or just `1234` when there is no name.
public func mqIdentity(_ id: UInt32, _ name: String?) -> String {
  name.map { "\(id)(\($0))" } ?? "\(id)"
}

/// `"1 message"`, `"3 messages"`.
public func mqCount(_ count: Int, _ noun: String) -> String {
  "\(count) \(noun)\(count == 1 ? "" : "s")"
}

/// The signal's name (`SIGUSR1`), `SIGRTMIN+n` for a real-time signal, or
/// `nil` for a number that is no signal. Numbers differ between
/// architectures, so the table is built from the C library's constants.
public func mqSignalName(_ signal: CInt) -> String? {
  let names: [(CInt, String)] = [
    (SIGHUP, "SIGHUP"), (SIGINT, "SIGINT"), (SIGQUIT, "SIGQUIT"), (SIGILL, "SIGILL"),
    (SIGTRAP, "SIGTRAP"), (SIGABRT, "SIGABRT"), (SIGBUS, "SIGBUS"), (SIGFPE, "SIGFPE"),
    (SIGKILL, "SIGKILL"), (SIGUSR1, "SIGUSR1"), (SIGSEGV, "SIGSEGV"), (SIGUSR2, "SIGUSR2"),
    (SIGPIPE, "SIGPIPE"), (SIGALRM, "SIGALRM"), (SIGTERM, "SIGTERM"), (SIGCHLD, "SIGCHLD"),
    (SIGCONT, "SIGCONT"), (SIGSTOP, "SIGSTOP"), (SIGTSTP, "SIGTSTP"), (SIGTTIN, "SIGTTIN"),
    (SIGTTOU, "SIGTTOU"), (SIGURG, "SIGURG"), (SIGXCPU, "SIGXCPU"), (SIGXFSZ, "SIGXFSZ"),
    (SIGVTALRM, "SIGVTALRM"), (SIGPROF, "SIGPROF"), (SIGWINCH, "SIGWINCH"), (SIGIO, "SIGIO"),
    (SIGPWR, "SIGPWR"), (SIGSYS, "SIGSYS"),
  ]
  if let name = names.first(where: { $0.0 == signal })?.1 { return name }
  let realTimeMinimum = __libc_current_sigrtmin()
  let realTimeMaximum = __libc_current_sigrtmax()
  if signal >= realTimeMinimum && signal <= realTimeMaximum {
    return signal == realTimeMinimum ? "SIGRTMIN" : "SIGRTMIN+\(signal - realTimeMinimum)"
  }
  return nil
}

/// The time now in UTC, to the second, as ISO 8601: `2026-11-27T03:40:12Z`.
public func mqTimestamp() -> String {
  var now = timespec()
  clock_gettime(CLOCK_REALTIME, &now)
  var seconds = now.tv_sec
  var parts = tm()
  gmtime_r(&seconds, &parts)
  func two(_ value: CInt) -> String { value < 10 ? "0\(value)" : "\(value)" }
  return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))"
    + "T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
}
