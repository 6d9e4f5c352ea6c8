import ArgumentParser
import Hinix
import HinixCommandLine

#if canImport(Glibc)
  import Glibc
#endif

extension Mq {
  /// `hinix mq limits`: the limits that bound queues, and what is used of them.
  struct Limits: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "limits",
      abstract: "Show the limits on message queues, and how much of them is used.",
      discussion: """
        Shows the IPC namespace's limits from /proc/sys/fs/mqueue (msg_max, \
        msgsize_max, msg_default, msgsize_default, queues_max) and how many \
        queues it has; RLIMIT_MSGQUEUE, the bytes all queues of your real user \
        may be charged, with what is used and left; RLIMIT_NOFILE; whether \
        this process has CAP_SYS_RESOURCE, which lifts msg_max, msgsize_max \
        and queues_max; and whether an mqueue file system is mounted.

        "used" adds up the charges of the queues in this IPC namespace that \
        your uid owns, listed as hinix mq ls lists them. Queues of your user \
        in other IPC namespaces, and removed queues that are still open, are \
        charged too but cannot be seen, so "left" is an upper bound.

        --json prints one JSON object, keys sorted. A resource limit of null \
        is unlimited; a count of null could not be read.

        EXAMPLES:
          hinix mq limits
          hinix mq limits --json | jq .queueBytes.left
        """)

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    @OptionGroup
    var directory: DirectoryOptions

    func run() throws {
      // Listing first: the private mount namespace needs a single-threaded process.
      let report = LimitsReport(listing: Result { try MqQueueDirectory.list(source: directory.source) })
      if json {
        try printJSON(report, command: "limits")
      } else {
        StandardOutput.write(report.text)
      }
    }
  }
}

/// What `hinix mq limits` shows.
struct LimitsReport: Encodable {
  /// The IPC namespace's limits and queue count.
  struct Namespace: Encodable {
    var msgMax: Int?
    var msgsizeMax: Int?
    var msgDefault: Int?
    var msgsizeDefault: Int?
    var queuesMax: Int?
    /// The queues in the namespace, or `nil` if they could not be listed.
    var queues: Int?

    private enum CodingKeys: String, CodingKey {
      case msgMax, msgsizeMax, msgDefault, msgsizeDefault, queuesMax, queues
    }

    func encode(to encoder: any Encoder) throws {
      var container = encoder.container(keyedBy: CodingKeys.self)
      try container.encode(msgMax, forKey: .msgMax)
      try container.encode(msgsizeMax, forKey: .msgsizeMax)
      try container.encode(msgDefault, forKey: .msgDefault)
      try container.encode(msgsizeDefault, forKey: .msgsizeDefault)
      try container.encode(queuesMax, forKey: .queuesMax)
      try container.encode(queues, forKey: .queues)
    }
  }

  /// `RLIMIT_MSGQUEUE` and the bytes the visible queues of the real user are charged.
  struct QueueBytes: Encodable {
    var soft: UInt64?
    var hard: UInt64?
    var uid: UInt32
    /// The charges of the queues in this namespace that `uid` owns.
    var used: Int?
    /// `soft - used`: an upper bound on what is left.
    var left: Int?
    var note: String

    private enum CodingKeys: String, CodingKey { case soft, hard, uid, used, left, note }

    func encode(to encoder: any Encoder) throws {
      var container = encoder.container(keyedBy: CodingKeys.self)
      try container.encode(soft, forKey: .soft)
      try container.encode(hard, forKey: .hard)
      try container.encode(uid, forKey: .uid)
      try container.encode(used, forKey: .used)
      try container.encode(left, forKey: .left)
      try container.encode(note, forKey: .note)
    }
  }

  /// `RLIMIT_NOFILE`.
  struct Descriptors: Encodable {
    var soft: UInt64?
    var hard: UInt64?

    private enum CodingKeys: String, CodingKey { case soft, hard }

    func encode(to encoder: any Encoder) throws {
      var container = encoder.container(keyedBy: CodingKeys.self)
      try container.encode(soft, forKey: .soft)
      try container.encode(hard, forKey: .hard)
    }
  }

  var namespace: Namespace
  var queueBytes: QueueBytes
  var descriptors: Descriptors
  var hasSysResource: Bool
  var mqueueMountPoints: [String]
  /// Why the queues could not be listed, if they could not.
  var listingError: String?

  private enum CodingKeys: String, CodingKey {
    case namespace, queueBytes, descriptors, hasSysResource, mqueueMountPoints, listingError
  }

  /// Every key is always present, `null` when a value is unknown (or, for a
  /// resource limit, unlimited), so the JSON has one shape.
  func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(namespace, forKey: .namespace)
    try container.encode(queueBytes, forKey: .queueBytes)
    try container.encode(descriptors, forKey: .descriptors)
    try container.encode(hasSysResource, forKey: .hasSysResource)
    try container.encode(mqueueMountPoints, forKey: .mqueueMountPoints)
    try container.encode(listingError, forKey: .listingError)
  }

  init(listing: Result<MqQueueListing, any Error>) {
    let limits = SystemLimits.current()
    let uid = getuid()
    var queues: Int?
    var used: Int?
    var listingError: String?
    switch listing {
    case .success(let listing):
      queues = listing.entries.count
      let names = MqNameCache()
      let charges = listing.entries.filter { $0.uid == uid }.map {
        MqQueueReport.read($0, names: names)?.chargedBytes
      }
      // A queue of ours that cannot be opened has an unknown charge.
      used = charges.contains { $0 == nil } ? nil : charges.reduce(0) { $0 + ($1 ?? 0) }
    case .failure(let error):
      listingError = (error as? HinixError)?.description ?? String(describing: error)
    }
    let queueLimit = resourceLimit(__RLIMIT_MSGQUEUE)
    namespace = Namespace(
      msgMax: limits.msgMax, msgsizeMax: limits.msgsizeMax, msgDefault: limits.msgDefault,
      msgsizeDefault: limits.msgsizeDefault, queuesMax: limits.queuesMax, queues: queues)
    queueBytes = QueueBytes(
      soft: queueLimit.soft, hard: queueLimit.hard, uid: uid, used: used,
      left: used.flatMap { used in queueLimit.soft.map { max(0, Int(clamping: $0) - used) } },
      note: "used counts the queues of uid \(uid) in this IPC namespace; queues of this user in other IPC namespaces, and removed queues that are still open, are charged too but are not visible, so left is an upper bound")
    let descriptorLimit = resourceLimit(RLIMIT_NOFILE)
    descriptors = Descriptors(soft: descriptorLimit.soft, hard: descriptorLimit.hard)
    hasSysResource = limits.hasSysResource
    mqueueMountPoints = MqQueueDirectory.mountPoints()
    self.listingError = listingError
  }

  /// The report as sections of aligned "name  value  explanation" lines.
  var text: String {
    func number(_ value: Int?) -> String { value.map(String.init) ?? "-" }
    func limit(_ value: UInt64?) -> String { value.map(String.init) ?? "unlimited" }
    let queuesNow = namespace.queues.map { "; \($0) \($0 == 1 ? "exists" : "exist") now" } ?? ""
    let used =
      queueBytes.used == nil
      ? "unknown: \(listingError ?? "a queue of this user could not be opened")"
      : "by the queues of uid \(queueBytes.uid) in this IPC namespace"
    let sections: [(heading: String, rows: [[String]])] = [
      (
        "IPC namespace (/proc/sys/fs/mqueue)",
        [
          ["msg_max", number(namespace.msgMax), "most messages per queue"],
          ["msgsize_max", number(namespace.msgsizeMax), "largest message, in bytes"],
          ["msg_default", number(namespace.msgDefault), "messages of a queue created without attributes"],
          ["msgsize_default", number(namespace.msgsizeDefault), "message size of a queue created without attributes"],
          ["queues_max", number(namespace.queuesMax), "queues in this namespace\(queuesNow)"],
        ]
      ),
      (
        "RLIMIT_MSGQUEUE (bytes, per real user)",
        [
          ["soft", limit(queueBytes.soft), "what mq_open checks"],
          ["hard", limit(queueBytes.hard), "the most the soft limit can be raised to"],
          ["used", number(queueBytes.used), used],
          [
            "left", number(queueBytes.left),
            "at most: your queues in other IPC namespaces and removed ones still open count too, and are not visible",
          ],
        ]
      ),
      (
        "RLIMIT_NOFILE (descriptors, per process)",
        [["soft", limit(descriptors.soft), ""], ["hard", limit(descriptors.hard), ""]]
      ),
      (
        "This process",
        [
          [
            "CAP_SYS_RESOURCE", hasSysResource ? "yes" : "no",
            hasSysResource
              ? "msg_max, msgsize_max and queues_max do not apply; the kernel's hard ceilings do"
              : "msg_max, msgsize_max and queues_max apply",
          ],
          [
            "mqueue mounted",
            mqueueMountPoints.isEmpty ? "no" : mqueueMountPoints.joined(separator: ", "),
            mqueueMountPoints.isEmpty ? "hinix mq ls mounts it privately when it can" : "",
          ],
        ]
      ),
    ]
    // One set of columns for every section, so that all the values line up.
    var lines = mqColumns(sections.flatMap { $0.rows }).makeIterator()
    var text = ""
    for section in sections {
      text += section.heading + "\n"
      for _ in section.rows { text += "  " + lines.next()! + "\n" }
    }
    return text
  }
}

/// The soft and hard values of a resource limit; `nil` for unlimited.
private func resourceLimit(_ resource: __rlimit_resource) -> (soft: UInt64?, hard: UInt64?) {
  var limit = rlimit()
  guard getrlimit(__rlimit_resource_t(resource.rawValue), &limit) == 0 else { return (nil, nil) }
  // RLIM_INFINITY is ((rlim_t) -1), which Swift imports as a literal it cannot represent.
  func value(_ raw: rlim_t) -> UInt64? { raw == rlim_t.max ? nil : UInt64(raw) }
  return (value(limit.rlim_cur), value(limit.rlim_max))
}
