import ArgumentParser
import FoundationEssentials
import Hinix

#if canImport(Glibc)
  import Glibc
#endif

// MARK: - Parsing arguments

/// Parses a queue name as typed on the command line, adding a leading `/`
/// when it is missing, as hinix's `mqsend` and `mqrecv` do.
///
/// - Throws: `ValidationError` (exit status 64) saying what is wrong with the name.
public func parseQueueName(_ text: String) throws -> MsgQueueName {
  do {
    return try MsgQueueName(addingSlashTo: text)
  } catch {
    throw ValidationError("invalid queue name \(text.debugDescription): \(error.detail ?? error.description)")
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
  /// Writes `line` and a newline to standard error.
  public static func print(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    _ = StandardOutput.write(bytes, to: 2)
  }
}

/// Standard output, written with write(2) so that bytes pass through exactly.
public enum StandardOutput {
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
    Array(bytes).withUnsafeBytes { buffer in
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
  }

  /// Writes a string to standard output.
  @discardableResult
  public static func write(_ text: String) -> Bool { write(Array(text.utf8)) }
}

/// Prints `tool: <what failed>` on one line to standard error and returns
/// the exit code for an operation that failed (1).
public func failure(_ tool: String, _ error: any Error) -> ExitCode {
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
public func printableText(_ bytes: [UInt8]) -> String {
  var out = ""
  var index = 0
  while index < bytes.count {
    let byte = bytes[index]
    if byte == UInt8(ascii: "\\") {
      out += "\\\\"
      index += 1
      continue
    }
    if byte < 0x80 {
      if byte >= 0x20 && byte != 0x7F || byte == 0x09 || byte == 0x0A {
        out.unicodeScalars.append(Unicode.Scalar(byte))
      } else {
        out += hexEscape(byte)
      }
      index += 1
      continue
    }
    // A multi-byte sequence: keep it if it decodes to one valid, printable scalar.
    let length = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 0
    if length > 0, index + length <= bytes.count,
      let scalar = String(validating: bytes[index..<index + length], as: UTF8.self)?.unicodeScalars.first,
      !(0x80...0x9F).contains(scalar.value)
    {
      out.unicodeScalars.append(scalar)
      index += length
    } else {
      out += hexEscape(byte)
      index += 1
    }
  }
  return out
}

private func hexEscape(_ byte: UInt8) -> String {
  "\\x" + (byte < 16 ? "0" : "") + String(byte, radix: 16)
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
public func jsonLine(_ value: some Encodable) throws -> String {
  let encoder = JSONEncoder()
  encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
  return String(decoding: try encoder.encode(value), as: UTF8.self)
}
