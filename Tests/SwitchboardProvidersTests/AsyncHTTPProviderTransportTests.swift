import NIOCore
import NIOPosix
import Synchronization
import SwitchboardCore
import SwitchboardEgress
import SwitchboardProviders
import SwitchboardProvidersTesting
import Testing

@Suite("AsyncHTTP provider transport")
struct AsyncHTTPProviderTransportTests {
    @Test(
        "refuses private hosts, in every textual form the resolver reads, before connecting",
        arguments: [
            "http://127.0.0.1:PORT/v1", "http://localhost:PORT/v1", "http://[::1]:PORT/v1", "http://[::ffff:127.0.0.1]:PORT/v1",
            "http://2130706433:PORT/v1", "http://0:PORT/v1", "http://127.1:PORT/v1", "http://[0:0:0:0:0:ffff:7f00:1]:PORT/v1",
            "http://models.loopback.test:PORT/v1",
        ])
    func refusesPrivate(template: String) async throws {
        try await FakeModelServer.withServer { server in
            let resolver = OneNameResolver(name: "models.loopback.test", answers: [["127.0.0.1"]])
            try await withTransport(allowPrivate: false, resolver: resolver) { transport, gate in
                let provider = OpenAIChatProvider(
                    endpoint: ProviderEndpoint(kind: .openaiCompatible, baseURL: template.replacingPort(server.port)),
                    transport: transport)
                let error = await providerError { try await provider.complete(request((.user, "Hi"))) }
                let streamed = await drain(provider.stream(request((.user, "Hi")))).error as? ModelProviderError
                // One text for a refusal and a port that is closed: the record maps no network.
                #expect(error?.kind == .network)
                #expect(error?.message.hasPrefix("could not connect to ") == true, "\(String(describing: error))")
                #expect(streamed?.kind == .network)
                #expect(await server.requests.isEmpty)
                #expect(gate.statistics.refused == 2)
                #expect(gate.statistics.opened == 0)
            }
        }
    }

    @Test("a name whose DNS answer turns to loopback after the check reaches nothing (no second lookup)")
    func rebinding() async throws {
        try await FakeModelServer.withServer { server in
            // Public for the first lookup, loopback for any later one: the old transport
            // checked the first and let its HTTP client connect to the second.
            let resolver = OneNameResolver(name: "rebind.example.test", answers: [["192.0.2.1"], ["127.0.0.1"]])
            try await withTransport(allowPrivate: false, resolver: resolver, handshakeTimeout: .milliseconds(500)) { transport, gate in
                let provider = OpenAIChatProvider(
                    endpoint: ProviderEndpoint(kind: .openaiCompatible, baseURL: "http://rebind.example.test:\(server.port)/v1"),
                    transport: transport)
                let first = await providerError { try await provider.complete(request((.user, "Hi"))) }
                #expect(first?.kind == .network)
                #expect(resolver.lookups == 1, "the gate looked the name up once, and connected to what it checked")
                let second = await providerError { try await provider.complete(request((.user, "Hi"))) }
                #expect(second?.kind == .network)
                #expect(gate.statistics.refused == 1)
                #expect(await server.requests.isEmpty)
            }
        }
    }

    @Test("allows private hosts when told to, still through the gate")
    func allowsPrivate() async throws {
        try await FakeModelServer.withServer { server in
            try await withTransport(allowPrivate: true) { transport, gate in
                let response = try await transport.send(
                    ProviderHTTPRequest(
                        url: server.openAIBase + "/chat/completions", headers: [], body: Array(#"{"messages":[]}"#.utf8)),
                    timeout: .seconds(5))
                #expect(response.status == 200)
                #expect(gate.statistics.opened == 1)
            }
        }
    }
}

extension String {
    func replacingPort(_ port: Int) -> String {
        split(separator: "PORT", omittingEmptySubsequences: false).joined(separator: String(port))
    }
}

/// A resolver that answers one name from a script (an answer per lookup, the last one
/// repeated) and every other host with the system's `getaddrinfo`, numeric forms included.
final class OneNameResolver: EgressResolver {
    let name: String
    let answers: [[String]]
    private let count = Mutex(0)
    private let system = GetaddrinfoResolver(threadPool: .singleton)

    init(name: String, answers: [[String]]) {
        self.name = name
        self.answers = answers
    }

    /// How often the scripted name was looked up.
    var lookups: Int { count.withLock { $0 } }

    func addresses(of host: String, port: Int) async throws -> [SocketAddress] {
        guard host == name else { return try await system.addresses(of: host, port: port) }
        let index = count.withLock { count in
            defer { count += 1 }
            return min(count, answers.count - 1)
        }
        return try answers[index].map { try SocketAddress(ipAddress: $0, port: port) }
    }
}
