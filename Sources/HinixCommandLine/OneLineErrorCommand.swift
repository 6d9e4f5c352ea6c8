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
/// version requests print to standard output as ArgumentParser's do, and a
/// run whose standard output could not be written exits with 1 (see
/// ``main()``).
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
  ///
  /// The arguments are parsed from ``RawArguments``, so that a queue name
  /// reaches the command byte for byte; an argument that is not UTF-8 and
  /// is not read as a name is refused, and error messages show such
  /// arguments escaped. Help and version text is written with write(2).
  /// If any write to standard output failed, a run that would
  /// have exited with 0 exits with 1 instead, after one line naming the
  /// errno (`No space left on device (ENOSPC)`); for `EPIPE`, the reader of
  /// standard output has gone, and the line is left out.
  public static func main() {
    StandardOutput.ignoreBrokenPipe()
    let raw = RawArguments.current
    do {
      var command = try parseAsRoot(raw.arguments)
      try raw.checkEveryStandInRead()
      try command.run()
    } catch let code as ExitCode {
      exitChecking(code)
    } catch let error as StandardOutputError {
      // Output a command wrote itself (as --help's is): one line, none for EPIPE.
      Glibc.exit(failure(commandPath(raw.arguments[...]), error).rawValue)
    } catch {
      let code = exitCode(for: error)
      if code == .success {  // --help, --version
        let text = fullMessage(for: error)
        if !text.isEmpty { StandardOutput.write(text + "\n") }
        exitChecking(code)
      }
      let path = commandPath(raw.arguments[...])
      var line =
        "\(path): "
        + raw.printable(message(for: error)).split(whereSeparator: \.isNewline).joined(separator: " ")
      if code == .validationFailure { line += " (see '\(path) --help')" }
      StandardError.print(line)
      Glibc.exit(code.rawValue)
    }
    exitChecking(.success)
  }

  /// Exits with `code`, or with 1 after saying so if `code` is 0 and a write
  /// to standard output failed.
  private static func exitChecking(_ code: ExitCode) -> Never {
    if code == .success, let error = StandardOutput.finish() {
      _ = failure(commandPath(RawArguments.current.arguments[...]), StandardOutputError(errno: error))
      Glibc.exit(ExitCode.failure.rawValue)
    }
    Glibc.exit(code.rawValue)
  }
}
