import ArgumentParser
import Hinix
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// The command line as the tool was given it, byte for byte.
///
/// Swift's `CommandLine.arguments`, which ArgumentParser parses by default,
/// replaces bytes that are not valid UTF-8 with U+FFFD: `$'/r\xff'` would
/// become `/r\u{FFFD}`, the name of *another* queue. So the tools parse
/// ``arguments`` instead, in which every argument that is not valid UTF-8
/// is replaced by a stand-in: a string that no one types (it holds a
/// private-use character and a random number), unique to its argument. A
/// queue name is then read with ``bytes(of:)``, which turns a stand-in back
/// into the exact bytes of its argument, wherever ArgumentParser placed it
/// (a positional argument, an option's value, after `--`). An argument that
/// is valid UTF-8 is given as it is, and its `String` holds exactly its bytes.
///
/// A stand-in that nothing reads with ``bytes(of:)`` (a non-UTF-8 value for
/// an argument that must be text) is refused by ``checkEveryStandInRead()``,
/// and error messages show each stand-in as the printable text of its bytes
/// (``printable(_:)``).
public final class RawArguments: Sendable {
  /// This process's arguments, from the C `argv` (`CommandLine.unsafeArgv`).
  public static let current: RawArguments = {
    let count = Int(CommandLine.argc)
    let argv = CommandLine.unsafeArgv
    let raw = (1..<max(count, 1)).map { index -> [UInt8] in
      guard let pointer = argv[index] else { return [] }
      return Array(UnsafeRawBufferPointer(start: pointer, count: strlen(pointer)))
    }
    return RawArguments(raw)
  }()

  /// The arguments (without the program's name) to parse, with a stand-in
  /// for each argument, or option value after `=`, that is not valid UTF-8.
  public let arguments: [String]

  /// Each stand-in and the bytes it stands for.
  private let standIns: [String: [UInt8]]
  /// How the arguments that were left in place (options, which start with
  /// `-`) look after Swift's lossy decoding, when they are not UTF-8.
  private let lossyOptions: Set<String>
  /// The stand-ins that ``bytes(of:)`` has read.
  private let read = Mutex<Set<String>>([])

  /// Prepares `raw`, the arguments without the program's name, for parsing.
  public init(_ raw: [[UInt8]]) {
    let nonce = String(UInt64.random(in: 0 ... .max), radix: 36)
    var standIns: [String: [UInt8]] = [:]
    var lossyOptions: Set<String> = []
    var arguments: [String] = []
    var afterTerminator = false
    for (index, bytes) in raw.enumerated() {
      if let text = String(validating: bytes, as: UTF8.self) {
        arguments.append(text)
        if text == "--" { afterTerminator = true }
        continue
      }
      let standIn = "\u{F8FF}hinix-argument-\(index + 1)-\(nonce)\u{F8FF}"
      if afterTerminator || bytes.first != UInt8(ascii: "-") {
        standIns[standIn] = bytes
        arguments.append(standIn)
      } else if bytes.starts(with: Array("--".utf8)), let equals = bytes.firstIndex(of: UInt8(ascii: "=")),
        let option = String(validating: bytes[...equals], as: UTF8.self)
      {
        // --option=VALUE: ArgumentParser splits it; the value gets the stand-in.
        standIns[standIn] = Array(bytes[(equals + 1)...])
        arguments.append(option + standIn)
      } else {
        // An option's name (or a short option with its value attached) that
        // is not UTF-8: it names no option, so ArgumentParser rejects it.
        let lossy = String(decoding: bytes, as: UTF8.self)
        lossyOptions.insert(lossy)
        arguments.append(lossy)
      }
    }
    self.arguments = arguments
    self.standIns = standIns
    self.lossyOptions = lossyOptions
  }

  /// The exact bytes of `argument`, a value ArgumentParser parsed from ``arguments``.
  ///
  /// - Throws: `ValidationError` if `argument` is the lossy decoding of an
  ///   argument that was not UTF-8 (an option-like argument, not replaced
  ///   by a stand-in), whose bytes are then unknown.
  public func bytes(of argument: String) throws -> [UInt8] {
    if let bytes = standIns[argument] {
      read.withLock { _ = $0.insert(argument) }
      return bytes
    }
    if lossyOptions.contains(argument) {
      throw ValidationError(
        "the argument \"\(MsgQueueName.printable(Array(argument.utf8)))\" is not valid UTF-8 and starts with \"-\";"
          + " put it after \"--\" to give its bytes")
    }
    return Array(argument.utf8)
  }

  /// Whether `argument` is a stand-in for an argument that is not valid UTF-8.
  public func isStandIn(_ argument: String) -> Bool { standIns[argument] != nil }

  /// Checks that every argument that is not valid UTF-8 was read as bytes,
  /// by a queue name: any other argument must be text.
  ///
  /// - Throws: `ValidationError` naming the first argument that was not.
  public func checkEveryStandInRead() throws {
    let read = read.withLock { $0 }
    for argument in arguments where standIns[argument] != nil && !read.contains(argument) {
      throw ValidationError(
        "the argument \"\(printable(argument))\" is not valid UTF-8; only a queue name may be any bytes")
    }
  }

  /// `text` with every stand-in in it replaced by the printable text of the
  /// bytes it stands for (``MsgQueueName/description``'s escapes), for
  /// ArgumentParser's error messages, which quote arguments.
  public func printable(_ text: String) -> String {
    guard !standIns.isEmpty, text.contains("\u{F8FF}") else { return text }
    var result = text
    for (standIn, bytes) in standIns {
      result = result.replacing(standIn, with: MsgQueueName.printable(bytes))
    }
    return result
  }
}
