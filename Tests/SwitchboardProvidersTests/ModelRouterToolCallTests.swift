import SwitchboardCore
import SwitchboardProviders
import SwitchboardProvidersTesting
import Testing

@Suite("Model router tool calls")
struct ModelRouterToolCallTests {
    func target(_ server: FakeModelServer, _ transport: AsyncHTTPProviderTransport) -> RouteTarget {
        RouteTarget(
            providerID: "a",
            provider: OpenAIChatProvider(
                endpoint: ProviderEndpoint(kind: .openai, baseURL: server.openAIBase, apiKey: "k"), transport: transport),
            model: "gpt")
    }

    static let calls = [FakeToolCall("get_weather", #"{"city":"Paris"}"#), FakeToolCall("get_time", #"{"tz":"UTC"}"#)]

    @Test("complete passes the calls and sends the tools to the target's model")
    func complete() async throws {
        try await withFakeServer { server, transport in
            await server.enqueue(.toolCalls(Self.calls))
            let routed = try await TestTime().router().complete(ToolFixtures.request(), chain: [target(server, transport)])
            #expect(routed.response.toolCalls.map(\.name) == ["get_weather", "get_time"])
            #expect(routed.response.finishReason == .toolCalls)
            let json = try #require(await server.requests.first?.json)
            #expect(json["model"]?.string == "gpt")
            #expect(json["tools"]?.array?.count == 2)
        }
    }

    @Test("stream passes each call on, and collect keeps them")
    func stream() async throws {
        try await withFakeServer { server, transport in
            await server.enqueue(.toolCalls(Self.calls))
            let (events, error) = await drain(
                TestTime().router().stream(ToolFixtures.request(), chain: [target(server, transport)]))
            #expect(error == nil)
            let calls = events.compactMap { if case .toolCall(let call) = $0 { call } else { nil } }
            #expect(calls.map(\.id) == ["call_fake1_0", "call_fake1_1"])
            guard case .finished(let routed) = events.last else {
                Issue.record("no finished event")
                return
            }
            #expect(routed.response.toolCalls == calls)

            await server.enqueue(.toolCalls(Self.calls))
            let collected = try await ModelRouter.collect(
                TestTime().router().stream(ToolFixtures.request(), chain: [target(server, transport)]))
            #expect(collected.response.toolCalls.map(\.name) == ["get_weather", "get_time"])

            await server.enqueue(.toolCalls(Self.calls))
            let provider = target(server, transport).provider
            let direct = try await ModelRouter.collect(provider.stream(ToolFixtures.request()))
            #expect(direct.toolCalls.count == 2)
        }
    }

    @Test("a stream that fails after a call is interrupted, not retried elsewhere")
    func failureAfterCall() async throws {
        let call = ModelToolCall(id: "c", name: "get_time", arguments: "{}")
        let (stream, continuation) = AsyncThrowingStream<ModelStreamEvent, any Error>.makeStream()
        continuation.yield(.toolCall(call))
        continuation.finish(throwing: ModelProviderError(.server, "boom", status: 500))
        #expect(await providerError { try await ModelRouter.collect(stream) }?.kind == .streamInterrupted)
    }

    @Test("the local FAQ provider ignores tools")
    func localIgnoresTools() async throws {
        let provider = LocalFAQProvider(faq: [])
        let response = try await provider.complete(ToolFixtures.request(choice: .required))
        #expect(response.toolCalls.isEmpty)
        #expect(response.finishReason == .handoff)
    }

    @Test("merging consecutive turns keeps their calls and results in order")
    func mergedTurns() async throws {
        try await withFakeServer { server, transport in
            let anthropic = AnthropicProvider(
                endpoint: ProviderEndpoint(kind: .anthropic, baseURL: server.anthropicBase, apiKey: "k"), transport: transport)
            let messages = [
                ModelMessage(role: .user, text: "Go"),
                ModelMessage(role: .assistant, toolCalls: [ModelToolCall(id: "a", name: "get_time", arguments: "{}")]),
                ModelMessage(role: .assistant, toolCalls: [ModelToolCall(id: "b", name: "get_time", arguments: "not json")]),
                ModelMessage(role: .user, toolResults: [ModelToolResult(callID: "a", name: "get_time", content: "1")]),
                ModelMessage(role: .user, toolResults: [ModelToolResult(callID: "b", name: "get_time", content: "2")]),
            ]
            _ = try await anthropic.complete(ToolFixtures.request(messages))
            let sent = try #require(await server.requests.first?.json?["messages"]?.array)
            #expect(sent.count == 3)
            #expect(sent[1]["content"]?.array?.compactMap { $0["id"]?.string } == ["a", "b"])
            #expect(sent[1]["content"]?[1]?["input"] == [:], "arguments that are not an object go back as {}")
            #expect(sent[2]["content"]?.array?.compactMap { $0["tool_use_id"]?.string } == ["a", "b"])
        }
    }
}
