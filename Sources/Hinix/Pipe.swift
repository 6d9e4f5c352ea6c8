import CHinix
import SystemPackage

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// A pipe: a one-way byte stream from its ``writer`` to its ``reader``.
///
/// ```swift
/// let pipe = try Pipe()
/// try pipe.writer.writeAll("ready\n".utf8)
/// try pipe.writer.close()
/// let bytes = try pipe.reader.readToEnd()   // "ready\n"
/// ```
///
/// Both ends are opened close-on-exec, and each closes exactly once, by its
/// `close()` or when it is deinitialised. To hand an end to a child process,
/// map it onto a descriptor in the child (for example with
/// `posix_spawn_file_actions_adddup2`, which clears close-on-exec on the copy).
///
/// See `pipe(7)`.
public struct Pipe: Sendable {
  /// The end that reads.
  public let reader: End
  /// The end that writes.
  public let writer: End

  /// Creates a pipe.
  ///
  /// - Parameter nonBlocking: Whether reads of an empty pipe and writes to a
  ///   full one fail with `EAGAIN` instead of waiting (`O_NONBLOCK`, on both ends).
  /// - Throws: ``HinixError``: `EMFILE` or `ENFILE` when descriptors run out.
  ///
  /// The corresponding C function is `pipe2`, with `O_CLOEXEC`.
  public init(nonBlocking: Bool = false) throws(HinixError) {
    var fds: (CInt, CInt) = (-1, -1)
    let result = withUnsafeMutableBytes(of: &fds) {
      CHinix_pipe2($0.baseAddress!.assumingMemoryBound(to: CInt.self),
        O_CLOEXEC | (nonBlocking ? O_NONBLOCK : 0))
    }
    guard result == 0 else {
      throw HinixError.currentOpening(.pipe2)
    }
    reader = End(fds.0)
    writer = End(fds.1)
  }

  /// One end of a pipe.
  public final class End: Sendable {
    let guarded: GuardedDescriptor

    init(_ fd: CInt) {
      guarded = GuardedDescriptor(fd, label: nil) { Glibc.close($0) }
    }

    /// Reads what is available, up to the buffer's size, waiting while the
    /// pipe is empty and its write end is open.
    ///
    /// - Parameters:
    ///   - buffer: Where to put the bytes.
    ///   - retryOnInterrupt: Whether to go on waiting when a signal interrupts the call.
    /// - Returns: How many bytes were read; 0 at end of file.
    /// - Throws: ``HinixError``.
    ///
    /// The corresponding C function is `read`.
    public func read(
      into buffer: UnsafeMutableRawBufferPointer, retryOnInterrupt: Bool = true
    ) throws(HinixError) -> Int {
      try guarded.withDescriptor(.read) { (fd) throws(HinixError) in
        let count = retrying(retryOnInterrupt) { Glibc.read(fd, buffer.baseAddress, buffer.count) }
        guard count >= 0 else { throw HinixError.current(.read) }
        return count
      }
    }

    /// Reads until end of file: until every write end is closed.
    ///
    /// - Parameter limit: The most bytes to accept, at least 0; reading more
    ///   fails with `EMSGSIZE`.
    /// - Returns: Everything that was written.
    /// - Throws: ``HinixError``: `EINVAL` for a negative `limit`, `EMSGSIZE`
    ///   when more than `limit` bytes arrive.
    public func readToEnd(limit: Int = .max) throws(HinixError) -> [UInt8] {
      guard limit >= 0 else {
        throw HinixError.invalid("the limit is \(limit) bytes; it must be at least 0")
      }
      var bytes: [UInt8] = []
      var chunk = [UInt8](repeating: 0, count: 65_536)
      while true {
        let count = try chunk.withUnsafeMutableBytes { buffer in
          Result { () throws(HinixError) in try read(into: buffer) }
        }.get()
        if count == 0 { return bytes }
        guard bytes.count + count <= limit else {
          throw HinixError(
            .messageTooLong, operation: .read,
            detail: "more than \(grouped(limit)) bytes arrived on the pipe")
        }
        bytes += chunk[..<count]
      }
    }

    /// Writes what fits, waiting while the pipe is full.
    ///
    /// - Returns: How many bytes were written.
    /// - Throws: ``HinixError``: `EPIPE` if no read end is open (the process
    ///   must ignore `SIGPIPE`, or it is killed first).
    ///
    /// The corresponding C function is `write`.
    public func write(_ bytes: UnsafeRawBufferPointer, retryOnInterrupt: Bool = true) throws(HinixError) -> Int {
      try guarded.withDescriptor(.write) { (fd) throws(HinixError) in
        let count = retrying(retryOnInterrupt) { Glibc.write(fd, bytes.baseAddress, bytes.count) }
        guard count >= 0 else { throw HinixError.current(.write) }
        return count
      }
    }

    /// Writes all of `bytes`, in as many writes as it takes.
    ///
    /// - Throws: ``HinixError``, as ``write(_:retryOnInterrupt:)``.
    public func writeAll(_ bytes: some Sequence<UInt8>) throws(HinixError) {
      try withBytes(bytes) { (buffer) throws(HinixError) in
        var offset = 0
        while offset < buffer.count {
          offset += try write(UnsafeRawBufferPointer(rebasing: buffer[offset...]))
        }
      }
    }

    /// The end's descriptor, valid while this object is alive and not closed;
    /// see ``MsgQueue/descriptor``.
    public var descriptor: FileDescriptor { FileDescriptor(rawValue: guarded.rawValue) }

    /// Calls `body` with the descriptor, which stays open until `body` returns.
    ///
    /// - Throws: ``HinixError`` with `EBADF` if the end was closed, or what `body` throws.
    ///   Untyped, because `body` may throw any error.
    public func withDescriptor<R>(_ body: (FileDescriptor) throws -> R) throws -> R {
      try guarded.withDescriptor(.withDescriptor) { (fd) throws(HinixError) in
      Result { try body(FileDescriptor(rawValue: fd)) }
    }.get()
    }

    /// Closes the end, now or when the calls in flight return; closing again does nothing.
    ///
    /// - Throws: ``HinixError`` if the kernel reported an error.
    public func close() throws(HinixError) {
      try guarded.close(.close)
    }

    /// Whether ``close()`` has been called.
    public var isClosed: Bool { guarded.isClosed }
  }
}
