import Foundation
import SwitchboardPostgres
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Running external programs")
struct SystemCommandTests {
    @Test("a program we run inherits none of our descriptors: a server it leaves running cannot hold them open")
    func inheritsNothing() async throws {
        // A pipe as a test's or a library's would be: not close-on-exec.
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        defer { close(ends[0]); close(ends[1]) }
        let result = try await SystemCommand(executable: "/bin/ls", arguments: ["/proc/self/fd"]).run()
        #expect(result.status == 0, "\(result.output)")
        let inherited = Set(result.output.split(whereSeparator: \.isNewline).compactMap { Int32($0) })
        #expect(inherited.contains(0) && inherited.contains(1), "ls lists its own descriptors: \(inherited)")
        #expect(!inherited.contains(ends[0]) && !inherited.contains(ends[1]), "the pipe \(ends) leaked into \(inherited)")
    }
}
