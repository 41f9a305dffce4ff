import SwitchboardCore
import SwitchboardProviders
import SwitchboardProvidersTesting
import Testing

@Suite("Anthropic tool calling")
struct AnthropicToolCallingTests {
    func provider(_ server: FakeModelServer, _ transport: AsyncHTTPProviderTransport) -> AnthropicProvider {
        AnthropicProvider(
            endpoint: ProviderEndpoint(kind: .anthropic, baseURL: server.anthropicBase, apiKey: "sk-ant-test"), transport: transport)
    }

    @Test(
        "sends tools with input_schema and tool_choice exactly",
        arguments: [
            (ModelToolChoice.auto, ["type": "auto"] as FakeJSON), (.none, ["type": "none"]), (.required, ["type": "any"]),
            (.tool("get_time"), ["type": "tool", "name": "get_time"]),
        ] as [(ModelToolChoice, FakeJSON)])
    func requestTools(choice: ModelToolChoice, wire: FakeJSON) async throws {
        try await withFakeServer { server, transport in
            _ = try await provider(server, transport).complete(ToolFixtures.request(choice: choice))
            let json = try #require(await server.requests.first?.json)
            #expect(
                json["tools"]
                    == [
                        [
                            "name": "get_weather", "description": "Current weather for a city",
                            "input_schema": ToolFixtures.weatherSchema,
                        ],
                        ["name": "get_time", "description": "Local time in a timezone", "input_schema": ToolFixtures.timeSchema],
                    ])
            #expect(json["tool_choice"] == wire)
            #expect(json["messages"]?[0]?["content"]?.string == "Weather in Paris?", "a plain turn stays a string")
        }
    }

    @Test("a request without tools sends no tool fields")
    func noTools() async throws {
        try await withFakeServer { server, transport in
            _ = try await provider(server, transport).complete(request((.user, "Hi")))
            let json = try #require(await server.requests.first?.json)
            #expect(json["tools"] == nil)
            #expect(json["tool_choice"] == nil)
        }
    }

    @Test("parses a single tool_use block and parallel ones after text")
    func parsesCalls() async throws {
        try await withFakeServer { server, transport in
            await server.enqueue(.toolCalls([FakeToolCall("get_weather", #"{"city":"Paris"}"#)]))
            let single = try await provider(server, transport).complete(ToolFixtures.request())
            #expect(
                single.toolCalls == [ModelToolCall(id: "toolu_fake1_0", name: "get_weather", arguments: #"{"city":"Paris"}"#)])
            #expect(single.finishReason == .toolCalls)

            await server.enqueue(
                .toolCalls(
                    [FakeToolCall("get_weather", #"{"city":"Paris"}"#), FakeToolCall("get_time", #"{"tz":"Europe/Paris"}"#)],
                    text: "Checking both."))
            let parallel = try await provider(server, transport).complete(ToolFixtures.request())
            #expect(parallel.text == "Checking both.")
            #expect(parallel.toolCalls.map(\.id) == ["toolu_fake2_0", "toolu_fake2_1"])
            #expect(parallel.toolCalls.map(\.name) == ["get_weather", "get_time"])
            #expect(parallel.toolCalls.map { $0.parsedArguments() } == [["city": "Paris"], ["tz": "Europe/Paris"]])
        }
    }

    @Test("assembles streamed tool_use blocks from input_json_delta pieces")
    func streamedCalls() async throws {
        try await withFakeServer { server, transport in
            await server.enqueue(
                .toolCalls(
                    [
                        FakeToolCall("get_weather", #"{"city":"Paris","units":"metric"}"#),
                        FakeToolCall("get_time", #"{"tz":"Europe/Paris"}"#), FakeToolCall("get_time", ""),
                    ], text: "On it."))
            let (events, error) = await drain(provider(server, transport).stream(ToolFixtures.request()))
            #expect(error == nil)
            let (calls, response) = toolEvents(events)
            let expected = [
                ModelToolCall(id: "toolu_fake1_0", name: "get_weather", arguments: #"{"city":"Paris","units":"metric"}"#),
                ModelToolCall(id: "toolu_fake1_1", name: "get_time", arguments: #"{"tz":"Europe/Paris"}"#),
                ModelToolCall(id: "toolu_fake1_2", name: "get_time", arguments: "{}"),
            ]
            #expect(calls == expected)
            #expect(response?.toolCalls == expected)
            #expect(response?.text == "On it.")
            #expect(response?.finishReason == .toolCalls)
        }
    }

    @Test("sends calls as tool_use blocks and results as tool_result blocks in one user turn")
    func resultsSentBack() async throws {
        try await withFakeServer { server, transport in
            var round = ToolFixtures.round
            round.append(ModelMessage(role: .user, text: "Be quick."))
            _ = try await provider(server, transport).complete(ToolFixtures.request(round))
            let messages = try #require(await server.requests.first?.json?["messages"])
            #expect(
                messages
                    == [
                        ["role": "user", "content": "Weather and time in Paris?"],
                        [
                            "role": "assistant",
                            "content": [
                                ["type": "text", "text": "Let me check."],
                                ["type": "tool_use", "id": "c1", "name": "get_weather", "input": ["city": "Paris"]],
                                ["type": "tool_use", "id": "c2", "name": "get_time", "input": ["tz": "Europe/Paris"]],
                            ],
                        ],
                        [
                            "role": "user",
                            "content": [
                                ["type": "tool_result", "tool_use_id": "c1", "content": "18C, cloudy"],
                                ["type": "tool_result", "tool_use_id": "c2", "content": "clock unavailable", "is_error": true],
                                ["type": "text", "text": "Be quick."],
                            ],
                        ],
                    ])
        }
    }

    @Test("refuses 33 calls and 300 KiB arguments, streamed or not")
    func bounds() async throws {
        try await withFakeServer { server, transport in
            await server.enqueue(.toolCalls(ToolFixtures.calls(33)))
            let many = await providerError { try await provider(server, transport).complete(ToolFixtures.request()) }
            #expect(many?.kind == .malformedResponse)
            #expect(many?.message.contains("more than 32 tool calls") == true)

            await server.enqueue(.toolCalls(ToolFixtures.calls(33)))
            let (events, manyStreamed) = await drain(provider(server, transport).stream(ToolFixtures.request()))
            #expect((manyStreamed as? ModelProviderError)?.message.contains("more than 32 tool calls") == true)
            #expect(toolEvents(events).calls.count == 32)
            #expect(toolEvents(events).response == nil)

            await server.enqueue(.toolCalls(ToolFixtures.hugeCall(kib: 300)))
            let huge = await providerError { try await provider(server, transport).complete(ToolFixtures.request()) }
            #expect(huge?.message.contains("256 KiB") == true)

            await server.enqueue(.toolCalls(ToolFixtures.hugeCall(kib: 300)))
            let (_, hugeStreamed) = await drain(provider(server, transport).stream(ToolFixtures.request()))
            #expect((hugeStreamed as? ModelProviderError)?.message.contains("256 KiB") == true)
        }
    }

    @Test("passes streamed arguments that are not JSON through as text")
    func nonJSONArguments() async throws {
        try await withFakeServer { server, transport in
            let broken = #"{"city": Paris"#
            await server.enqueue(.toolCalls([FakeToolCall("get_weather", broken)]))
            let (events, error) = await drain(provider(server, transport).stream(ToolFixtures.request()))
            #expect(error == nil)
            #expect(toolEvents(events).calls.first?.arguments == broken)
            #expect(toolEvents(events).calls.first?.parsedArguments() == nil)
        }
    }
}
