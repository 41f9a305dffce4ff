import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import SwitchboardPostgres
import SwitchboardTestSupport
import Synchronization
import Testing

/// The built `switchboard` executable, run as an operator runs it: `serve` on a database of
/// its own, reached over HTTP, stopped with SIGINT. What only the process does — taking Swift
/// Concurrency onto the event loops, reading its environment, stopping on a signal — is
/// covered here and nowhere else.
@Suite("The switchboard binary", .timeLimit(.minutes(2)))
struct ServeBinaryTests {
    @Test("serve runs its tasks on the event loops, migrates, answers the API and its errors, and stops cleanly on SIGINT")
    func eventLoops() async throws {
        let output = try await Self.serve(environment: [:])
        #expect(output.contains("tasks run on the event loops"), "\(output)")
    }

    @Test("SWITCHBOARD_EVENT_LOOP_EXECUTOR=false keeps the runtime's threads, and the server works the same")
    func runtimePool() async throws {
        let output = try await Self.serve(environment: ["SWITCHBOARD_EVENT_LOOP_EXECUTOR": "false"])
        #expect(output.contains("tasks run on the concurrency runtime's own threads"), "\(output)")
        #expect(!output.contains("tasks run on the event loops"))
    }

    @Test("a malformed SWITCHBOARD_EVENT_LOOP_EXECUTOR, as a variable or a flag, stops start-up with one clear line")
    func malformed() async throws {
        for (environment, arguments) in [(["SWITCHBOARD_EVENT_LOOP_EXECUTOR": "sometimes"], []), ([:], ["--event-loop-executor", "maybe"])] {
            let server = try ServerProcess(environment: environment, database: "postgresql://unused@127.0.0.1:1/x", arguments: arguments)
            let status = await server.exit()
            #expect(status == 1)
            #expect(server.output.contains("SWITCHBOARD_EVENT_LOOP_EXECUTOR must be true or false"), "\(server.output)")
        }
    }

    static let admin = "binary-test-admin-token"

    /// Starts `serve` on a new database, creates a tenant through the operator API, reads it
    /// back with its key, is refused without one, and stops the process; answers what the
    /// process logged.
    static func serve(environment: [String: String]) async throws -> String {
        let database = try await TestDatabase.shared.freshDatabase(prefix: "binary")
        let server = try ServerProcess(environment: environment, database: database.url)
        do {
            let port = try await server.port()
            let base = "http://127.0.0.1:\(port)"

            var create = HTTPClientRequest(url: "\(base)/admin/tenants")
            create.method = .POST
            create.headers.add(name: "Authorization", value: "Bearer \(admin)")
            create.headers.add(name: "Content-Type", value: "application/json")
            create.body = .bytes(ByteBuffer(string: #"{"name":"Binary Test"}"#))
            let created = try await Self.fetch(create)
            #expect(created.status == 201, "\(created.body)")
            let tenant = try #require(try JSONSerialization.jsonObject(with: Data(created.body.utf8)) as? [String: Any])
            let key = try #require(tenant["api_key"] as? String)

            var read = HTTPClientRequest(url: "\(base)/v1/tenant")
            read.headers.add(name: "Authorization", value: "Bearer \(key)")
            let own = try await Self.fetch(read)
            #expect(own.status == 200, "\(own.body)")
            #expect(own.body.contains("Binary Test"))

            let refused = try await Self.fetch(HTTPClientRequest(url: "\(base)/v1/tenant"))
            #expect(refused.status == 401)
            #expect(refused.body.contains(#""error""#), "the JSON error envelope: \(refused.body)")

            // The container's health check: the binary asks the running server.
            #expect(try await health(port: port) == 0)
        } catch {
            server.interrupt()
            _ = await server.exit()
            throw error
        }
        server.interrupt()
        let status = await server.exit()
        #expect(status == 0, "\(server.output)")
        return server.output
    }

    /// `switchboard health --port <port>`'s exit status.
    static func health(port: Int, environment: [String: String] = [:]) async throws -> Int32 {
        let probe = try ServerProcess(
            environment: environment, database: "postgresql://unused@127.0.0.1:1/x", command: ["health"], arguments: ["--port", "\(port)"]
        )
        return await probe.exit()
    }

    @Test("switchboard health exits 1 when nothing answers /ready, and a malformed SWITCHBOARD_PORT is named")
    func healthWithoutServer() async throws {
        // A port nothing listens on: one the system just gave out and took back.
        let closed = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(closed.localAddress?.port)
        try await closed.close()
        #expect(try await Self.health(port: port) == 1)

        let probe = try ServerProcess(
            environment: ["SWITCHBOARD_PORT": "eighty"], database: "postgresql://unused@127.0.0.1:1/x", command: ["health"]
        )
        #expect(await probe.exit() == 1)
        #expect(probe.output.contains("SWITCHBOARD_PORT must be an integer from 0 to 65535"), "\(probe.output)")
    }

    static func fetch(_ request: HTTPClientRequest) async throws -> (status: Int, body: String) {
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), String(buffer: body))
    }
}

/// A `switchboard serve` child process with its log collected; the port it listens on is
/// read from its start-up line, so the test waits on an event, not a clock.
final class ServerProcess {
    private let process: Process
    private let pipe = Pipe()
    private let home: URL
    private let transcript = Transcript()
    private let lines: AsyncStream<String>
    private let ended: AsyncStream<Int32>

    init(environment: [String: String], database: String, command: [String] = ["serve"], arguments: [String] = []) throws {
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent("switchboard")
        try #require(FileManager.default.isExecutableFile(atPath: executable.path), "no built binary at \(executable.path)")
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-binary-\(UUID().uuidString.prefix(8))")
        self.home = home
        var variables = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SWITCHBOARD_") && $0.key != "DATABASE_URL" }
        variables["DATABASE_URL"] = database
        variables["SWITCHBOARD_HOME"] = home.path
        variables["SWITCHBOARD_PORT"] = "0"
        // The test cluster's app role password derives from this key: the server must agree.
        variables["SWITCHBOARD_MASTER_KEY"] = TestDatabase.masterKey
        variables["SWITCHBOARD_ADMIN_TOKEN"] = ServeBinaryTests.admin
        variables["SWITCHBOARD_WORKERS"] = "1"
        variables["SWITCHBOARD_LOG_LEVEL"] = "info"
        variables.merge(environment) { $1 }

        process = Process()
        process.executableURL = executable
        process.arguments = command + arguments
        process.environment = variables
        let pipe = self.pipe
        process.standardError = pipe
        process.standardOutput = pipe

        let (lines, lineSink) = AsyncStream.makeStream(of: String.self)
        let (ended, endSink) = AsyncStream.makeStream(of: Int32.self)
        self.lines = lines
        self.ended = ended
        let transcript = self.transcript
        pipe.fileHandleForReading.readabilityHandler = { handle in
            transcript.reading(true)
            defer { transcript.reading(false) }
            let data = handle.availableData
            guard !data.isEmpty else {
                handle.readabilityHandler = nil
                lineSink.finish()
                return
            }
            for line in transcript.append(String(decoding: data, as: UTF8.self)) { lineSink.yield(line) }
        }
        process.terminationHandler = { process in
            endSink.yield(process.terminationStatus)
            endSink.finish()
        }
        try process.run()
    }

    /// Everything the process wrote so far.
    var output: String { transcript.text }

    /// The port from Hummingbird's "Server started and listening on HOST:PORT" line.
    func port() async throws -> Int {
        for await line in lines {
            guard let range = line.range(of: "listening on ") else { continue }
            let address = line[range.upperBound...].prefix { $0 != "\"" && $0 != " " }
            if let port = address.split(separator: ":").last.flatMap({ Int($0) }) { return port }
        }
        throw ServerProcessError(output: output)
    }

    func interrupt() { process.interrupt() }

    /// The exit status, once the process has ended and all it wrote has been read (the
    /// end of the process and the end of its output arrive separately).
    func exit() async -> Int32 {
        for await _ in ended { break }
        // Everything the process wrote before it ended is in the pipe by now: wait until the
        // reader has taken all of it. Not for the pipe's end (EOF): a process started
        // elsewhere in the suite at the same moment can hold an inherited copy of the write
        // end for as long as it runs (seen in CI: this waited out the 120 s limit).
        let descriptor = pipe.fileHandleForReading.fileDescriptor
        while transcript.isReading || Self.unread(descriptor) > 0 { await Task.yield() }
        try? FileManager.default.removeItem(at: home)
        return process.terminationStatus
    }

    /// Bytes waiting in the pipe, not yet read.
    static func unread(_ descriptor: Int32) -> Int32 {
        var count: Int32 = 0
        let status = withUnsafeMutablePointer(to: &count) { ioctl(descriptor, UInt(FIONREAD), $0) }
        return status == 0 ? count : 0
    }
}

/// What a process wrote, kept whole and cut into complete lines as it arrives.
final class Transcript: Sendable {
    private let state = Mutex((text: "", partial: "", reading: 0))

    var text: String { state.withLock { $0.text } }

    /// Whether the reader is between taking bytes from the pipe and adding them here.
    var isReading: Bool { state.withLock { $0.reading > 0 } }

    func reading(_ started: Bool) { state.withLock { $0.reading += started ? 1 : -1 } }

    /// Adds a chunk; answers the lines it completed.
    func append(_ chunk: String) -> [String] {
        state.withLock { state in
            state.text += chunk
            var lines = (state.partial + chunk).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            state.partial = lines.removeLast()
            return lines
        }
    }
}

struct ServerProcessError: Error, CustomStringConvertible {
    let output: String
    var description: String { "the server ended before it listened:\n\(output)" }
}
