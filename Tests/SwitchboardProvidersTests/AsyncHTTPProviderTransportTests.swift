import SwitchboardCore
import SwitchboardProviders
import SwitchboardProvidersTesting
import Testing

@Suite("AsyncHTTP provider transport")
struct AsyncHTTPProviderTransportTests {
    @Test(
        "refuses private hosts before connecting",
        arguments: [
            "http://127.0.0.1:PORT/v1", "http://localhost:PORT/v1", "http://[::1]:PORT/v1", "http://[::ffff:127.0.0.1]:PORT/v1",
        ])
    func refusesPrivate(template: String) async throws {
        try await FakeModelServer.withServer { server in
            let transport = AsyncHTTPProviderTransport(allowPrivate: false)
            let provider = OpenAIChatProvider(
                endpoint: ProviderEndpoint(kind: .openaiCompatible, baseURL: template.replacingPort(server.port)),
                transport: transport)
            let error = await providerError { try await provider.complete(request((.user, "Hi"))) }
            let streamed = await drain(provider.stream(request((.user, "Hi")))).error as? ModelProviderError
            try await transport.shutdown()
            #expect(error?.kind == .egressRefused)
            #expect(error?.isRetryable == false)
            #expect(streamed?.kind == .egressRefused)
            #expect(await server.requests.isEmpty)
        }
    }

    @Test("allows private hosts when told to")
    func allowsPrivate() async throws {
        try await withFakeServer { server, transport in
            #expect(transport.allowPrivate)
            let response = try await transport.send(
                ProviderHTTPRequest(
                    url: server.openAIBase + "/chat/completions", headers: [], body: Array(#"{"messages":[]}"#.utf8)),
                timeout: .seconds(5))
            #expect(response.status == 200)
        }
    }
}

extension String {
    func replacingPort(_ port: Int) -> String {
        split(separator: "PORT", omittingEmptySubsequences: false).joined(separator: String(port))
    }
}
