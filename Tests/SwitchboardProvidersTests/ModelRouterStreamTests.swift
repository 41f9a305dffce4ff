import SwitchboardCore
import SwitchboardProviders
import SwitchboardProvidersTesting
import Testing

@Suite("Model router streams")
struct ModelRouterStreamTests {
    func chain(_ first: FakeModelServer, _ second: FakeModelServer, _ transport: AsyncHTTPProviderTransport) -> [RouteTarget] {
        [
            RouteTarget(
                providerID: "a",
                provider: OpenAIChatProvider(
                    endpoint: ProviderEndpoint(kind: .openai, baseURL: first.openAIBase, apiKey: "k"), transport: transport),
                model: "gpt"),
            RouteTarget(
                providerID: "b",
                provider: AnthropicProvider(
                    endpoint: ProviderEndpoint(kind: .anthropic, baseURL: second.anthropicBase, apiKey: "k"), transport: transport
                ),
                model: "claude"),
        ]
    }

    @Test("falls back while no text was sent")
    func fallbackBeforeFirstDelta() async throws {
        try await FakeModelServer.withServer { first in
            try await withFakeServer { second, transport in
                await first.setDefault(.status(500))
                let time = TestTime()
                let (events, error) = await drain(
                    time.router().stream(request((.user, "Hi")), chain: chain(first, second, transport)))
                #expect(error == nil)
                let text = events.compactMap { if case .delta(let piece) = $0 { piece } else { nil } }.joined()
                #expect(text == "reply to: Hi")
                guard case .finished(let routed) = events.last else {
                    Issue.record("no finished event")
                    return
                }
                #expect(routed.providerID == "b")
                #expect(routed.response.text == "reply to: Hi")
                #expect(routed.attempts.map(\.error?.kind) == [.server, .server, .server, nil])
            }
        }
    }

    @Test("a failure after the first delta is final: no second answer, no half answer")
    func failureAfterDeltaIsFinal() async throws {
        try await FakeModelServer.withServer { first in
            try await withFakeServer { second, transport in
                await first.enqueue(.breakStream(after: 2))
                let time = TestTime()
                let router = time.router()
                let (events, error) = await drain(router.stream(request((.user, "Hi")), chain: chain(first, second, transport)))
                #expect(events.count == 2)
                let failure = try #require(error as? RoutingFailure)
                #expect(failure.lastError.kind == .streamInterrupted)
                #expect(failure.attempts.count == 1)
                #expect(time.sleeps.isEmpty)
                #expect(await second.requests.isEmpty)

                await first.enqueue(.breakStream(after: 2))
                let collected = await routingFailure {
                    try await ModelRouter.collect(router.stream(request((.user, "Hi")), chain: chain(first, second, transport)))
                }
                #expect(collected?.lastError.kind == .streamInterrupted)
            }
        }
    }
}
