import SwitchboardCore
import SwitchboardProviders
import SwitchboardProvidersTesting
import Testing

@Suite("Anthropic provider")
struct AnthropicProviderTests {
    func provider(_ server: FakeModelServer, _ transport: AsyncHTTPProviderTransport) -> AnthropicProvider {
        AnthropicProvider(
            endpoint: ProviderEndpoint(kind: .anthropic, baseURL: server.anthropicBase, apiKey: "sk-ant-test"),
            transport: transport)
    }

    @Test("puts the system prompt in its field, alternates turns from the user, and defaults max_tokens to 1024")
    func requestShape() async throws {
        try await withFakeServer { server, transport in
            _ = try await provider(server, transport).complete(
                request(
                    model: "claude-sonnet-4-5", system: "Be brief.", (.assistant, "Welcome!"), (.user, "Hi"), (.user, "Anyone?"),
                    (.assistant, "Yes."), (.assistant, "How can I help?"), (.user, "Prices"), temperature: 0.5))
            let recorded = try #require(await server.requests.first)
            #expect(recorded.path == "/v1/messages")
            #expect(recorded.header("x-api-key") == "sk-ant-test")
            #expect(recorded.header("anthropic-version") == "2023-06-01")
            #expect(recorded.header("authorization") == nil)
            let json = try #require(recorded.json)
            #expect(json["system"]?.string == "Be brief.")
            #expect(json["max_tokens"]?.int == 1024)
            #expect(json["temperature"]?.double == 0.5)
            let messages = try #require(json["messages"]?.array)
            #expect(messages.map { $0["role"]?.string } == ["user", "assistant", "user"])
            #expect(messages.map { $0["content"]?.string } == ["Hi\n\nAnyone?", "Yes.\n\nHow can I help?", "Prices"])
        }
    }

    @Test("counts cache writes as input and cache reads as cached input, on top of input_tokens")
    func usageNormalization() async throws {
        try await withFakeServer { server, transport in
            await server.enqueue(
                .answer(
                    "Sure.", usage: FakeUsage(prompt: 50, cached: 2000, cacheCreation: 300, completion: 80),
                    finishReason: "max_tokens"))
            let response = try await provider(server, transport).complete(
                request(model: "claude-haiku-4-5", (.user, "Hi"), maxOutputTokens: 80))
            #expect(response.text == "Sure.")
            #expect(response.usage == TokenUsage(input: 350, cachedInput: 2000, output: 80, reasoning: 0))
            #expect(response.finishReason == .length)
            #expect(response.model == "claude-haiku-4-5")
            #expect(await server.requests.first?.json?["max_tokens"]?.int == 80)
        }
    }

    @Test(
        "maps stop reasons",
        arguments: [
            ("end_turn", FinishReason.stop), ("stop_sequence", .stop), ("tool_use", .toolCalls), ("refusal", .contentFilter),
            ("pause_turn", .other),
        ])
    func stopReasons(wire: String, expected: FinishReason) async throws {
        try await withFakeServer { server, transport in
            await server.enqueue(.answer("x", finishReason: wire))
            let response = try await provider(server, transport).complete(request((.user, "Hi")))
            #expect(response.finishReason == expected)
        }
    }

    @Test("refuses a conversation with no user turn without calling")
    func noUserTurn() async throws {
        try await withFakeServer { server, transport in
            let error = await providerError { try await provider(server, transport).complete(request((.assistant, "Hello"))) }
            #expect(error?.kind == .badRequest)
            #expect(await server.requests.isEmpty)
        }
    }

    @Test("streams text deltas and takes usage from message_start and message_delta")
    func streaming() async throws {
        try await withFakeServer { server, transport in
            let (events, error) = await drain(provider(server, transport).stream(request((.user, "stream please"))))
            #expect(error == nil)
            let deltas = events.compactMap { if case .delta(let text) = $0 { text } else { nil } }
            #expect(deltas.joined() == "reply to: stream please")
            guard case .finished(let response) = try #require(events.last) else {
                Issue.record("the stream did not finish")
                return
            }
            #expect(response.text == "reply to: stream please")
            // input 120 + cache writes 10; output 45 from message_delta, not the 1 of message_start.
            #expect(response.usage == TokenUsage(input: 130, cachedInput: 20, output: 45, reasoning: 0))
            #expect(response.finishReason == .stop)
            #expect(await server.requests.first?.json?["stream"]?.bool == true)
        }
    }

    @Test("a stream that ends without message_stop is interrupted, never a half answer")
    func brokenStream() async throws {
        try await withFakeServer { server, transport in
            await server.enqueue(.breakStream(after: 3))
            let (events, error) = await drain(provider(server, transport).stream(request((.user, "Hi"))))
            #expect(events.count == 3)
            #expect((error as? ModelProviderError)?.kind == .streamInterrupted)

            await server.enqueue(.breakStream(after: 3))
            let collected = await providerError {
                try await ModelRouter.collect(provider(server, transport).stream(request((.user, "Hi"))))
            }
            #expect(collected?.kind == .streamInterrupted)
        }
    }

    @Test("an error event fails the stream with its kind")
    func errorEvent() async throws {
        try await withFakeServer { server, transport in
            await server.enqueue(.streamError(after: 0))
            let (events, error) = await drain(provider(server, transport).stream(request((.user, "Hi"))))
            #expect(events.isEmpty)
            let failure = try #require(error as? ModelProviderError)
            #expect(failure.kind == .server)
            #expect(failure.message.contains("Overloaded"))
        }
    }

    @Test("529 overloaded is a server error")
    func overloaded() async throws {
        try await withFakeServer { server, transport in
            await server.enqueue(.status(529))
            let error = await providerError { try await provider(server, transport).complete(request((.user, "Hi"))) }
            #expect(error?.kind == .server)
            #expect(error?.status == 529)
            #expect(error?.isRetryable == true)
        }
    }
}
