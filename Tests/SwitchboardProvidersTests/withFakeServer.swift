import SwitchboardProviders
import SwitchboardProvidersTesting

/// Runs `body` with a fake model server and a transport allowed to reach loopback, and
/// shuts both down.
func withFakeServer<T>(
    _ body: (FakeModelServer, AsyncHTTPProviderTransport) async throws -> T
) async throws -> T {
    try await FakeModelServer.withServer { server in
        let transport = AsyncHTTPProviderTransport(allowPrivate: true)
        do {
            let result = try await body(server, transport)
            try await transport.shutdown()
            return result
        } catch {
            try? await transport.shutdown()
            throw error
        }
    }
}
