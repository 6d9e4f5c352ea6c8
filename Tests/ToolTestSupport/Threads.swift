#if canImport(Glibc)
  import Glibc
#endif

// Swift Testing runs every test, synchronous ones included, on the
// cooperative pool, which has one thread per core: two on CI's machines. A
// test that blocks one of them (a subprocess that runs for a minute, a
// blocking receive) slows every other test's `await` on the pool, and two
// such tests stop it. Blocking work therefore goes on threads of its own.

/// Runs `body` on a new thread of its own and suspends, without occupying a
/// thread of the cooperative pool, until it returns.
public func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
  try await withCheckedThrowingContinuation { continuation in
    startThread { continuation.resume(with: Result { try body() }) }
  }
}

/// Runs `body` on a new detached thread.
public func startThread(_ body: @escaping @Sendable () -> Void) {
  var thread = pthread_t()
  let context = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
  let result = pthread_create(
    &thread, nil,
    { context in
      Unmanaged<ThreadBody>.fromOpaque(context!).takeRetainedValue().run()
      return nil
    }, context)
  precondition(result == 0, "pthread_create: \(result)")
  pthread_detach(thread)
}

private final class ThreadBody: Sendable {
  let run: @Sendable () -> Void
  init(_ run: @escaping @Sendable () -> Void) { self.run = run }
}

/// ``run(_:_:input:timeout:environment:)`` for `async` tests: the tool runs and
/// is waited for on a thread of its own, never on the cooperative pool.
public func run(
  _ tool: String, _ arguments: [String], input: ToolInput = .empty,
  timeout: Duration = .seconds(20), environment: [String: String] = [:]
) async throws -> ToolResult {
  try await onThread {
    try runExecutable(
      toolDirectory + "/" + tool, arguments, input: input, timeout: timeout, environment: environment)
  }
}
