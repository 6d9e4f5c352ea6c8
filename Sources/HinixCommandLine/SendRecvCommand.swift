import ArgumentParser

#if canImport(Glibc)
  import Glibc
#endif

/// A command-line tool whose every failure, usage errors included, is one line
/// on standard error that starts with the tool's name.
///
/// ArgumentParser's own `main()` reports a usage error in three lines (the
/// error, the usage synopsis and a pointer to `--help`), without the tool's
/// name. A conforming command gets a `main()` that prints
/// `tool: <what is wrong> (see 'tool --help')` instead and exits with 64, so a
/// script can rely on one line per failure whatever went wrong. Help and
/// version requests behave as ArgumentParser's do.
///
/// `run()` reports its own failures with ``failure(_:_:)`` and throws the
/// `ExitCode` it returns; `main()` exits with that code and prints nothing more.
public protocol OneLineErrorCommand: ParsableCommand {}

extension OneLineErrorCommand {
  /// The name that starts every line the tool prints on standard error.
  public static var toolName: String {
    configuration.commandName ?? String(describing: Self.self).lowercased()
  }

  /// Parses the command line, runs the command, and exits: with the code
  /// `run()` threw, 64 for a usage error, or 0.
  public static func main() {
    do {
      var command = try parseAsRoot()
      try command.run()
    } catch let code as ExitCode {
      Glibc.exit(code.rawValue)
    } catch {
      let code = exitCode(for: error)
      if code == .success { exit(withError: error) }  // --help, --version: printed to stdout
      var line =
        "\(toolName): "
        + message(for: error).split(whereSeparator: \.isNewline).joined(separator: " ")
      if code == .validationFailure { line += " (see '\(toolName) --help')" }
      StandardError.print(line)
      Glibc.exit(code.rawValue)
    }
  }
}

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
