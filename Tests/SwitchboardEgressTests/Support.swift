import AsyncHTTPClient
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import Synchronization
@testable import SwitchboardEgress

let testLogger: Logger = {
    var logger = Logger(label: "egress-test")
    logger.logLevel = .debug
    return logger
}()

/// The paths a loopback server was asked for, in order.
final class PathLog: Sendable {
    private let paths = Mutex<[String]>([])
    func append(_ path: String) { paths.withLock { $0.append(path) } }
    var all: [String] { paths.withLock { $0 } }
}

/// Runs a loopback HTTP server on 127.0.0.1 and a free port for `body`: `/hello` answers
/// 200 "hello", `/redirect` answers 302 to `/hello`.
func withLoopbackServer<Result: Sendable>(
    _ body: @Sendable (_ port: Int, _ log: PathLog) async throws -> Result
) async throws -> Result {
    let log = PathLog()
    let router = Router()
    router.get("/hello") { _, _ -> Response in
        log.append("/hello")
        return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "hello")))
    }
    router.get("/redirect") { request, _ -> Response in
        log.append("/redirect")
        var headers = HTTPFields()
        headers[.location] = "http://\(request.head.authority ?? "127.0.0.1")/hello"
        return Response(status: .found, headers: headers)
    }
    let (ports, continuation) = AsyncStream<Int>.makeStream()
    var quiet = Logger(label: "loopback-server")
    quiet.logLevel = .error
    let app = Application(
        router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
        onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) }, logger: quiet)
    let group = ServiceGroup(services: [app], gracefulShutdownSignals: [], logger: quiet)
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw CancellationError() }
        do {
            let result = try await body(port, log)
            await group.triggerGracefulShutdown()
            return result
        } catch {
            await group.triggerGracefulShutdown()
            throw error
        }
    }
}

/// Runs `body` with a gate and a client made from it, and shuts both down.
func withGate<Result>(
    _ configuration: EgressGate.Configuration, resolver: (any EgressResolver)? = nil,
    _ body: (EgressGate, HTTPClient) async throws -> Result
) async throws -> Result {
    let gate = EgressGate(configuration, resolver: resolver, logger: testLogger)
    var clientConfiguration = HTTPClient.Configuration()
    clientConfiguration.timeout = .init(connect: .seconds(5))
    let client = gate.makeHTTPClient(clientConfiguration)
    do {
        let result = try await body(gate, client)
        try await client.shutdown()
        await gate.shutdown()
        return result
    } catch {
        try? await client.shutdown()
        await gate.shutdown()
        throw error
    }
}

/// A GET of `url` with a 10 s deadline; its status and body.
func get(_ client: HTTPClient, _ url: String) async throws -> (status: Int, body: String) {
    let response = try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(10))
    let body = try await response.body.collect(upTo: 1 << 20)
    return (Int(response.status.code), String(buffer: body))
}

/// A resolver that answers scripted names (an answer per lookup, the last one repeated)
/// and every other host with the system's `getaddrinfo`, numeric forms included.
final class ScriptedResolver: EgressResolver {
    let script: [String: [[String]]]
    private let counts = Mutex<[String: Int]>([:])

    init(_ script: [String: [[String]]]) {
        self.script = script
    }

    /// How often `name` was looked up.
    func lookups(_ name: String) -> Int { counts.withLock { $0[name] ?? 0 } }

    func addresses(of host: String, port: Int) async throws -> [SocketAddress] {
        guard let answers = script[host] else { return try GetaddrinfoResolver.resolve(host, port: port) }
        let index = counts.withLock { counts in
            defer { counts[host, default: 0] += 1 }
            return min(counts[host] ?? 0, answers.count - 1)
        }
        return try answers[index].map { try SocketAddress(ipAddress: $0, port: port) }
    }
}

/// Connects to the gate without AsyncHTTPClient, sends `request` (if any), and returns all
/// it answers until it closes the connection.
func rawExchange(gatePort: Int, request: String?) async throws -> String {
    let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .connect(host: "127.0.0.1", port: gatePort) { channel in
            channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
        }
    return try await channel.executeThenClose { inbound, outbound in
        if let request {
            // On a loaded machine a short handshake timeout can pass before this write: the
            // gate has answered and closed, and what it said is still there to read.
            do { try await outbound.write(ByteBuffer(string: request)) } catch ChannelError.ioOnClosedChannel {}
        }
        var answer = ""
        for try await chunk in inbound { answer += String(buffer: chunk) }
        return answer
    }
}
