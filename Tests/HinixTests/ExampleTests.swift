// The examples under Examples/ run and do what their comments say.
import Testing
import ToolTestSupport

@Suite("Examples", .timeLimit(.minutes(1)))
struct ExampleTests {
  @Test("Producer and consumer in two processes agree on count and sum")
  func producerConsumer() async throws {
    let result = try await onThread { try run("example-producer-consumer", ["2000"], timeout: .seconds(30)) }
    #expect(result.status == 0, "\(result)")
    #expect(result.out.contains("consumer"))
    #expect(result.out.contains(": 2000 messages, sum 2001000"), "\(result)")
    #expect(result.out.contains("sent 2000 messages, sum 2001000; consumer exited with 0"), "\(result)")
  }

  @Test("The event loop handles ten messages, ticks, and quits on the eventfd")
  func eventLoop() async throws {
    let result = try await onThread { try run("example-event-loop", [], timeout: .seconds(30)) }
    #expect(result.status == 0, "\(result)")
    #expect(result.out.contains("tick 1:"), "\(result)")
    #expect(result.out.contains("and 10 messages"), "\(result)")
  }
}
