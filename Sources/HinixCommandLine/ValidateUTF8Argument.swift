import ArgumentParser

#if canImport(Glibc)
  import Glibc
#endif

/// Checks that the command-line argument ArgumentParser parsed as `argument`
/// was valid UTF-8.
///
/// An argument that is not UTF-8 reaches ArgumentParser as a stand-in (see
/// ``RawArguments``), and Swift's own `CommandLine.arguments` would have
/// replaced its invalid bytes with U+FFFD: either way, a message taken from
/// it would not be the bytes that were given.
///
/// - Parameters:
///   - argument: The argument as ArgumentParser parsed it.
///   - label: What the argument is, such as `MESSAGE`.
///   - advice: What to do instead.
/// - Throws: `ValidationError` (exit status 64) if the argument was not UTF-8.
public func validateUTF8Argument(_ argument: String, _ label: String, advice: String) throws {
  if RawArguments.current.isStandIn(argument) {
    throw ValidationError("\(label) is not valid UTF-8, so it cannot be used as given; \(advice)")
  }
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
