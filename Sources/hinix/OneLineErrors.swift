import ArgumentParser
import HinixCommandLine

#if canImport(Glibc)
  import Glibc
#endif

extension HinixCommand {
  /// Parses the command line, runs the command and exits, like
  /// ArgumentParser's `main()`, except that a usage error is one line on
  /// standard error that names the subcommand:
  /// `hinix mq stat: <what is wrong> (see 'hinix mq stat --help')`, exit status 64.
  ///
  /// A command reports its own failures with ``failure(_:_:)`` and throws the
  /// `ExitCode` it returns; that ends the process with nothing more printed.
  /// Help requests print to standard output as usual.
  static func main() {
    do {
      var command = try parseAsRoot()
      try command.run()
    } catch let code as ExitCode {
      Glibc.exit(code.rawValue)
    } catch {
      let code = exitCode(for: error)
      if code == .success { exit(withError: error) }
      let path = commandPath(CommandLine.arguments.dropFirst())
      var line = "\(path): " + message(for: error).split(whereSeparator: \.isNewline).joined(separator: " ")
      if code == .validationFailure { line += " (see '\(path) --help')" }
      StandardError.print(line)
      Glibc.exit(code.rawValue)
    }
  }

  /// The words of `arguments` that name subcommands, after `hinix`: `hinix mq stat`.
  static func commandPath(_ arguments: ArraySlice<String>) -> String {
    var command: ParsableCommand.Type = HinixCommand.self
    var words = ["hinix"]
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
}
