/// A validated POSIX message queue name.
///
/// A name is a `/` followed by 1 to 255 bytes (`NAME_MAX`) containing no
/// further `/` and no NUL; `/.` and `/..` are not allowed. Any other bytes
/// are allowed, as the kernel allows them: a name need not be UTF-8. Hinix
/// checks this before any system call, so an invalid name fails with an
/// error that says what is wrong instead of the kernel's bare `EINVAL`,
/// `EACCES` or `ENOENT`.
///
/// A name keeps its exact ``bytes``, and Hinix passes those bytes, and only
/// those, to the kernel. ``description`` shows them safely (see
/// ``description``); ``rawValue`` is the name as a `String`, which only a
/// UTF-8 name can be exactly.
///
/// ```swift
/// let name = try MsgQueueName("/orders")
/// let fixed = try MsgQueueName(addingSlashTo: "orders")   // "/orders"
/// let bytes = try MsgQueueName(bytes: [0x2F, 0x72, 0xFF])  // "/r\xff", not UTF-8
/// ```
///
/// See `mq_overview(7)`, section DESCRIPTION.
public struct MsgQueueName: Hashable, Sendable, CustomStringConvertible, Comparable {
  /// The longest name after the leading slash, in bytes (`NAME_MAX`).
  public static let maximumLength = 255

  /// The name's bytes, including its leading `/`: exactly what the kernel gets.
  public let bytes: [UInt8]

  /// The name as a `String`, including its leading `/`.
  ///
  /// Exact when the name is valid UTF-8 (see ``text``). A name that is not
  /// UTF-8 has no exact `String`: here each invalid byte becomes U+FFFD,
  /// which names *another* queue, so use ``bytes`` (or the `MsgQueueName`
  /// itself) to reach the queue, and ``description`` to show it.
  public var rawValue: String { String(decoding: bytes, as: UTF8.self) }

  /// The name as a `String` if it is valid UTF-8, otherwise `nil`.
  public var text: String? { String(validating: bytes, as: UTF8.self) }

  /// Validates `name`.
  ///
  /// - Parameter name: The name, starting with `/`.
  /// - Throws: ``HinixError`` with `EINVAL` (or `ENAMETOOLONG` for a name over
  ///   255 bytes) and a ``HinixError/detail`` saying what is wrong.
  public init(_ name: String) throws(HinixError) {
    try self.init(bytes: name.utf8)
  }

  /// Validates a name given as bytes, which need not be UTF-8.
  ///
  /// - Parameter bytes: The name, starting with `/`.
  /// - Throws: ``HinixError`` as ``init(_:)``; its ``HinixError/queueName``
  ///   shows the bytes as ``description`` does.
  public init(bytes: some Collection<UInt8>) throws(HinixError) {
    let bytes = Array(bytes)
    if let problem = Self.problem(with: bytes) {
      throw HinixError.invalid(
        problem.detail, queueName: Self.printable(bytes),
        errno: problem.tooLong ? .fileNameTooLong : .invalidArgument)
    }
    self.bytes = bytes
  }

  /// A name known to be valid, without checking it again.
  init(unchecked name: String) {
    bytes = Array(name.utf8)
  }

  /// Validates `name`, first adding a leading `/` if it has none, as
  /// `mqsend` and `mqrecv` do.
  ///
  /// - Throws: ``HinixError`` as ``init(_:)``.
  public init(addingSlashTo name: String) throws(HinixError) {
    try self.init(addingSlashTo: Array(name.utf8))
  }

  /// Validates a name given as bytes, first adding a leading `/` if it has none.
  ///
  /// - Throws: ``HinixError`` as ``init(_:)``.
  public init(addingSlashTo bytes: some Collection<UInt8>) throws(HinixError) {
    let bytes = Array(bytes)
    try self.init(bytes: bytes.first == UInt8(ascii: "/") ? bytes : [UInt8(ascii: "/")] + bytes)
  }

  /// The name as printable text, including its leading `/`: valid UTF-8 as
  /// it is, but `\\` for a backslash and `\xNN` for every byte that is not
  /// printable UTF-8 (control characters such as ESC, tab and newline,
  /// invalid UTF-8, and the Unicode controls that reorder text). So
  /// `/jobs` shows as `/jobs`, `/r` followed by the byte 0xFF as `/r\xff`,
  /// and a name with an escape sequence cannot act on a terminal. The
  /// escapes are bash's `$'…'` ones: `hinix mq rm $'/r\xff'`.
  public var description: String { Self.printable(bytes) }

  /// Calls `body` with the name as a NUL-terminated C string, for C functions
  /// such as `mq_open`.
  public func withCString<R>(_ body: (UnsafePointer<CChar>) throws -> R) rethrows -> R {
    try (bytes + [0]).withUnsafeBufferPointer { buffer in
      try buffer.withMemoryRebound(to: CChar.self) { try body($0.baseAddress!) }
    }
  }

  /// Orders names by their bytes.
  public static func < (lhs: MsgQueueName, rhs: MsgQueueName) -> Bool {
    lhs.bytes.lexicographicallyPrecedes(rhs.bytes)
  }

  /// `bytes` as printable text, as ``description`` shows a name.
  package static func printable(_ bytes: some Collection<UInt8>) -> String {
    PrintableText.escaping(bytes, .name)
  }

  /// Why `bytes` is not a valid queue name, or `nil` if it is.
  static func problem(with bytes: [UInt8]) -> (detail: String, tooLong: Bool)? {
    guard let first = bytes.first else {
      return ("the name is empty; a queue name is \"/\" followed by 1 to 255 characters", false)
    }
    guard first == UInt8(ascii: "/") else {
      return ("a queue name must start with \"/\" (try \"/\(printable(bytes))\")", false)
    }
    let rest = bytes.dropFirst()
    if rest.isEmpty {
      return ("\"/\" alone is not a queue name; add 1 to 255 characters after the slash", false)
    }
    if rest.contains(UInt8(ascii: "/")) {
      return ("a queue name has exactly one \"/\", at the start", false)
    }
    if rest.contains(0) {
      return ("a queue name cannot contain a NUL byte", false)
    }
    if rest.count > maximumLength {
      return (
        "the name is \(rest.count) bytes after the slash; the maximum is \(maximumLength) (NAME_MAX)",
        true
      )
    }
    if rest.elementsEqual([UInt8(ascii: ".")]) || rest.elementsEqual([UInt8(ascii: "."), UInt8(ascii: ".")]) {
      return ("\"\(printable(bytes))\" is reserved and cannot name a queue", false)
    }
    return nil
  }
}
