import SwitchboardCore
import SwitchboardProviders
import SwitchboardProvidersTesting
import Testing

@Suite("Gemini provider")
struct GeminiProviderTests {
    func provider(_ server: FakeModelServer, _ transport: AsyncHTTPProviderTransport) -> GeminiProvider {
        GeminiProvider(
            endpoint: ProviderEndpoint(kind: .gemini, baseURL: server.geminiBase, apiKey: "AIza-test"), transport: transport)
    }

    @Test("calls generateContent for the model with the key in a header, a systemInstruction and user/model turns")
    func requestShape() async throws {
        try await withFakeServer { server, transport in
            _ = try await provider(server, transport).complete(
                request(
                    model: "gemini-2.5-flash", system: "Be brief.", (.assistant, "Welcome"), (.user, "Hi"), (.assistant, "Hello"),
                    (.user, "Price?"), (.user, "Of delivery"), maxOutputTokens: 300, temperature: 0.7))
            let recorded = try #require(await server.requests.first)
            #expect(recorded.path == "/v1beta/models/gemini-2.5-flash:generateContent")
            #expect(recorded.header("x-goog-api-key") == "AIza-test")
            let json = try #require(recorded.json)
            #expect(json["systemInstruction"]?["parts"]?[0]?["text"]?.string == "Be brief.")
            let contents = try #require(json["contents"]?.array)
            #expect(contents.map { $0["role"]?.string } == ["user", "model", "user"])
            #expect(contents.map { $0["parts"]?[0]?["text"]?.string } == ["Hi", "Hello", "Price?\n\nOf delivery"])
            #expect(json["generationConfig"]?["maxOutputTokens"]?.int == 300)
            #expect(json["generationConfig"]?["temperature"]?.double == 0.7)
        }
    }

    @Test("takes cached tokens out of the prompt count and reports thoughts apart from candidates")
    func usageNormalization() async throws {
        try await withFakeServer { server, transport in
            await server.enqueue(.answer("Sunny.", usage: FakeUsage(prompt: 500, cached: 200, completion: 70, reasoning: 30)))
            let response = try await provider(server, transport).complete(request(model: "gemini-2.5-pro", (.user, "Weather?")))
            #expect(response.text == "Sunny.")
            #expect(response.usage == TokenUsage(input: 300, cachedInput: 200, output: 70, reasoning: 30))
            #expect(response.finishReason == .stop)
            #expect(response.model == "gemini-2.5-pro")
        }
    }

    @Test(
        "maps finish reasons",
        arguments: [
            ("MAX_TOKENS", FinishReason.length), ("SAFETY", .contentFilter), ("RECITATION", .contentFilter), ("OTHER", .other),
        ])
    func finishReasons(wire: String, expected: FinishReason) async throws {
        try await withFakeServer { server, transport in
            await server.enqueue(.answer("x", finishReason: wire))
            let response = try await provider(server, transport).complete(request((.user, "Hi")))
            #expect(response.finishReason == expected)
        }
    }

    @Test("streams through the default: one delta, then the response")
    func defaultStream() async throws {
        try await withFakeServer { server, transport in
            let (events, error) = await drain(provider(server, transport).stream(request((.user, "Hi"))))
            #expect(error == nil)
            #expect(events.count == 2)
            #expect(events.first == .delta("reply to: Hi"))
            guard case .finished(let response) = events.last else {
                Issue.record("no finished event")
                return
            }
            #expect(response.text == "reply to: Hi")
        }
    }

    @Test("a 429 with RESOURCE_EXHAUSTED is a rate limit with its Retry-After")
    func rateLimited() async throws {
        try await withFakeServer { server, transport in
            await server.enqueue(.status(429, retryAfter: "7"))
            let error = await providerError { try await provider(server, transport).complete(request((.user, "Hi"))) }
            #expect(error?.kind == .rateLimited)
            #expect(error?.retryAfter == .seconds(7))
            #expect(error?.message.contains("AIza-test") == false)
        }
    }
}
