import ArgumentParser
import Hinix

#if canImport(Glibc)
  import Glibc
#endif

/// How `mqrecv` writes each message it receives to standard output.
public enum RecvOutput: Sendable, Hashable {
  /// The message's exact bytes and nothing else (`--raw`).
  case raw
  /// One line per message in `format`, prefixed by the priority and a tab if
  /// `priority` (JSON always includes the priority).
  case formatted(MessageFormat, priority: Bool)

  /// The bytes that stand for `message` on standard output.
  public func render(_ message: MsgQueue.Message) throws -> [UInt8] {
    switch self {
    case .raw:
      return message.bytes
    case .formatted(.json, _):
      return Array(
        (try jsonLine(MessageRecord(bytes: message.bytes, priority: message.priority)) + "\n").utf8)
    case .formatted(let format, let priority):
      let prefix = priority ? "\(message.priority)\t" : ""
      let body = format == .hex ? hexString(message.bytes) : printableText(message.bytes)
      return Array((prefix + body + "\n").utf8)
    }
  }

  /// Renders `message` and writes it to standard output at once, unbuffered.
  ///
  /// - Throws: `ExitCode.failure`, having printed nothing, when the reader of
  ///   standard output has gone (`EPIPE`; call ``ignoreBrokenPipe()`` first so
  ///   that the write fails instead of the process being killed).
  ///   ``StandardOutputError`` when the write failed for another reason.
  public func write(_ message: MsgQueue.Message) throws {
    guard let error = StandardOutput.writeReportingError(try render(message)) else { return }
    if error == .brokenPipe { throw ExitCode.failure }
    throw StandardOutputError(errno: error)
  }

  /// Makes a write to a pipe nobody reads fail with `EPIPE` instead of killing
  /// the process with `SIGPIPE` (``StandardOutput/ignoreBrokenPipe()``).
  public static func ignoreBrokenPipe() {
    StandardOutput.ignoreBrokenPipe()
  }
}

/// Standard output could not be written.
public struct StandardOutputError: Error, Hashable, CustomStringConvertible {
  /// What `write(2)` failed with.
  public var errno: Errno

  /// `cannot write to standard output: No space left on device (ENOSPC)`.
  public var description: String {
    "cannot write to standard output: \(errno.description) (\(errno.symbolicName))"
  }
}
