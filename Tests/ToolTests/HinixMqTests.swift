// `hinix mq`, run as a user would: the built binary in a subprocess.
//
// Most tests need root (CAP_SYS_ADMIN) to mount the mqueue file system
// privately and to enter private IPC and mount namespaces; without it they are
// skipped with that reason. Queues are small (at most 4 messages of 1024
// bytes), uniquely named and always unlinked, or live in a private IPC
// namespace that disappears with its processes.

import FoundationEssentials
import Hinix
import Testing
import ToolTestSupport

#if canImport(Glibc)
  import Glibc
#endif

/// Root: mounting, unshare(2) and setpriv(1) need it.
let isRoot = geteuid() == 0
let hinixPath = toolDirectory + "/hinix"

// MARK: - Help and usage errors

@Suite("hinix mq: help and usage errors", .timeLimit(.minutes(2)))
struct HinixMqUsageTests {
  @Test(
    "Every command has help with examples, on standard output",
    arguments: [[], ["mq"], ["mq", "ls"], ["mq", "stat"], ["mq", "create"], ["mq", "rm"], ["mq", "limits"], ["mq", "watch"]])
  func help(_ command: [String]) throws {
    let result = try run("hinix", command + ["--help"])
    #expect(result.status == 0, "\(result)")
    #expect(result.out.contains("EXAMPLES:"))
    #expect(result.err.isEmpty)
  }

  @Test("The hidden source option does not show in help")
  func hiddenOption() throws {
    let result = try run("hinix", ["mq", "ls", "--help"])
    #expect(!result.out.contains("directory-source"))
  }

  @Test(
    "An invalid queue name is a usage error: exit 64 and one line naming the command",
    arguments: [["stat"], ["create"], ["rm"], ["watch"]], ["/a/b", "a/b", "", "/", String(repeating: "x", count: 256)])
  func badNames(_ command: [String], _ name: String) throws {
    let result = try run("hinix", ["mq"] + command + [name])
    #expect(result.status == 64, "\(result)")
    #expect(result.errorLines.count == 1, "\(result)")
    #expect(result.err.hasPrefix("hinix mq \(command[0]): "), "\(result)")
    #expect(result.err.contains("invalid queue name"), "\(result)")
    #expect(result.out.isEmpty)
  }

  @Test(
    "Bad numbers and modes are usage errors: exit 64 and one line",
    arguments: [
      ["create", "/q", "--maxmsg", "-1"], ["create", "/q", "--maxmsg", "0"],
      ["create", "/q", "--maxmsg", "abc"], ["create", "/q", "--maxmsg", "1.5"],
      ["create", "/q", "--maxmsg", "99999999999999999999"], ["create", "/q", "--msgsize", "-5"],
      ["create", "/q", "--msgsize", ""], ["create", "/q", "--mode", "999"], ["create", "/q", "--mode", "rw"],
      ["watch", "/q", "--count", "0"], ["watch", "/q", "--count", "-3"], ["watch", "/q", "--count", "x"],
      ["watch", "/q", "--timeout", "-1"], ["watch", "/q", "--timeout", "soon"], ["watch", "/q", "--timeout", "nan"],
      ["rm"], ["ls", "extra"], ["stat"], ["bogus"],
    ])
  func badArguments(_ arguments: [String]) throws {
    let result = try run("hinix", ["mq"] + arguments)
    #expect(result.status == 64, "\(result)")
    #expect(result.errorLines.count == 1, "\(result)")
    #expect(result.err.contains("--help"), "\(result)")
    #expect(result.out.isEmpty)
  }
}

// MARK: - ls

@Suite("hinix mq ls", .timeLimit(.minutes(2)), .enabled(if: isRoot, "needs root to mount the mqueue file system"))
struct HinixMqListTests {
  @Test("Lists a queue created by another process, with its attributes, on a host without /dev/mqueue")
  func listsQueueOfAnotherProcess() throws {
    let name = toolQueueName("ls")
    defer { try? MsgQueue.unlink(name) }
    let created = try run("hinix", ["mq", "create", name, "--maxmsg", "4", "--msgsize", "64"])
    try #require(created.status == 0, "\(created)")
    #expect(created.out.isEmpty && created.err.isEmpty)
    let queue = try MsgQueue.open(name, access: .writeOnly)
    for message in ["abc", "defgh", ""] { try queue.send(message) }

    let result = try run("hinix", ["mq", "ls", "--json"])
    #expect(result.status == 0, "\(result)")
    #expect(result.err.isEmpty)
    let queues = try decode([QueueJSON].self, result.out)
    let entry = try #require(queues.first { $0.name == name }, "\(result.out)")
    #expect(entry.maxMessages == 4)
    #expect(entry.messageSize == 64)
    #expect(entry.currentMessages == 3)
    #expect(entry.queuedBytes == 8)
    #expect(entry.uid == 0 && entry.user == "root")
    #expect(entry.gid == 0 && entry.group == "root")
    #expect(entry.mode == "0600")
    #expect(entry.notification == nil)
    #expect(entry.chargedBytes == 4 * (64 + 96))
    #expect(entry.error == nil)
    #expect(queues.map(\.name) == queues.map(\.name).sorted())
    // Every object has every key, null or not.
    for keys in try decode([JSONKeys].self, result.out) { #expect(keys.keys == QueueJSON.allKeys) }

    #expect(mqueueMounts() == [], "an mqueue file system was left mounted on the host")
    #expect(try queue.attributes().currentMessages == 3, "listing changed the queue")
  }

  @Test("The table has a header and a row per queue, '-' where nobody is registered")
  func table() throws {
    try withToolQueue("table") { queue in
      try queue.send("hello")
      let result = try run("hinix", ["mq", "ls"])
      #expect(result.status == 0, "\(result)")
      let lines = result.out.split(separator: "\n")
      #expect(lines.first?.split(separator: " ", omittingEmptySubsequences: true) == [
        "NAME", "OWNER", "GROUP", "MODE", "MAX-MSGS", "MSG-SIZE", "MESSAGES", "QUEUED-BYTES", "NOTIFY",
      ])
      let row = try #require(lines.first { $0.hasPrefix(queue.name.rawValue + " ") })
      #expect(row.split(separator: " ") == [
        Substring(queue.name.rawValue), "0(root)", "0(root)", "0600", "4", "64", "1", "5", "-",
      ])
      #expect(result.out.split(separator: "\n").allSatisfy { !$0.hasSuffix(" ") })
    }
  }

  @Test("An empty IPC namespace gives the header alone, or []")
  func emptyNamespace() throws {
    let text = try runProgram("/usr/bin/unshare", ["--ipc", hinixPath, "mq", "ls"])
    #expect(text.status == 0, "\(text)")
    #expect(text.out.split(separator: "\n").count == 1 && text.out.hasPrefix("NAME "), "\(text)")
    let json = try runProgram("/usr/bin/unshare", ["--ipc", hinixPath, "mq", "ls", "--json"])
    #expect(json.status == 0, "\(json)")
    #expect(json.out == "[]\n")
  }

  @Test(
    "Every way of reaching the directory lists the queue and leaves nothing mounted",
    arguments: ["auto", "detached", "namespace"])
  func sources(_ source: String) throws {
    try withToolQueue("source") { queue in
      let result = try run("hinix", ["mq", "ls", "--json", "--directory-source", source])
      #expect(result.status == 0, "\(result)")
      #expect(try decode([QueueJSON].self, result.out).contains { $0.name == queue.name.rawValue })
      #expect(mqueueMounts() == [])
    }
  }

  @Test("Nothing is created in /tmp, by any source (run with an empty tmpfs on /tmp)")
  func nothingInTmp() throws {
    // The binary is opened before /tmp is hidden, and run through its
    // descriptor: the build (a CI clone, say) may itself live under /tmp.
    let script = """
      exec 3< "$0" || exit 89
      mount -t tmpfs none /tmp || exit 90
      for source in detached namespace auto; do
        /proc/self/fd/3 mq ls --json --directory-source $source > /dev/null || exit 91
      done
      ls -A /tmp
      """
    let result = try runProgram(
      "/usr/bin/unshare", ["--mount", "--propagation", "private", "sh", "-c", script, hinixPath])
    #expect(result.status == 0, "\(result)")
    #expect(result.out.isEmpty, "left in /tmp: \(result.out)")
    #expect(mqueueMounts() == [])
  }

  @Test("An existing mqueue mount is used, and one of another IPC namespace is refused")
  func existingMount() throws {
    try withToolQueue("mounted") { queue in
      try withScratchDirectory { directory in
        let script = #"mount -t mqueue none "$1" && exec "$0" mq ls --json --directory-source mounted"#
        let result = try runProgram(
          "/usr/bin/unshare", ["--mount", "--propagation", "private", "sh", "-c", script, hinixPath, directory])
        #expect(result.status == 0, "\(result)")
        #expect(try decode([QueueJSON].self, result.out).contains { $0.name == queue.name.rawValue })

        // The mount shows this namespace's queues, not those of the new one.
        let foreign = #"mount -t mqueue none "$1" && exec unshare --ipc "$0" mq ls --directory-source mounted"#
        let refused = try runProgram(
          "/usr/bin/unshare", ["--mount", "--propagation", "private", "sh", "-c", foreign, hinixPath, directory])
        #expect(refused.status == 1, "\(refused)")
        #expect(refused.errorLines.count == 1)
        #expect(refused.err.contains("another IPC namespace"), "\(refused)")
      }
    }
    #expect(mqueueMounts() == [])
  }

  @Test("Without an mqueue mount, --directory-source mounted fails with one line saying how to mount one")
  func noMount() throws {
    let result = try run("hinix", ["mq", "ls", "--directory-source", "mounted"])
    #expect(result.status == 1, "\(result)")
    #expect(result.errorLines.count == 1)
    #expect(result.err.contains("ENOENT") && result.err.contains("mount -t mqueue"), "\(result)")
  }

  @Test("Without root and without a mount, ls fails with one line saying what is needed")
  func unprivileged() throws {
    let result = try runProgram("/usr/bin/setpriv", asNobody + [hinixPath, "mq", "ls"])
    #expect(result.status == 1, "\(result)")
    #expect(result.errorLines.count == 1, "\(result)")
    #expect(result.err.contains("EPERM") && result.err.contains("CAP_SYS_ADMIN"), "\(result)")
  }

  @Test("A queue the caller may not open is listed with its owner and mode and '-' for the rest; stat fails with EACCES")
  func unreadableQueue() throws {
    try withToolQueue("unreadable") { queue in
      try withScratchDirectory { directory in
        let script = #"directory=$1; shift; mount -t mqueue none "$directory" && exec setpriv "$@" "$0" mq ls --json"#
        let result = try runProgram(
          "/usr/bin/unshare",
          ["--mount", "--propagation", "private", "sh", "-c", script, hinixPath, directory] + asNobody)
        #expect(result.status == 0, "\(result)")
        let entry = try #require(
          try decode([QueueJSON].self, result.out).first { $0.name == queue.name.rawValue })
        #expect(entry.uid == 0 && entry.mode == "0600")
        #expect(entry.maxMessages == nil && entry.queuedBytes == nil && entry.chargedBytes == nil)
        #expect(entry.error?.hasPrefix("EACCES") == true, "\(entry)")

        // stat fails, and says whose the queue is.
        let stat = #"directory=$1; shift; mount -t mqueue none "$directory" && exec setpriv "$@" "$0" mq stat "$QUEUE""#
        let denied = try runProgram(
          "/usr/bin/unshare",
          ["--mount", "--propagation", "private", "env", "QUEUE=\(queue.name.rawValue)", "sh", "-c", stat, hinixPath,
            directory] + asNobody)
        #expect(denied.status == 1, "\(denied)")
        #expect(denied.errorLines.count == 1, "\(denied)")
        #expect(denied.err.contains("(EACCES): the queue's permissions do not allow reading it (owner 0(root), group 0(root), mode 0600)"), "\(denied)")
      }
    }
  }

  @Test("The notification owner shows: pid, kind and signal")
  func notificationOwner() throws {
    try withToolQueue("notify") { queue in
      try queue.requestNotification(.withoutSignal)
      var entry = try statJSON(queue.name.rawValue)
      #expect(entry.notification == NotificationJSON(pid: Int(getpid()), kind: "none", signal: nil, signalName: nil))

      try queue.cancelNotification()
      try queue.requestNotification(.signal(SIGUSR2))
      defer { try? queue.cancelNotification() }
      entry = try statJSON(queue.name.rawValue)
      #expect(
        entry.notification
          == NotificationJSON(pid: Int(getpid()), kind: "signal", signal: Int(SIGUSR2), signalName: "SIGUSR2"))
      let table = try run("hinix", ["mq", "ls"])
      let row = try #require(table.out.split(separator: "\n").first { $0.hasPrefix(queue.name.rawValue + " ") })
      #expect(row.hasSuffix("  \(getpid()) SIGUSR2"), "\(row)")
    }
  }
}

// MARK: - stat

@Suite("hinix mq stat", .timeLimit(.minutes(2)))
struct HinixMqStatTests {
  @Test("Shows one queue, as text and as JSON, with the bytes it is charged")
  func stat() throws {
    try withToolQueue("stat", messageSize: 1024) { queue in
      try queue.send("abc")
      try queue.send("de")
      let entry = try statJSON(queue.name.rawValue)
      #expect(entry.maxMessages == 4 && entry.messageSize == 1024)
      #expect(entry.currentMessages == 2 && entry.queuedBytes == 5)
      #expect(entry.chargedBytes == SystemLimits.chargedBytes(maxMessages: 4, messageSize: 1024))
      #expect(entry.uid == geteuid() && entry.mode == "0600" && entry.error == nil)

      let text = try run("hinix", ["mq", "stat", String(queue.name.rawValue.dropFirst())])
      #expect(text.status == 0, "\(text)")
      for line in [
        "name:           \(queue.name.rawValue)", "mode:           0600", "max messages:   4",
        "message size:   1024 bytes", "messages:       2", "queued bytes:   5 (QSIZE",
        "notification:   none", "charged bytes:  4480 (RLIMIT_MSGQUEUE: 4 × (1024 + 96))",
      ] {
        #expect(text.out.contains(line), "\(line) in \(text.out)")
      }
    }
  }

  @Test("A missing queue fails with ENOENT in one line")
  func missing() throws {
    let result = try run("hinix", ["mq", "stat", toolQueueName("missing")])
    #expect(result.status == 1, "\(result)")
    #expect(result.errorLines.count == 1)
    #expect(result.err.hasPrefix("hinix mq stat: mq_open("))
    #expect(result.err.contains("(ENOENT): there is no queue with this name"), "\(result)")
  }

  @Test("A queue the caller may not open fails with EACCES", .enabled(if: isRoot, "needs root for setpriv"))
  func permissionDenied() throws {
    try withToolQueue("denied") { queue in
      let result = try runProgram("/usr/bin/setpriv", asNobody + [hinixPath, "mq", "stat", queue.name.rawValue])
      #expect(result.status == 1, "\(result)")
      #expect(result.errorLines.count == 1 && result.err.contains("EACCES"), "\(result)")
    }
  }
}

// MARK: - create

@Suite("hinix mq create", .timeLimit(.minutes(2)))
struct HinixMqCreateTests {
  @Test("Creates the queue silently, with the capacity and mode asked for, whatever the umask")
  func create() throws {
    let name = toolQueueName("create")
    defer { try? MsgQueue.unlink(name) }
    let result = try runProgram(
      "/bin/sh", ["-c", #"umask 077 && exec "$0" "$@""#, hinixPath, "mq", "create", name,
        "--maxmsg", "3", "--msgsize", "100", "--mode", "644"])
    #expect(result.status == 0, "\(result)")
    #expect(result.out.isEmpty && result.err.isEmpty)
    let entry = try statJSON(name)
    #expect(entry.maxMessages == 3 && entry.messageSize == 100 && entry.mode == "0644")
  }

  @Test("Without --mode the queue is 0600; without a size, the namespace's defaults apply",
    .enabled(if: isRoot, "needs root for a private IPC namespace"))
  func defaults() throws {
    let script = """
      echo 3 > /proc/sys/fs/mqueue/msg_default && echo 128 > /proc/sys/fs/mqueue/msgsize_default || exit 90
      "$0" mq create /both && "$0" mq create /count --maxmsg 2 && "$0" mq create /size --msgsize 16 || exit 91
      exec "$0" mq ls --json
      """
    let result = try runProgram("/usr/bin/unshare", ["--ipc", "sh", "-c", script, hinixPath])
    #expect(result.status == 0, "\(result)")
    let queues = try decode([QueueJSON].self, result.out)
    #expect(queues.map(\.name) == ["/both", "/count", "/size"])
    #expect(queues.map(\.maxMessages) == [3, 2, 3])
    #expect(queues.map(\.messageSize) == [128, 128, 16])
    #expect(queues.allSatisfy { $0.mode == "0600" })
  }

  @Test("An existing name fails with EEXIST and leaves the queue alone")
  func exists() throws {
    try withToolQueue("exists") { queue in
      try queue.send("kept")
      let result = try run("hinix", ["mq", "create", queue.name.rawValue, "--maxmsg", "2", "--msgsize", "8"])
      #expect(result.status == 1, "\(result)")
      #expect(result.errorLines.count == 1)
      #expect(result.err.contains("(EEXIST)"), "\(result)")
      let attributes = try queue.attributes()
      #expect(attributes.maxMessages == 4 && attributes.messageSize == 64 && attributes.currentMessages == 1)
    }
  }

  @Test(
    "Over a limit fails in one line naming it",
    arguments: [
      (["--maxmsg", "100000", "--msgsize", "64"], "msg_max"),
      (["--maxmsg", "2", "--msgsize", "100000"], "msgsize_max"),
    ])
  func overLimit(_ options: [String], _ limit: String) throws {
    let name = toolQueueName("over")
    defer { try? MsgQueue.unlink(name) }
    let result = try run("hinix", ["mq", "create", name] + options)
    #expect(result.status == 1, "\(result)")
    #expect(result.errorLines.count == 1)
    #expect(result.err.contains("(EINVAL): \(limit):"), "\(result)")
  }

  @Test("Over queues_max fails with ENOSPC naming it", .enabled(if: isRoot, "needs root for a private IPC namespace"))
  func overQueueCount() throws {
    let script = """
      echo 1 > /proc/sys/fs/mqueue/queues_max || exit 90
      "$0" mq create /first --maxmsg 1 --msgsize 8 || exit 91
      exec "$0" mq create /second --maxmsg 1 --msgsize 8
      """
    let result = try runProgram("/usr/bin/unshare", ["--ipc", "sh", "-c", script, hinixPath])
    #expect(result.status == 1, "\(result)")
    #expect(result.errorLines.count == 1)
    #expect(result.err.contains("(ENOSPC): queues_max:"), "\(result)")
  }

  @Test("Over RLIMIT_MSGQUEUE fails with EMFILE naming it", .enabled(if: isRoot, "needs root for a private IPC namespace"))
  func overQueueBytes() throws {
    let result = try runProgram(
      "/usr/bin/unshare",
      ["--ipc", "prlimit", "--msgqueue=1000:1000", hinixPath, "mq", "create", "/big", "--maxmsg", "4", "--msgsize", "1024"])
    #expect(result.status == 1, "\(result)")
    #expect(result.errorLines.count == 1)
    #expect(result.err.contains("(EMFILE): RLIMIT_MSGQUEUE: the queue needs 4,480 bytes"), "\(result)")
  }
}

// MARK: - rm

@Suite("hinix mq rm", .timeLimit(.minutes(2)))
struct HinixMqRemoveTests {
  @Test("Removes every queue named, silently")
  func remove() throws {
    let names = [toolQueueName("rm1"), toolQueueName("rm2")]
    defer { for name in names { try? MsgQueue.unlink(name) } }
    for name in names { try MsgQueue.createExclusive(name, maxMessages: 1, messageSize: 8).close() }
    let result = try run("hinix", ["mq", "rm", names[0], String(names[1].dropFirst())])
    #expect(result.status == 0, "\(result)")
    #expect(result.out.isEmpty && result.err.isEmpty)
    for name in names { #expect(!exists(name)) }
  }

  @Test("A missing queue gets one line and exit status 1, and the others are still removed")
  func missingAmongOthers() throws {
    let present = toolQueueName("present")
    let missing = toolQueueName("missing")
    defer { try? MsgQueue.unlink(present) }
    try MsgQueue.createExclusive(present, maxMessages: 1, messageSize: 8).close()
    let result = try run("hinix", ["mq", "rm", missing, present])
    #expect(result.status == 1, "\(result)")
    #expect(result.errorLines.count == 1)
    #expect(result.err.hasPrefix("hinix mq rm: mq_unlink(\"\(missing)\")") && result.err.contains("ENOENT"), "\(result)")
    #expect(!exists(present))
  }

  @Test("Another user's queue is not removed: EACCES", .enabled(if: isRoot, "needs root for setpriv"))
  func permissionDenied() throws {
    try withToolQueue("others") { queue in
      let result = try runProgram("/usr/bin/setpriv", asNobody + [hinixPath, "mq", "rm", queue.name.rawValue])
      #expect(result.status == 1, "\(result)")
      #expect(result.errorLines.count == 1)
      #expect(result.err.contains("(EACCES): only the queue's owner"), "\(result)")
      #expect(exists(queue.name.rawValue))
    }
  }

  @Test("An invalid name among valid ones removes nothing")
  func invalidName() throws {
    try withToolQueue("kept") { queue in
      let result = try run("hinix", ["mq", "rm", queue.name.rawValue, "/a/b"])
      #expect(result.status == 64, "\(result)")
      #expect(exists(queue.name.rawValue))
    }
  }
}

// MARK: - limits

@Suite("hinix mq limits", .timeLimit(.minutes(2)))
struct HinixMqLimitsTests {
  @Test(
    "Shows the namespace's limits, RLIMIT_MSGQUEUE with the bytes used and left, and the mounts",
    .enabled(if: isRoot, "needs root for a private IPC namespace"))
  func limitsJSON() throws {
    let script = """
      echo 7 > /proc/sys/fs/mqueue/msg_max || exit 90
      "$0" mq create /one --maxmsg 4 --msgsize 64 && "$0" mq create /two --maxmsg 2 --msgsize 1024 || exit 91
      exec "$0" mq limits --json
      """
    let result = try runProgram("/usr/bin/unshare", ["--ipc", "sh", "-c", script, hinixPath])
    #expect(result.status == 0, "\(result)")
    let limits = try decode(LimitsJSON.self, result.out)
    let used = 4 * (64 + 96) + 2 * (1024 + 96)
    #expect(limits.namespace.msgMax == 7)
    #expect(limits.namespace.queues == 2)
    #expect(limits.namespace.queuesMax == 256)
    var queueLimit = rlimit()
    getrlimit(__rlimit_resource_t(__RLIMIT_MSGQUEUE.rawValue), &queueLimit)
    #expect(limits.queueBytes.soft == UInt64(queueLimit.rlim_cur))
    #expect(limits.queueBytes.used == used)
    #expect(limits.queueBytes.left == Int(queueLimit.rlim_cur) - used)
    #expect(limits.queueBytes.note.contains("other IPC namespaces"))
    #expect(limits.hasSysResource == SystemLimits.current().hasSysResource)
    #expect(limits.mqueueMountPoints == [])
    #expect(limits.listingError == nil)
  }

  @Test("The text names each limit and says what it cannot see")
  func limitsText() throws {
    let result = try run("hinix", ["mq", "limits"])
    #expect(result.status == 0, "\(result)")
    for word in [
      "msg_max", "msgsize_max", "msg_default", "msgsize_default", "queues_max", "RLIMIT_MSGQUEUE",
      "used", "left", "not visible", "RLIMIT_NOFILE", "CAP_SYS_RESOURCE", "mqueue mounted",
    ] {
      #expect(result.out.contains(word), "\(word)")
    }
  }
}

// MARK: - watch

@Suite("hinix mq watch", .serialized, .timeLimit(.minutes(2)))
struct HinixMqWatchTests {
  @Test("Prints a line when a message arrives, and leaves the message in the queue")
  func seesMessage() throws {
    try withToolQueue("watch") { queue in
      let watcher = try BackgroundProcess(hinixPath, ["mq", "watch", queue.name.rawValue, "--count", "1", "--timeout", "20"])
      // The first line is the state once the watch is registered.
      try #require(watcher.waitForLines(1), "\(watcher)")
      try queue.send("hello")
      let end = watcher.wait()
      #expect(end.status == 0, "\(watcher)")
      let lines = watcher.lines
      #expect(lines.count == 2, "\(watcher)")
      #expect(lines.first.map { isTimestamped($0, "  empty") } == true, "\(watcher)")
      #expect(lines.last.map { isTimestamped($0, "  non-empty  1 message  5 bytes") } == true, "\(watcher)")
      #expect(try queue.attributes().currentMessages == 1)
    }
  }

  @Test("Reports the queue emptying and filling again, and stops after --count non-empty lines")
  func drainAndRefill() throws {
    try withToolQueue("refill") { queue in
      let watcher = try BackgroundProcess(hinixPath, ["mq", "watch", queue.name.rawValue, "--count", "2", "--timeout", "20"])
      try #require(watcher.waitForLines(1), "\(watcher)")
      try queue.send("ab")
      try #require(watcher.waitForLines(2), "\(watcher)")
      _ = try queue.receive()
      try #require(watcher.waitForLines(3), "\(watcher)")
      try queue.send("cde")
      #expect(watcher.wait().status == 0, "\(watcher)")
      let states = watcher.lines.map { $0.dropFirst(20) }
      #expect(states == ["  empty", "  non-empty  1 message  2 bytes", "  empty", "  non-empty  1 message  3 bytes"], "\(watcher)")
      #expect(try queue.attributes().currentMessages == 1)
    }
  }

  @Test("Waiting on a non-empty queue costs no CPU time (epoll is edge-triggered)")
  func idle() throws {
    try withToolQueue("idle") { queue in
      try queue.send("waiting")
      let watcher = try BackgroundProcess(hinixPath, ["mq", "watch", queue.name.rawValue, "--timeout", "2"])
      let end = watcher.wait()
      #expect(end.status == 0, "\(watcher)")
      #expect(watcher.lines.count == 1 && watcher.lines[0].hasSuffix("non-empty  1 message  7 bytes"), "\(watcher)")
      // A loop that spins for 2 s burns seconds of CPU; starting the binary takes a few ms.
      #expect(end.cpu < .milliseconds(300), "the watch used \(end.cpu) of CPU time in 2 s")
    }
  }

  @Test("The first line counts when the queue already holds messages; --json prints objects")
  func alreadyNonEmptyJSON() throws {
    try withToolQueue("json") { queue in
      try queue.send("ab")
      try queue.send("cde")
      let result = try run("hinix", ["mq", "watch", queue.name.rawValue, "--count", "1", "--json"])
      #expect(result.status == 0, "\(result)")
      let line = try decode(WatchLineJSON.self, result.out)
      #expect(line.queue == queue.name.rawValue && line.state == "non-empty")
      #expect(line.messages == 2 && line.bytes == 5)
      #expect(isTimestamped(line.time, ""))
    }
  }

  @Test("With no message before --timeout: exit 1 and one line")
  func timeout() throws {
    try withToolQueue("timeout") { queue in
      let result = try run("hinix", ["mq", "watch", queue.name.rawValue, "--timeout", "0.3"])
      #expect(result.status == 1, "\(result)")
      #expect(result.out.split(separator: "\n").count == 1 && result.out.hasSuffix("  empty\n"))
      #expect(result.errorLines.count == 1)
      #expect(result.err.contains("(ETIMEDOUT): no message arrived within 0.3 s"), "\(result)")
    }
  }

  @Test("Removing the queue ends the watch with exit 1")
  func removed() throws {
    try withToolQueue("removed") { queue in
      let watcher = try BackgroundProcess(hinixPath, ["mq", "watch", queue.name.rawValue, "--timeout", "20"])
      try #require(watcher.waitForLines(1), "\(watcher)")
      try MsgQueue.unlink(queue.name)
      let end = watcher.wait(timeout: .seconds(10))
      #expect(end.status == 1, "\(watcher)")
      #expect(watcher.errors.contains("removed while it was being watched"), "\(watcher)")
    }
  }

  @Test("A missing queue fails with ENOENT in one line")
  func missing() throws {
    let result = try run("hinix", ["mq", "watch", toolQueueName("missing"), "--timeout", "1"])
    #expect(result.status == 1, "\(result)")
    #expect(result.errorLines.count == 1 && result.err.contains("ENOENT"), "\(result)")
  }
}

// MARK: - JSON shapes

/// An object of `hinix mq ls --json` and `hinix mq stat --json`.
struct QueueJSON: Decodable, Equatable {
  var name: String
  var uid: UInt32
  var user: String?
  var gid: UInt32
  var group: String?
  var mode: String
  var maxMessages: Int?
  var messageSize: Int?
  var currentMessages: Int?
  var queuedBytes: Int?
  var notification: NotificationJSON?
  var chargedBytes: Int?
  var error: String?

  static let allKeys: Set<String> = [
    "name", "nameBase64", "uid", "user", "gid", "group", "mode", "maxMessages", "messageSize", "currentMessages",
    "queuedBytes", "notification", "chargedBytes", "error",
  ]
}

struct NotificationJSON: Decodable, Equatable {
  var pid: Int
  var kind: String
  var signal: Int?
  var signalName: String?
}

/// `hinix mq limits --json`.
struct LimitsJSON: Decodable {
  struct Namespace: Decodable {
    var msgMax: Int?
    var msgsizeMax: Int?
    var msgDefault: Int?
    var msgsizeDefault: Int?
    var queuesMax: Int?
    var queues: Int?
  }
  struct QueueBytes: Decodable {
    var soft: UInt64?
    var hard: UInt64?
    var uid: UInt32
    var used: Int?
    var left: Int?
    var note: String
  }
  var namespace: Namespace
  var queueBytes: QueueBytes
  var hasSysResource: Bool
  var mqueueMountPoints: [String]
  var listingError: String?
}

/// A line of `hinix mq watch --json`.
struct WatchLineJSON: Decodable {
  var time: String
  var queue: String
  var state: String
  var messages: Int
  var bytes: Int
}

/// The keys of a JSON object, null or not.
struct JSONKeys: Decodable {
  struct Key: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
  }
  var keys: Set<String>
  init(from decoder: any Decoder) throws {
    keys = Set(try decoder.container(keyedBy: Key.self).allKeys.map(\.stringValue))
  }
}

func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
  try JSONDecoder().decode(T.self, from: Data(text.utf8))
}

// MARK: - Helpers

/// `hinix mq stat NAME --json`, decoded; records an issue unless it succeeded.
func statJSON(_ name: String) throws -> QueueJSON {
  let result = try run("hinix", ["mq", "stat", name, "--json"])
  #expect(result.status == 0, "\(result)")
  return try decode(QueueJSON.self, result.out)
}

/// Creates a small queue (4 messages of `messageSize` bytes) in this process,
/// runs `body`, and unlinks the queue whatever happens.
func withToolQueue<R>(
  _ tag: String, messageSize: Int = 64, _ body: (MsgQueue) throws -> R
) throws -> R {
  let name = toolQueueName(tag)
  let queue = try MsgQueue.createExclusive(name, maxMessages: 4, messageSize: messageSize)
  defer { try? MsgQueue.unlink(name) }
  return try body(queue)
}

/// Whether a queue has this name.
func exists(_ name: String) -> Bool {
  (try? MsgQueue.open(name, access: .readOnly)) != nil
}

/// The mount points of mqueue file systems in this process's mount namespace,
/// which is the host's.
func mqueueMounts() -> [String] {
  guard let file = fopen("/proc/self/mountinfo", "r") else { return ["<unreadable>"] }
  defer { fclose(file) }
  var points: [String] = []
  var line: UnsafeMutablePointer<CChar>?
  var capacity = 0
  defer { free(line) }
  while getline(&line, &capacity, file) > 0, let line {
    let fields = String(cString: line).split(separator: " ")
    if let dash = fields.firstIndex(of: "-"), dash + 1 < fields.count, fields[dash + 1] == "mqueue" {
      points.append(String(fields[4]))
    }
  }
  return points
}

/// An empty directory under /tmp for `body`, removed afterwards.
func withScratchDirectory<R>(_ body: (String) throws -> R) throws -> R {
  var template = Array("/tmp/hinix-mqtest-XXXXXX".utf8CString)
  guard let made = mkdtemp(&template) else { throw ToolRunError(message: "mkdtemp: \(errno)") }
  let path = String(cString: made)
  defer { rmdir(path) }
  return try body(path)
}

/// setpriv(1) arguments that run the rest as nobody, without capabilities.
let asNobody = ["--reuid=65534", "--regid=65534", "--clear-groups"]

/// Whether `line` is an ISO 8601 UTC time to the second followed by `rest`.
func isTimestamped(_ line: some StringProtocol, _ rest: String) -> Bool {
  let bytes = Array(line.utf8)
  guard bytes.count == 20 + rest.utf8.count, String(decoding: bytes[20...], as: UTF8.self) == rest else {
    return false
  }
  let pattern = Array("0000-00-00T00:00:00Z".utf8)
  return zip(bytes, pattern).allSatisfy { byte, expected in
    expected == UInt8(ascii: "0") ? (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) : byte == expected
  }
}

/// Runs a program (not one of the built tools) to the end, like ``run(_:_:input:timeout:environment:)``,
/// with the sbin directories on PATH for unshare, setpriv and mount.
func runProgram(_ path: String, _ arguments: [String], timeout: Duration = .seconds(20)) throws -> ToolResult {
  try runExecutable(path, arguments, timeout: timeout, environment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"])
}

/// A process started with posix_spawn that runs while the test goes on, its
/// standard output and error going to files; killed and reaped at the latest
/// when the object goes away.
final class BackgroundProcess: CustomStringConvertible {
  let pid: pid_t
  private let scratch: String
  private var reaped = false

  init(_ path: String, _ arguments: [String]) throws {
    scratch = "/tmp/hinix-mqtest-\(getpid())-\(UInt64.random(in: 0 ... .max))"
    guard mkdir(scratch, 0o700) == 0 else { throw ToolRunError(message: "mkdir \(scratch): \(errno)") }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, scratch + "/out", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    posix_spawn_file_actions_addopen(&actions, 2, scratch + "/err", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var none = sigset_t()
    sigemptyset(&none)
    posix_spawnattr_setsigmask(&attributes, &none)
    var all = sigset_t()
    sigfillset(&all)
    posix_spawnattr_setsigdefault(&attributes, &all)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

    let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
    let variables: [String] = ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"]
    let environment: [UnsafeMutablePointer<CChar>?] = variables.map { strdup($0) } + [nil]
    defer { (argv + environment).forEach { free($0) } }
    var pid: pid_t = 0
    let spawned = posix_spawn(&pid, path, &actions, &attributes, argv, environment)
    guard spawned == 0 else {
      rmdir(scratch)
      throw ToolRunError(message: "posix_spawn \(path): \(String(cString: strerror(spawned)))")
    }
    self.pid = pid
  }

  deinit {
    if !reaped {
      kill(pid, SIGKILL)
      var status: CInt = 0
      _ = waitpid(pid, &status, 0)
    }
    unlink(scratch + "/out")
    unlink(scratch + "/err")
    rmdir(scratch)
  }

  /// What the process wrote to standard output so far.
  var output: String { readWhole(scratch + "/out") }
  /// What it wrote to standard error so far.
  var errors: String { readWhole(scratch + "/err") }
  /// Its complete lines of standard output so far.
  var lines: [Substring] {
    let text = output
    return text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map { $0 }
  }

  var description: String { "pid \(pid): stdout \(output.debugDescription), stderr \(errors.debugDescription)" }

  /// Waits until standard output has `count` complete lines.
  func waitForLines(_ count: Int, timeout: Duration = .seconds(10)) -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
      if lines.count >= count { return true }
      usleep(5_000)
    }
    return false
  }

  /// Waits for the process to exit (killing it after `timeout`), and returns
  /// its exit status and the CPU time it used.
  func wait(timeout: Duration = .seconds(20)) -> (status: CInt, cpu: Duration, timedOut: Bool) {
    let deadline = ContinuousClock.now + timeout
    var status: CInt = 0
    var usage = rusage()
    var timedOut = false
    while true {
      let result = wait4(pid, &status, WNOHANG, &usage)
      if result == pid { break }
      if ContinuousClock.now >= deadline {
        kill(pid, SIGKILL)
        _ = wait4(pid, &status, 0, &usage)
        timedOut = true
        break
      }
      usleep(2_000)
    }
    reaped = true
    func duration(_ time: timeval) -> Duration { .seconds(time.tv_sec) + .microseconds(time.tv_usec) }
    let exitStatus: CInt = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    return (exitStatus, duration(usage.ru_utime) + duration(usage.ru_stime), timedOut)
  }

  private func readWhole(_ path: String) -> String {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return "" }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65_536)
    while true {
      let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
      if count <= 0 { return String(decoding: bytes, as: UTF8.self) }
      bytes += chunk[..<count]
    }
  }
}
