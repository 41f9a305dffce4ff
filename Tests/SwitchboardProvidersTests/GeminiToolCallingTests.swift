import SwitchboardCore
import SwitchboardProviders
import SwitchboardProvidersTesting
import Testing

@Suite("Gemini tool calling")
struct GeminiToolCallingTests {
    func provider(_ server: FakeModelServer, _ transport: AsyncHTTPProviderTransport) -> GeminiProvider {
        GeminiProvider(
            endpoint: ProviderEndpoint(kind: .gemini, baseURL: server.geminiBase, apiKey: "AIza-test"), transport: transport)
    }

    @Test(
        "sends functionDeclarations and toolConfig exactly",
        arguments: [
            (ModelToolChoice.auto, ["mode": "AUTO"] as FakeJSON), (.none, ["mode": "NONE"]), (.required, ["mode": "ANY"]),
            (.tool("get_time"), ["mode": "ANY", "allowedFunctionNames": ["get_time"]]),
        ] as [(ModelToolChoice, FakeJSON)])
    func requestTools(choice: ModelToolChoice, wire: FakeJSON) async throws {
        try await withFakeServer { server, transport in
            _ = try await provider(server, transport).complete(ToolFixtures.request(choice: choice))
            let json = try #require(await server.requests.first?.json)
            #expect(
                json["tools"]
                    == [
                        [
                            "functionDeclarations": [
                                [
                                    "name": "get_weather", "description": "Current weather for a city",
                                    "parameters": ToolFixtures.weatherSchema,
                                ],
                                ["name": "get_time", "description": "Local time in a timezone", "parameters": ToolFixtures.timeSchema],
                            ]
                        ]
                    ])
            #expect(json["toolConfig"] == ["functionCallingConfig": wire])
        }
    }

    @Test("a request without tools sends no tool fields")
    func noTools() async throws {
        try await withFakeServer { server, transport in
            _ = try await provider(server, transport).complete(request((.user, "Hi")))
            let json = try #require(await server.requests.first?.json)
            #expect(json["tools"] == nil)
            #expect(json["toolConfig"] == nil)
        }
    }

    @Test("parses functionCall parts with stable ids, STOP meaning a tool-call answer")
    func parsesCalls() async throws {
        try await withFakeServer { server, transport in
            await server.enqueue(.toolCalls([FakeToolCall("get_weather", #"{"city":"Paris"}"#)]))
            let single = try await provider(server, transport).complete(ToolFixtures.request())
            #expect(single.toolCalls == [ModelToolCall(id: "call_0", name: "get_weather", arguments: #"{"city":"Paris"}"#)])
            #expect(single.finishReason == .toolCalls)

            await server.enqueue(
                .toolCalls(
                    [FakeToolCall("get_weather", #"{"city":"Paris"}"#), FakeToolCall("get_time", #"{"tz":"Europe/Paris"}"#)],
                    text: "Checking."))
            let parallel = try await provider(server, transport).complete(ToolFixtures.request())
            #expect(parallel.text == "Checking.")
            #expect(
                parallel.toolCalls == [
                    ModelToolCall(id: "call_0", name: "get_weather", arguments: #"{"city":"Paris"}"#),
                    ModelToolCall(id: "call_1", name: "get_time", arguments: #"{"tz":"Europe/Paris"}"#),
                ])
        }
    }

    @Test("streams calls through the default stream: each call, then the response")
    func streamedCalls() async throws {
        try await withFakeServer { server, transport in
            await server.enqueue(
                .toolCalls([FakeToolCall("get_weather", #"{"city":"Paris"}"#), FakeToolCall("get_time", #"{"tz":"UTC"}"#)]))
            let (events, error) = await drain(provider(server, transport).stream(ToolFixtures.request()))
            #expect(error == nil)
            let (calls, response) = toolEvents(events)
            #expect(calls.map(\.id) == ["call_0", "call_1"])
            #expect(response?.toolCalls == calls)
            #expect(events.count == 3, "no empty delta: two calls and the finish")
        }
    }

    @Test("sends calls as functionCall parts and results as functionResponse parts in a user turn")
    func resultsSentBack() async throws {
        try await withFakeServer { server, transport in
            _ = try await provider(server, transport).complete(ToolFixtures.request(ToolFixtures.round))
            let contents = try #require(await server.requests.first?.json?["contents"])
            #expect(
                contents
                    == [
                        ["role": "user", "parts": [["text": "Weather and time in Paris?"]]],
                        [
                            "role": "model",
                            "parts": [
                                ["text": "Let me check."],
                                ["functionCall": ["name": "get_weather", "args": ["city": "Paris"]]],
                                ["functionCall": ["name": "get_time", "args": ["tz": "Europe/Paris"]]],
                            ],
                        ],
                        [
                            "role": "user",
                            "parts": [
                                ["functionResponse": ["name": "get_weather", "response": ["content": "18C, cloudy"]]],
                                ["functionResponse": ["name": "get_time", "response": ["error": "clock unavailable"]]],
                            ],
                        ],
                    ])
        }
    }

    @Test("refuses 33 calls and 300 KiB arguments")
    func bounds() async throws {
        try await withFakeServer { server, transport in
            await server.enqueue(.toolCalls(ToolFixtures.calls(33)))
            let many = await providerError { try await provider(server, transport).complete(ToolFixtures.request()) }
            #expect(many?.kind == .malformedResponse)
            #expect(many?.message.contains("more than 32 tool calls") == true)

            await server.enqueue(.toolCalls(ToolFixtures.hugeCall(kib: 300)))
            let huge = await providerError { try await provider(server, transport).complete(ToolFixtures.request()) }
            #expect(huge?.message.contains("256 KiB") == true)
        }
    }
}
