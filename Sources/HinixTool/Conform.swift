import ArgumentParser
import Hinix
import HinixCommandLine
import HinixConformance

#if canImport(Glibc)
  import Glibc
#endif

/// `hinix conform`: checks the running kernel's POSIX message queues and
/// eventfd against the man pages, one catalog row at a time.
struct Conform: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "conform",
    abstract: "Check the running kernel's message queues and eventfd against the man pages.",
    discussion: """
      Each check exercises one documented behaviour (a row of the conformance \
      catalog, by its stable ID) and cites its clause. It runs in a worker \
      process of its own, in its own process group: when a check's deadline \
      passes, the group is killed and the check's verdict is timeout, so \
      no kernel call that hangs can hang the run.

      As root, the run works in a private IPC and mount namespace: the queues \
      it creates and the /proc/sys/fs/mqueue values it sets exist only there \
      and vanish with the run, even if it is killed. Checks that need what \
      this machine lacks (CAP_SYS_RESOURCE, say) are skipped with the reason. \
      Where Linux differs from the 6.03 man pages (⚠ in the catalog), the check \
      expects the kernel's behaviour and the report says so.

      Verdicts: pass; fail (the kernel did not behave as the clause says); \
      skip (with the reason: a missing privilege, or a limit such as \
      RLIMIT_MSGQUEUE used up by the user's other queues); error (the harness \
      itself failed); timeout (killed at its deadline: not evidence against \
      the kernel). Catalog rows that no check covers yet are listed as not \
      covered. Self-test checks run only when --filter names one exactly.

      Exit status: 0 when every check passed or was skipped, 1 when a check \
      failed, 2 when the run could not judge (an error or a timeout, and no \
      fail) or the report could not be written, 64 for a usage error.

      EXAMPLES:
        hinix conform
        hinix conform --filter MQ-SEND --jobs 2
        hinix conform --filter 'MQ-*-EINTR'
        hinix conform --list
        hinix conform --format junit --output conform.xml
      """)

  @Option(help: "Run only the checks with an ID that starts with this, or matches this glob (* and ?).")
  var filter: String?

  @Flag(help: "List the checks, their IDs and clauses, and the catalog rows not covered yet, without running.")
  var list = false

  @Option(help: "The report's format: text, json, tap or junit.")
  var format: ReportFormat = .text

  @Option(help: ArgumentHelp("Write the report to this file instead of standard output.", valueName: "file"))
  var output: String?

  @Option(help: "How many checks to run at once (1 to 64).")
  var jobs: Int = 2

  @Option(help: ArgumentHelp("A deadline for every check, in seconds, instead of each check's own.", valueName: "seconds"),
    transform: { try parseTimeout($0) })
  var timeout: Duration?

  @Flag(help: "Print nothing while the checks run.")
  var quiet = false

  enum ReportFormat: String, ExpressibleByArgument, CaseIterable { case text, json, tap, junit }

  func validate() throws {
    guard (1...64).contains(jobs) else { throw ValidationError("--jobs takes 1 to 64; got \(jobs)") }
    if let timeout, timeout <= .zero { throw ValidationError("--timeout must be more than 0 seconds") }
    if let filter, Registry.checks(matching: filter).isEmpty {
      throw ValidationError("no check matches --filter \(filter.debugDescription); try hinix conform --list")
    }
  }

  func run() throws {
    if list {
      // A listing is not a run: on standard output it fails as every tool's
      // output does (exit 1 with one line, none for a closed pipe).
      if output == nil { try StandardOutput.emit(listing()) } else { try emit(listing(), to: try openOutput()) }
      return
    }
    // The report's destination is opened before the run, so a path that
    // cannot be written is said at once, not after every check has run.
    let destination = try openOutput()
    // First, while the process has one thread: the private namespaces.
    let reason = enterPrivateNamespaces()
    // Workers run only under this harness, inside its namespaces and deadlines.
    setenv(ConformanceWorker.harnessVariable, "\(getpid())", 1)
    if reason != nil {
      // Not namespaced: queues live in the host's namespace. Journal their
      // names, and remove what earlier runs that were killed left behind.
      let (journal, problem) = QueueJournal.prepare()
      if let journal {
        setenv(QueueJournal.variable, journal, 1)
        let removed = QueueJournal.sweep(journal)
        if !removed.isEmpty {
          StandardError.print(
            "hinix conform: removed \(removed.count) queue\(removed.count == 1 ? "" : "s") left by an earlier run that was killed: \(removed.joined(separator: " "))")
        }
      } else if let problem {
        StandardError.print("hinix conform: \(problem)")
      }
    }
    let checks = Registry.checks(matching: filter)
    let clock = ContinuousClock()
    let start = clock.now
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    let runner = ConformanceRunner(checks: checks, jobs: jobs, timeout: timeout)
    let results = runner.run { result, done, total in
      guard !quiet else { return }
      let mark = result.verdict == "pass" ? "" : "  \(result.detail ?? "")"
      StandardError.print("[\(done)/\(total)] \(result.ids.joined(separator: ",")) \(result.verdict)\(mark)")
    }
    if reason != nil, let journal = getenv(QueueJournal.variable).map({ String(cString: $0) }) {
      // Checks killed at their deadline could not unlink their queues.
      let removed = QueueJournal.sweep(journal)
      if !removed.isEmpty {
        StandardError.print(
          "hinix conform: removed \(removed.count) queue\(removed.count == 1 ? "" : "s") left by checks killed at their deadline: \(removed.joined(separator: " "))")
      }
    }
    let elapsed = start.duration(to: clock.now)
    let report = ConformanceReport(
      host: .current(namespaced: reason == nil, note: reason),
      started: Double(now.tv_sec) + Double(now.tv_nsec) / 1e9,
      seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18,
      results: results, uncovered: Registry.uncoveredRows)
    switch format {
    case .text: try emit(report.text(), to: destination)
    case .json: try emit(report.json(), to: destination)
    case .tap: try emit(report.tap(), to: destination)
    case .junit: try emit(report.junit(), to: destination)
    }
    if report.exitStatus != 0 { throw ExitCode(report.exitStatus) }
  }

  private func listing() throws -> String {
    let checks = Registry.checks(matching: filter)
    switch format {
    case .json:
      struct Entry: Encodable {
        var ids: [String], source: String, clause: String, kernelDiffers: Bool, needs: [String], deadlineSeconds: Int64
      }
      struct Listing: Encodable {
        var checks: [Entry]
        var uncovered: [CatalogRow]
        var uncoveredReason = "no check covers this row yet"
      }
      let entries = checks.map {
        Entry(ids: $0.ids, source: $0.source, clause: $0.clause, kernelDiffers: $0.kernelDiffers,
          needs: $0.needs.map(\.rawValue).sorted(), deadlineSeconds: $0.deadline.components.seconds)
      }
      return try jsonLine(Listing(checks: entries, uncovered: Registry.uncoveredRows)) + "\n"
    default:
      var out = ""
      for check in checks {
        out += "\(check.ids.joined(separator: ","))  [\(check.source)]\(check.kernelDiffers ? " ⚠" : "")\n    \(check.clause)\n"
      }
      let uncovered = Registry.uncoveredRows
      out += "\n\(checks.count) checks covering \(Set(checks.flatMap(\.ids)).count) catalog IDs; \(uncovered.count) rows not covered yet:\n"
      out += uncovered.map(\.id).joined(separator: " ") + "\n"
      return out
    }
  }

  /// Opens `--output` for writing (created if missing, not yet truncated),
  /// or returns standard output (1).
  ///
  /// - Throws: Exit status 2, after one line on standard error, when the file cannot be opened.
  private func openOutput() throws -> CInt {
    guard let output else { return 1 }
    let fd = open(output, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
    guard fd >= 0 else {
      StandardError.print("hinix conform: cannot write the report to \(output.debugDescription): \(Errno(rawValue: errno).description)")
      throw ExitCode(2)
    }
    return fd
  }

  /// Writes the report to `fd` (standard output or the `--output` file, which
  /// is truncated first and closed after). Any failed write, or a failed
  /// close, fails the command: a report that was lost must not look written.
  private func emit(_ text: String, to fd: CInt) throws {
    let what = output.map { $0.debugDescription } ?? "standard output"
    var failed: Errno?
    if fd != 1 && ftruncate(fd, 0) != 0 { failed = Errno(rawValue: errno) }
    if failed == nil { failed = StandardOutput.writeReportingError(Array(text.utf8), to: fd) }
    if fd != 1 && close(fd) != 0 && failed == nil { failed = Errno(rawValue: errno) }
    if let failed {
      StandardError.print("hinix conform: writing the report to \(what) failed: \(failed.description)")
      throw ExitCode(2)
    }
  }
}

/// The hidden worker: runs one check, or one of its helper roles, in this process.
struct ConformWorker: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "__conform-worker", abstract: "Runs one conformance check (used by hinix conform).",
    shouldDisplay: false)

  /// `CHECK` or `CHECK --role ROLE [ARGUMENT...]`, as the harness writes them.
  @Argument(parsing: .captureForPassthrough) var words: [String] = []

  func run() throws {
    guard getenv(ConformanceWorker.harnessVariable) != nil else {
      throw ValidationError("__conform-worker is internal to hinix conform; run hinix conform --filter ID instead")
    }
    guard let check = words.first else { throw ValidationError("the worker needs a check's name") }
    if words.count >= 3 && words[1] == "--role" {
      ConformanceWorker.main(check: check, role: words[2], arguments: Array(words.dropFirst(3)))
    }
    ConformanceWorker.main(check: check, role: nil, arguments: [])
  }
}
