import SwitchboardCore
import SwitchboardProviders
import SwitchboardProvidersTesting
import Testing

@Suite("OpenAI chat provider")
struct OpenAIChatProviderTests {
    func provider(
        _ server: FakeModelServer, _ transport: AsyncHTTPProviderTransport, kind: ProviderKind = .openai,
        key: String? = "sk-test-key"
    )
        -> OpenAIChatProvider
    {
        OpenAIChatProvider(endpoint: ProviderEndpoint(kind: kind, baseURL: server.openAIBase, apiKey: key), transport: transport)
    }

    @Test("sends the system prompt first, every turn as given, max_completion_tokens and a bearer key")
    func requestShape() async throws {
        try await withFakeServer { server, transport in
            _ = try await provider(server, transport).complete(
                request(
                    model: "gpt-4.1-mini", system: "Be brief.", (.user, "Hi"), (.user, "Are you there?"), (.assistant, "Yes."),
                    (.user, "Good"), maxOutputTokens: 200, temperature: 0.2))
            let recorded = try #require(await server.requests.first)
            #expect(recorded.path == "/v1/chat/completions")
            #expect(recorded.header("authorization") == "Bearer sk-test-key")
            #expect(recorded.header("content-type") == "application/json")
            let json = try #require(recorded.json)
            #expect(json["model"]?.string == "gpt-4.1-mini")
            let messages = try #require(json["messages"]?.array)
            #expect(messages.map { $0["role"]?.string } == ["system", "user", "user", "assistant", "user"])
            #expect(messages.map { $0["content"]?.string } == ["Be brief.", "Hi", "Are you there?", "Yes.", "Good"])
            #expect(json["max_completion_tokens"]?.int == 200)
            #expect(json["max_tokens"] == nil)
            #expect(json["temperature"]?.double == 0.2)
            #expect(json["stream"] == nil)
            #expect(json["store"]?.bool == false, "OpenAI is told to keep no copy of the conversation")
        }
    }

    @Test("speaks to compatible servers with max_tokens and no Authorization when there is no key")
    func compatibleShape() async throws {
        try await withFakeServer { server, transport in
            let provider = provider(server, transport, kind: .openaiCompatible, key: nil)
            #expect(provider.kind == .openaiCompatible)
            _ = try await provider.complete(request((.user, "Hi"), maxOutputTokens: 64))
            let recorded = try #require(await server.requests.first)
            #expect(recorded.header("authorization") == nil)
            #expect(recorded.json?["max_tokens"]?.int == 64)
            #expect(recorded.json?["max_completion_tokens"] == nil)
            #expect(recorded.json?["store"] == nil)
            #expect(recorded.json?["messages"]?.array?.count == 1)
        }
    }

    @Test("takes cached tokens out of prompt tokens and reasoning tokens out of completion tokens")
    func usageNormalization() async throws {
        try await withFakeServer { server, transport in
            await server.enqueue(.answer("Hello!", usage: FakeUsage(prompt: 1000, cached: 400, completion: 300, reasoning: 120)))
            let response = try await provider(server, transport).complete(request(model: "gpt-5", (.user, "Hi")))
            #expect(response.text == "Hello!")
            #expect(response.usage == TokenUsage(input: 600, cachedInput: 400, output: 180, reasoning: 120))
            #expect(response.finishReason == .stop)
            #expect(response.model == "gpt-5")
        }
    }

    @Test(
        "maps finish reasons",
        arguments: [
            ("length", FinishReason.length), ("content_filter", .contentFilter), ("tool_calls", .toolCalls), ("stop", .stop),
            ("something_new", .other),
        ])
    func finishReasons(wire: String, expected: FinishReason) async throws {
        try await withFakeServer { server, transport in
            await server.enqueue(.answer("cut", finishReason: wire))
            let response = try await provider(server, transport).complete(request((.user, "Hi")))
            #expect(response.finishReason == expected)
        }
    }

    @Test("streams deltas, then the whole text with usage from the last chunk")
    func streaming() async throws {
        try await withFakeServer { server, transport in
            let (events, error) = await drain(provider(server, transport).stream(request((.user, "tell me more"))))
            #expect(error == nil)
            let deltas = events.compactMap { if case .delta(let text) = $0 { text } else { nil } }
            #expect(deltas.count > 2)
            guard case .finished(let response) = try #require(events.last) else {
                Issue.record("the stream did not finish")
                return
            }
            #expect(deltas.joined() == "reply to: tell me more")
            #expect(response.text == "reply to: tell me more")
            #expect(response.usage == TokenUsage(input: 100, cachedInput: 20, output: 40, reasoning: 5))
            #expect(response.finishReason == .stop)
            let json = try #require(await server.requests.first?.json)
            #expect(json["stream"]?.bool == true)
            #expect(json["stream_options"]?["include_usage"]?.bool == true)
        }
    }

    @Test("a stream cut before [DONE] is interrupted, never a half answer")
    func brokenStream() async throws {
        try await withFakeServer { server, transport in
            await server.enqueue(.breakStream(after: 2))
            let (events, error) = await drain(provider(server, transport).stream(request((.user, "Hi"))))
            #expect(events.count == 2)
            #expect(!events.contains { if case .finished = $0 { true } else { false } })
            #expect((error as? ModelProviderError)?.kind == .streamInterrupted)

            await server.enqueue(.breakStream(after: 2))
            let collected = await providerError {
                try await ModelRouter.collect(provider(server, transport).stream(request((.user, "Hi"))))
            }
            #expect(collected?.kind == .streamInterrupted)
        }
    }

    @Test("an error line in the stream fails it")
    func errorInStream() async throws {
        try await withFakeServer { server, transport in
            await server.enqueue(.streamError(after: 0))
            let (_, early) = await drain(provider(server, transport).stream(request((.user, "Hi"))))
            #expect((early as? ModelProviderError)?.kind == .server)

            await server.enqueue(.streamError(after: 1))
            let late = await providerError {
                try await ModelRouter.collect(provider(server, transport).stream(request((.user, "Hi"))))
            }
            #expect(late?.kind == .streamInterrupted)
        }
    }
}
