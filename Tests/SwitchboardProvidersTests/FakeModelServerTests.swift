import SwitchboardCore
import SwitchboardProviders
import SwitchboardProvidersTesting
import Testing

@Suite("Fake model server")
struct FakeModelServerTests {
    @Test("waitForRequests returns as soon as the request arrives, before the answer")
    func waitsForArrival() async throws {
        try await withFakeServer { server, transport in
            await server.enqueue(.delay(.milliseconds(300)))
            let provider = OpenAIChatProvider(
                endpoint: ProviderEndpoint(kind: .openaiCompatible, baseURL: server.openAIBase), transport: transport)
            async let answer = provider.complete(request((.user, "slow")))
            let arrived = try await server.waitForRequests(count: 1)
            #expect(arrived.count == 1)
            #expect(arrived.first?.json?["messages"]?[0]?["content"]?.string == "slow")
            #expect(try await answer.text == "reply to: slow")
        }
    }

    @Test("waitForRequests fails when too few requests arrive in time")
    func waitTimesOut() async throws {
        try await FakeModelServer.withServer { server in
            await #expect(throws: FakeModelServerError.self) {
                try await server.waitForRequests(count: 1, timeout: .milliseconds(50))
            }
        }
    }

    @Test("uses the script in order, then the default")
    func script() async throws {
        try await withFakeServer { server, transport in
            await server.setDefault(.answer("default"))
            await server.enqueue(.answer("first"), .status(500))
            let provider = GeminiProvider(
                endpoint: ProviderEndpoint(kind: .gemini, baseURL: server.geminiBase, apiKey: "k"), transport: transport)
            let first = try await provider.complete(request((.user, "1")))
            let second = await providerError { try await provider.complete(request((.user, "2"))) }
            let third = try await provider.complete(request((.user, "3")))
            #expect(first.text == "first")
            #expect(second?.kind == .server)
            #expect(third.text == "default")
            #expect(try await server.waitForRequests(count: 3).map(\.api) == [.gemini, .gemini, .gemini])
        }
    }
}
