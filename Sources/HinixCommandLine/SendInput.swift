import Hinix

#if canImport(Glibc)
  import Glibc
#endif

/// How `mqsend` cuts standard input into messages.
public enum SendFraming: Sendable, Hashable {
  /// All of the input is one message (it may be empty).
  case whole
  /// One message per line, without its newline. A final newline ends the
  /// last line rather than starting an empty one; empty input is no message.
  case lines
  /// Messages separated by NUL bytes, as `find -print0` writes them. A final
  /// NUL ends the last message; empty input is no message.
  case nullSeparated
}

/// The messages `mqsend` reads from standard input, all of them before it
/// opens a queue, so that an input it cannot read sends nothing and creates nothing.
public enum SendInput {
  /// The most input `mqsend` holds: 64 MiB.
  public static let maximumBytes = 64 << 20
  /// The most messages one input may hold: 1,048,576.
  public static let maximumMessages = 1 << 20

  /// Reads all of `descriptor` and cuts it into messages.
  ///
  /// The messages are slices of one buffer, in input order, byte for byte.
  ///
  /// - Throws: ``SendInputError`` if the input cannot be read or is too large.
  public static func messages(
    from descriptor: CInt = STDIN_FILENO, framing: SendFraming
  ) throws(SendInputError) -> [ArraySlice<UInt8>] {
    try split(try readAll(descriptor), framing: framing)
  }

  /// Cuts `bytes` into messages as `framing` says.
  ///
  /// - Throws: ``SendInputError/tooManyMessages`` for more than ``maximumMessages``.
  public static func split(
    _ bytes: [UInt8], framing: SendFraming
  ) throws(SendInputError) -> [ArraySlice<UInt8>] {
    let separator: UInt8
    switch framing {
    case .whole: return [bytes[...]]
    case .lines: separator = UInt8(ascii: "\n")
    case .nullSeparated: separator = 0
    }
    guard !bytes.isEmpty else { return [] }
    // A final separator ends the last message instead of starting another.
    let body = bytes.last == separator ? bytes.dropLast() : bytes[...]
    var separators = 0
    for byte in body where byte == separator { separators += 1 }
    guard separators < maximumMessages else { throw .tooManyMessages }
    return body.split(separator: separator, omittingEmptySubsequences: false)
  }

  /// All the bytes `read(2)` gives until end of file, retrying after `EINTR`.
  static func readAll(_ descriptor: CInt) throws(SendInputError) -> [UInt8] {
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 64 << 10)
    while true {
      let (count, code) = chunk.withUnsafeMutableBytes { buffer in
        let count = read(descriptor, buffer.baseAddress, buffer.count)
        return (count, errno)
      }
      if count == 0 { return bytes }
      if count < 0 {
        if code == EINTR { continue }
        throw .unreadable(Errno(rawValue: code))
      }
      guard bytes.count + count <= maximumBytes else { throw .tooLarge }
      bytes += chunk[..<count]
    }
  }

  /// Checks that every message fits the queue's message size, as the kernel
  /// reported it, so that a message that cannot go is found before any is sent.
  ///
  /// - Throws: ``MessageTooLong`` for the first message that does not fit.
  public static func checkSizes(_ messages: [ArraySlice<UInt8>], fit queue: MsgQueue)
    throws(MessageTooLong)
  {
    guard let index = messages.firstIndex(where: { $0.count > queue.messageSize }) else { return }
    throw MessageTooLong(
      number: index + 1, of: messages.count, size: messages[index].count, queueName: queue.name,
      messageSize: queue.messageSize)
  }
}

/// Why standard input gave no messages.
public enum SendInputError: Error, Hashable, CustomStringConvertible {
  /// `read(2)` failed.
  case unreadable(Errno)
  /// The input is larger than ``SendInput/maximumBytes``.
  case tooLarge
  /// The input holds more than ``SendInput/maximumMessages`` messages.
  case tooManyMessages

  /// One line, saying that nothing was sent.
  public var description: String {
    let partsAdvice = "mqsend holds all of its input before sending any of it, so send it in parts"
    switch self {
    case .unreadable(let errno):
      return
        "cannot read standard input: \(errno.description) (\(errno.symbolicName)); nothing was sent"
    case .tooLarge:
      return "standard input is over \(SendInput.maximumBytes >> 20) MiB; \(partsAdvice)"
    case .tooManyMessages:
      return "standard input holds over \(SendInput.maximumMessages) messages; \(partsAdvice)"
    }
  }
}

/// A message longer than the queue's message size, found before anything was sent.
public struct MessageTooLong: Error, Hashable, CustomStringConvertible {
  /// The message's position in the input, from 1.
  public var number: Int
  /// How many messages the input holds.
  public var count: Int
  /// The message's length in bytes.
  public var size: Int
  /// The queue.
  public var queueName: MsgQueueName
  /// The queue's message size in bytes.
  public var messageSize: Int

  /// Describes message `number` of `count`, `size` bytes long, and the queue it does not fit.
  public init(number: Int, of count: Int, size: Int, queueName: MsgQueueName, messageSize: Int) {
    self.number = number
    self.count = count
    self.size = size
    self.queueName = queueName
    self.messageSize = messageSize
  }

  /// `message 2 is 100 bytes, but the queue "/x" holds messages of at most 64 bytes; nothing was sent`.
  public var description: String {
    let which = count == 1 ? "the message" : "message \(number)"
    return "\(which) is \(size) bytes, but the queue \"\(queueName)\" holds messages of at most"
      + " \(messageSize) bytes; nothing was sent"
  }
}
