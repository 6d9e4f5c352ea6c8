/// A validated POSIX message queue name.
///
/// A name is a `/` followed by 1 to 255 bytes (`NAME_MAX`) containing no
/// further `/` and no NUL; `/.` and `/..` are not allowed. Hinix checks this
/// before any system call, so an invalid name fails with an error that says
/// what is wrong instead of the kernel's bare `EINVAL`, `EACCES` or `ENOENT`.
///
/// ```swift
/// let name = try MsgQueueName("/orders")
/// let fixed = try MsgQueueName(addingSlashTo: "orders")   // "/orders"
/// ```
///
/// See `mq_overview(7)`, section DESCRIPTION.
public struct MsgQueueName: Hashable, Sendable, CustomStringConvertible, Comparable {
  /// The longest name after the leading slash, in bytes (`NAME_MAX`).
  public static let maximumLength = 255

  /// The name, including its leading `/`.
  public let rawValue: String

  /// Validates `name`.
  ///
  /// - Parameter name: The name, starting with `/`.
  /// - Throws: ``HinixError`` with `EINVAL` (or `ENAMETOOLONG` for a name over
  ///   255 bytes) and a ``HinixError/detail`` saying what is wrong.
  public init(_ name: String) throws(HinixError) {
    if let problem = Self.problem(with: name) {
      throw HinixError.invalid(
        problem.detail, queueName: name,
        errno: problem.tooLong ? .fileNameTooLong : .invalidArgument)
    }
    rawValue = name
  }

  /// A name known to be valid, without checking it again.
  init(unchecked name: String) {
    rawValue = name
  }

  /// Validates `name`, first adding a leading `/` if it has none, as
  /// `mqsend` and `mqrecv` do.
  ///
  /// - Throws: ``HinixError`` as ``init(_:)``.
  public init(addingSlashTo name: String) throws(HinixError) {
    try self.init(name.hasPrefix("/") ? name : "/" + name)
  }

  /// The name, including its leading `/`.
  public var description: String { rawValue }

  /// Orders names by their bytes.
  public static func < (lhs: MsgQueueName, rhs: MsgQueueName) -> Bool { lhs.rawValue < rhs.rawValue }

  /// Why `name` is not a valid queue name, or `nil` if it is.
  static func problem(with name: String) -> (detail: String, tooLong: Bool)? {
    let bytes = Array(name.utf8)
    guard let first = bytes.first else {
      return ("the name is empty; a queue name is \"/\" followed by 1 to 255 characters", false)
    }
    guard first == UInt8(ascii: "/") else {
      return ("a queue name must start with \"/\" (try \"/\(name)\")", false)
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
    if name == "/." || name == "/.." {
      return ("\"\(name)\" is reserved and cannot name a queue", false)
    }
    return nil
  }
}
