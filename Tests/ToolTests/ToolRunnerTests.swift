import Testing
import ToolTestSupport

@Suite("The tool runner")
struct ToolRunnerTests {
  @Test("It finds the built tools and reports their exit status and output")
  func runsTools() throws {
    let result = try run("mqsend", ["--help"])
    #expect(result.status == 0, "\(result)")
    #expect(result.out.contains("mqsend"))
    #expect(!result.timedOut)
  }
}
