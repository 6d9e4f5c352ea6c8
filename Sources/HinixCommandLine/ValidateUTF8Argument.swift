import ArgumentParser

#if canImport(Glibc)
  import Glibc
#endif

/// Checks that the command-line argument Swift decoded as `argument` was valid UTF-8.
///
/// Swift's `CommandLine.arguments`, which ArgumentParser parses, replaces
/// invalid UTF-8 with U+FFFD. A queue name or a message taken from such an
/// argument would not be the bytes that were given: another queue, another
/// message, without a word.
///
/// - Parameters:
///   - argument: The argument as ArgumentParser parsed it.
///   - label: What the argument is, such as `MESSAGE`.
///   - advice: What to do instead.
/// - Throws: `ValidationError` (exit status 64) if the argument was not UTF-8.
public func validateUTF8Argument(_ argument: String, _ label: String, advice: String) throws {
  guard argument.unicodeScalars.contains("\u{FFFD}") else { return }
  let repaired = (1..<Int(CommandLine.argc)).contains { index in
    guard let raw = CommandLine.unsafeArgv[index] else { return false }
    let bytes = UnsafeRawBufferPointer(start: raw, count: strlen(raw))
    return String(validating: bytes, as: UTF8.self) == nil
      && String(decoding: bytes, as: UTF8.self) == argument
  }
  if repaired {
    throw ValidationError("\(label) is not valid UTF-8, so it cannot be used as given; \(advice)")
  }
}
