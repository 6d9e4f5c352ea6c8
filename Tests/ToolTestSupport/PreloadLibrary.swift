import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

// The LD_PRELOAD libraries the tests load into the tools (the fault library,
// the clock stepper) are test fixtures, not products of the package: a
// package that depends on Hinix must not see them. They are plain C files
// under Tests/, compiled here into shared objects beside the test binary the
// first time a test asks for one, with the C compiler the machine has (`cc`;
// gcc on Debian). A compile failure is a thrown error that says what failed.

/// The repository's root, from this file's path (Tests/ToolTestSupport/…).
private let repositoryRoot: String = {
  var path = #filePath
  for _ in 0 ..< 3 { path = directory(of: path) }
  return path
}()

/// The shared objects built so far in this process, by name.
private let built = Mutex<[String: Result<String, ToolRunError>]>([:])

/// Builds (once per test process) `lib<name>.so` from the C file `source`,
/// a path relative to the repository root, into the directory that holds the
/// built tools, and returns its absolute path.
///
/// - Throws: ``ToolRunError`` with the compiler's output when the compile fails.
public func preloadLibrary(_ name: String, source: String) throws -> String {
  try built.withLock { table in
    if let result = table[name] { return try result.get() }
    let result = Result { () throws(ToolRunError) -> String in
      try compileSharedObject(name, source: repositoryRoot + "/" + source)
    }
    table[name] = result
    return try result.get()
  }
}

private func compileSharedObject(_ name: String, source: String) throws(ToolRunError) -> String {
  let output = toolDirectory + "/lib\(name).so"
  // A unique temporary name, renamed into place: a process that runs the
  // tests concurrently never loads a half-written file.
  let temporary = output + ".\(getpid()).tmp"
  let compiler = ["cc", "gcc", "clang"].first { which($0) != nil }.flatMap { which($0) }
  guard let compiler else {
    throw ToolRunError(message: "no C compiler (cc, gcc or clang) on PATH to build lib\(name).so: apt-get install gcc")
  }
  let result: ToolResult
  do {
    result = try runExecutable(
      compiler,
      [
        "-shared", "-fPIC", "-O2", "-D_GNU_SOURCE", "-I", directory(of: source) + "/include",
        "-o", temporary, source, "-ldl",
      ],
      timeout: .seconds(300), environment: ["PATH": "/usr/local/bin:/usr/bin:/bin"])
  } catch let error as ToolRunError {
    throw error
  } catch {
    throw ToolRunError(message: "\(compiler) for lib\(name).so: \(error)")
  }
  guard result.status == 0, !result.timedOut else {
    unlink(temporary)
    throw ToolRunError(message: "\(compiler) could not build lib\(name).so from \(source): \(result)")
  }
  guard rename(temporary, output) == 0 else {
    let code = errno
    unlink(temporary)
    throw ToolRunError(message: "rename \(temporary) -> \(output): \(String(cString: strerror(code)))")
  }
  return output
}

private func directory(of path: String) -> String {
  String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
}

/// The absolute path of `program` on PATH (or the usual directories), if any.
private func which(_ program: String) -> String? {
  let path = getenv("PATH").map { String(cString: $0) } ?? ""
  let directories = path.split(separator: ":").map(String.init) + ["/usr/local/bin", "/usr/bin", "/bin"]
  return directories.lazy.map { $0 + "/" + program }.first { access($0, X_OK) == 0 }
}
