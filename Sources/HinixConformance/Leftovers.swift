// Queues left behind by an unprivileged run that was killed.
//
// As root the run works in a private IPC namespace, whose queues vanish with
// it. An unprivileged run cannot have one, so its queues live in the host's
// namespace, charged to the user's RLIMIT_MSGQUEUE: if the run is killed
// (SIGKILL, SIGINT) mid-check, the queue names its workers made stay. So each
// worker of such a run records every queue name before it is created, in a
// journal file named after its PID in a directory of the user's own; it
// removes the file when its check ends. The next run removes the queues of
// every journal whose worker is dead, and says so.

import CHinix
import Hinix

#if canImport(Glibc)
  import Glibc
#endif

/// The journals of queue names that unprivileged runs keep, and the sweep of
/// what killed runs left.
public enum QueueJournal {
  /// Set by the harness for its workers to the journal directory, only when
  /// the run is not in a private IPC namespace.
  public static let variable = "HINIX_CONFORM_JOURNAL"

  /// The journal directory for this user, `/tmp/hinix-conform-uid<UID>`,
  /// created mode 0700 if missing.
  ///
  /// - Returns: The path, or `nil` with the reason when it is not a directory
  ///   of this user's that no one else may write (then nothing is journalled).
  public static func prepare() -> (path: String?, problem: String?) {
    let path = "/tmp/hinix-conform-uid\(getuid())"
    if mkdir(path, 0o700) != 0 && errno != EEXIST {
      return (nil, "cannot create \(path): \(Errno(rawValue: errno))")
    }
    var info = stat()
    guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR, info.st_uid == getuid(),
      info.st_mode & 0o022 == 0
    else {
      return (nil, "\(path) is not a directory of uid \(getuid()) that only it may write; queue names are not journalled")
    }
    return (path, nil)
  }

  /// Records `name` in this worker's journal, when the harness asked for one.
  static func record(_ name: String) {
    guard let directory = getenv(variable).map({ String(cString: $0) }) else { return }
    let fd = open("\(directory)/\(getpid()).queues", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0o600)
    guard fd >= 0 else { return }
    defer { close(fd) }
    let bytes = Array((name + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
  }

  /// Removes this worker's journal once its queues are unlinked.
  static func removeOwn() {
    guard let directory = getenv(variable).map({ String(cString: $0) }) else { return }
    unlink("\(directory)/\(getpid()).queues")
  }

  /// Unlinks the queues named in the journals of workers that are no longer
  /// running, and removes those journals. Only names of this project's
  /// pattern for that worker (`/hxc-<PID>-…`) are unlinked.
  ///
  /// - Returns: The queues removed.
  public static func sweep(_ directory: String) -> [String] {
    guard let handle = opendir(directory) else { return [] }
    defer { closedir(handle) }
    var removed: [String] = []
    while let entry = readdir(handle) {
      let file = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
      guard file.hasSuffix(".queues"), let pid = pid_t(file.dropLast(".queues".count)), pid > 0 else { continue }
      guard !isRunningWorker(pid) else { continue }
      let path = "\(directory)/\(file)"
      let prefix = "/hxc-\(pid)-"
      for name in (readSmallFile(path) ?? "").split(separator: "\n").map(String.init)
      where name.hasPrefix(prefix) && !name.dropFirst().contains("/") {
        if CHinix_mq_unlink(name) == 0 { removed.append(name) }
      }
      unlink(path)
    }
    return removed.sorted()
  }

  /// Whether `pid` is a conformance worker that has not exited: a zombie not
  /// yet reaped, or a PID now used by another program, is not.
  private static func isRunningWorker(_ pid: pid_t) -> Bool {
    guard kill(pid, 0) == 0 || errno == EPERM else { return false }
    guard let stat = readSmallFile("/proc/\(pid)/stat"),
      let state = stat.split(separator: ")").last?.split(separator: " ").first, state != "Z", state != "X"
    else { return false }
    let fd = open("/proc/\(pid)/cmdline", O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return true }
    defer { close(fd) }
    var buffer = [UInt8](repeating: 0, count: 4096)
    let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    return String(decoding: buffer[..<max(count, 0)], as: UTF8.self).contains("__conform-worker")
  }
}
