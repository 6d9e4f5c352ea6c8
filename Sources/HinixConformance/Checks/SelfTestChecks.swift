// Checks that test the harness itself; they run only when named with --filter.

import Hinix

#if canImport(Glibc)
  import Glibc
#endif

let selfTestChecks: [Check] = [
  Check(
    "SELFTEST-HANG", source: "the harness",
    clause: "A check that never returns is killed at its deadline with the verdict timeout",
    deadline: .seconds(1),
    roles: ["sleeper": { _ in while true { sleep(60) } }]
  ) { context in
    _ = try context.spawn("sleeper")
    while true { sleep(60) }
  },

  Check(
    "SELFTEST-HOLD", source: "the harness",
    clause: "A run killed while a check holds a queue and a changed sysctl leaves the host as it was (as root); unprivileged, the next run removes the queue",
    deadline: .seconds(60)
  ) { context in
    let queue = try context.makeQueue("held")
    // Unprivileged, there is no private namespace: hold the queue anyway, so
    // a test can see that the next run removes it.
    if (try? context.enterPrivateIPCNamespace()) != nil {
      try context.setSysctl("msg_max", 20)
    }
    let line = Array("SELFTEST-HOLD holding \(queue.name)\n".utf8)
    _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    while true { sleep(60) }
  },

  Check(
    "SELFTEST-ORPHAN", source: "the harness",
    clause: "A process a check leaves running (here /bin/sleep, which no death signal ties to the worker) is killed with the check's process group when the check ends"
  ) { _ in
    var pid: pid_t = 0
    var argv: [UnsafeMutablePointer<CChar>?] = ["/bin/sleep", "600"].map { (word: String) in strdup(word) }
    argv.append(nil)
    defer { argv.forEach { free($0) } }
    let result = posix_spawn(&pid, "/bin/sleep", nil, nil, argv, environ)
    guard result == 0 else { throw HarnessError("posix_spawn /bin/sleep: \(Errno(rawValue: result))") }
    let line = Array("SELFTEST-ORPHAN left \(pid)\n".utf8)
    _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
  },
]
