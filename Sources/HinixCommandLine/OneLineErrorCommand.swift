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
/// `tool: <what is wrong> (see 'tool --help')` instead, naming the subcommand
/// too (`hinix mq stat: …`), and exits with 64, so a
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

  /// The tool's name and the subcommands named in `arguments`: `hinix mq stat`.
  public static func commandPath(_ arguments: ArraySlice<String>) -> String {
    var command: ParsableCommand.Type = Self.self
    var words = [toolName]
    for argument in arguments {
      let next = command.configuration.subcommands.first {
        $0.configuration.commandName == argument || $0.configuration.aliases.contains(argument)
      }
      guard let next, let name = next.configuration.commandName else { break }
      command = next
      words.append(name)
    }
    return words.joined(separator: " ")
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
      if code == .success {
        // --help, --version: printed to stdout, and a failed write fails the command.
        var text = fullMessage(for: error)
        if !text.hasSuffix("\n") { text += "\n" }
        if let failed = StandardOutput.writeReportingError(Array(text.utf8)) {
          StandardError.print("\(commandPath(CommandLine.arguments.dropFirst())): writing to standard output failed: \(failed)")
          Glibc.exit(ExitCode.failure.rawValue)
        }
        Glibc.exit(0)
      }
      let path = commandPath(CommandLine.arguments.dropFirst())
      var line =
        "\(path): " + message(for: error).split(whereSeparator: \.isNewline).joined(separator: " ")
      if code == .validationFailure { line += " (see '\(path) --help')" }
      StandardError.print(line)
      Glibc.exit(code.rawValue)
    }
  }
}
