import Logging
import SwitchboardEgress
import SwitchboardProviders
import SwitchboardProvidersTesting

/// Runs `body` with a fake model server and a transport allowed to reach loopback (through
/// an egress gate, as in production), and shuts them down.
func withFakeServer<T>(
    _ body: (FakeModelServer, AsyncHTTPProviderTransport) async throws -> T
) async throws -> T {
    try await FakeModelServer.withServer { server in
        try await withTransport(allowPrivate: true) { transport, _ in try await body(server, transport) }
    }
}

/// Runs `body` with a transport out through a gate of its own, and shuts both down.
func withTransport<T>(
    allowPrivate: Bool, resolver: (any EgressResolver)? = nil, handshakeTimeout: Duration = .seconds(10),
    _ body: (AsyncHTTPProviderTransport, EgressGate) async throws -> T
) async throws -> T {
    var configuration = EgressGate.Configuration(allowPrivate: allowPrivate)
    configuration.handshakeTimeout = handshakeTimeout
    let gate = EgressGate(configuration, resolver: resolver, logger: Logger(label: "egress-test"))
    let transport = AsyncHTTPProviderTransport(gate: gate)
    do {
        let result = try await body(transport, gate)
        try await transport.shutdown()
        await gate.shutdown()
        return result
    } catch {
        try? await transport.shutdown()
        await gate.shutdown()
        throw error
    }
}
