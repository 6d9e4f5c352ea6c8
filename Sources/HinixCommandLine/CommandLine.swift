import ArgumentParser
import FoundationEssentials
import Hinix
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

// MARK: - Parsing arguments

/// Parses a queue name as typed on the command line, adding a leading `/`
/// when it is missing, as hinix's `mqsend` and `mqrecv` do.
///
/// The name is the exact bytes of the argument, which need not be UTF-8:
/// `text` is the argument as ArgumentParser parsed it from
/// ``RawArguments/arguments``, and ``RawArguments/bytes(of:)`` gives its bytes.
///
/// - Throws: `ValidationError` (exit status 64) saying what is wrong with the name.
public func parseQueueName(_ text: String) throws -> MsgQueueName {
  let bytes = try RawArguments.current.bytes(of: text)
  do {
    return try MsgQueueName(addingSlashTo: bytes)
  } catch {
    throw ValidationError(
      "invalid queue name \"\(MsgQueueName.printable(bytes))\": \(error.detail ?? error.description)")
  }
}

/// Parses a timeout in seconds ("2", "0.25") into a `Duration`.
///
/// - Throws: `ValidationError` for a negative, non-finite or non-numeric value.
public func parseTimeout(_ text: String, option: String = "--timeout") throws -> Duration {
  guard let seconds = Double(text), seconds.isFinite, seconds >= 0, seconds <= 1e9 else {
    throw ValidationError("\(option) takes a number of seconds from 0 to 1e9, such as 2 or 0.25; got \(text.debugDescription)")
  }
  return .nanoseconds(Int64((seconds * 1e9).rounded()))
}

/// Parses an octal file mode ("600", "0640", "0o644") into permissions.
///
/// - Throws: `ValidationError` for anything but an octal number up to 0777.
public func parseMode(_ text: String, option: String = "--mode") throws -> FilePermissions {
  var digits = Substring(text)
  if digits.hasPrefix("0o") { digits = digits.dropFirst(2) }
  guard !digits.isEmpty, let value = UInt16(digits, radix: 8), value <= 0o777 else {
    throw ValidationError("\(option) takes an octal mode from 000 to 777, such as 600 or 640; got \(text.debugDescription)")
  }
  return FilePermissions(rawValue: CModeT(value))
}

/// Checks a priority against `MQ_PRIO_MAX`.
///
/// - Throws: `ValidationError` for a priority of 32768 or more.
public func validatePriority(_ priority: UInt32, option: String = "--priority") throws {
  guard priority < MsgQueue.priorityLimit else {
    throw ValidationError("\(option) must be less than \(MsgQueue.priorityLimit) (MQ_PRIO_MAX); got \(priority)")
  }
}

// MARK: - Reporting

/// Standard error, for one-line diagnostics.
public enum StandardError {
  /// Writes `line` and a newline to standard error, with any control
  /// character in it but tab and newline escaped as `\xNN` (names and
  /// messages in it should be escaped already; this is the last guard, so
  /// that an error message can never drive the terminal).
  public static func print(_ line: String) {
    let bytes = Array((PrintableText.escaping(Array(line.utf8), .line) + "\n").utf8)
    _ = StandardOutput.write(bytes, to: 2)
  }
}

/// Standard output, written with write(2) so that bytes pass through exactly.
///
/// A failed write to standard output (descriptor 1) is remembered: a tool
/// that prints its result and returns still exits with status 1, saying
/// what failed (see ``firstError`` and ``OneLineErrorCommand``), rather than
/// 0 for output that was lost on a full disk or a closed pipe.
public enum StandardOutput {
  /// The errno of the first write to standard output that failed, or 0.
  private static let failedErrno = Atomic<CInt>(0)

  /// What the first failed write to standard output failed with, if one failed.
  public static var firstError: Errno? {
    let code = failedErrno.load(ordering: .relaxed)
    return code == 0 ? nil : Errno(rawValue: code)
  }

  /// Writes all of `bytes` to standard output.
  ///
  /// - Returns: `false` if the write failed (for example `EPIPE` when the reader went away).
  @discardableResult
  public static func write(_ bytes: some Collection<UInt8>, to fd: CInt = 1) -> Bool {
    writeReportingError(bytes, to: fd) == nil
  }

  /// Writes all of `bytes`, and returns the error that stopped the write, if any
  /// (for example `EPIPE` when the reader went away).
  public static func writeReportingError(_ bytes: some Collection<UInt8>, to fd: CInt = 1) -> Errno? {
    let error: Errno? = Array(bytes).withUnsafeBytes { buffer in
      var offset = 0
      while offset < buffer.count {
        let count = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
        if count < 0 {
          if errno == EINTR { continue }
          return Errno(rawValue: errno)
        }
        offset += count
      }
      return nil
    }
    if let error, fd == 1 {
      _ = failedErrno.compareExchange(expected: 0, desired: error.rawValue, ordering: .relaxed)
    }
    return error
  }

  /// Writes a string to standard output.
  @discardableResult
  public static func write(_ text: String) -> Bool { write(Array(text.utf8)) }

  /// Writes `text` to standard output, or throws what stopped the write.
  ///
  /// - Throws: ``StandardOutputError``.
  public static func emit(_ text: String) throws {
    if let error = writeReportingError(Array(text.utf8)) { throw StandardOutputError(errno: error) }
  }

  /// Flushes the C library's output buffers (what Swift's `print` wrote), and
  /// returns the first error any write to standard output met, if one did.
  public static func finish() -> Errno? {
    errno = 0
    if fflush(nil) != 0 {
      let code = errno == 0 ? EIO : errno
      _ = failedErrno.compareExchange(expected: 0, desired: code, ordering: .relaxed)
    }
    return firstError
  }

  /// Makes a write to a pipe nobody reads fail with `EPIPE` instead of
  /// killing the process with `SIGPIPE`, so that the tool exits with its own
  /// status. Children spawned with default signal handling
  /// (`POSIX_SPAWN_SETSIGDEF`, as hinix's are) are not affected.
  public static func ignoreBrokenPipe() {
    signal(SIGPIPE, SIG_IGN)
  }
}

/// Prints `tool: <what failed>` on one line to standard error and returns
/// the exit code for an operation that failed (1).
///
/// Standard output closed by its reader (``StandardOutputError`` with
/// `EPIPE`) prints nothing: whoever reads the output has gone, and only the
/// exit status tells.
public func failure(_ tool: String, _ error: any Error) -> ExitCode {
  if let error = error as? StandardOutputError, error.errno == .brokenPipe { return .failure }
  let text = (error as? HinixError)?.description ?? String(describing: error)
  StandardError.print("\(tool): \(text.split(separator: "\n").joined(separator: " "))")
  return .failure
}

/// Prints `tool: message` on one line to standard error and returns exit code 1.
public func failure(_ tool: String, message: String) -> ExitCode {
  StandardError.print("\(tool): \(message)")
  return .failure
}

// MARK: - Rendering messages

/// How a received message is printed.
public enum MessageFormat: String, ExpressibleByArgument, CaseIterable, Sendable {
  /// The message as text, with bytes that are not printable UTF-8 escaped as `\xNN`.
  case text
  /// The bytes as lowercase hex pairs separated by spaces.
  case hex
  /// One JSON object per line: priority, length, the bytes in base64 and, when
  /// they are valid UTF-8, the text.
  case json
}

/// The message as printable text: valid UTF-8 is kept, except that control
/// characters other than tab and newline, invalid bytes and backslash are
/// escaped (`\xNN`, `\\`), so a terminal never receives raw control bytes.
/// Queue names are shown the same way, with tab and newline escaped too
/// (``MsgQueueName/description``).
public func printableText(_ bytes: [UInt8]) -> String {
  PrintableText.escaping(bytes, .keepingTabAndNewline)
}

/// The bytes as lowercase hex pairs separated by spaces.
public func hexString(_ bytes: [UInt8]) -> String {
  bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: " ")
}

/// A received message as a JSON line.
public struct MessageRecord: Codable, Sendable, Equatable {
  /// The message's priority.
  public var priority: UInt32
  /// The message's length in bytes.
  public var length: Int
  /// The bytes, base64-encoded.
  public var base64: String
  /// The bytes as text, when they are valid UTF-8.
  public var text: String?

  /// Describes a message.
  public init(bytes: [UInt8], priority: UInt32) {
    self.priority = priority
    self.length = bytes.count
    self.base64 = Data(bytes).base64EncodedString()
    self.text = String(validating: bytes, as: UTF8.self)
  }
}

/// Encodes a value as one line of JSON with sorted keys.
///
/// Besides the control characters that JSON itself escapes (`\u001b`), the
/// line escapes DEL, the C1 controls and the characters that reorder text
/// (see ``MsgQueueName/description``) as `\uXXXX`, so that printing it on a
/// terminal is safe too; a JSON parser reads the same strings either way.
public func jsonLine(_ value: some Encodable) throws -> String {
  let encoder = JSONEncoder()
  encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
  let text = String(decoding: try encoder.encode(value), as: UTF8.self)
  // Outside strings, JSON is ASCII: these scalars can only be inside strings.
  var line = ""
  for scalar in text.unicodeScalars {
    switch scalar.value {
    case 0x7F...0x9F, 0x061C, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069, 0x2028, 0x2029:
      let hex = String(scalar.value, radix: 16)
      line += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
    default:
      line.unicodeScalars.append(scalar)
    }
  }
  return line
}
