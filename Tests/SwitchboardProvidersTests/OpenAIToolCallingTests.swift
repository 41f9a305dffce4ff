import SwitchboardCore
import SwitchboardProviders
import SwitchboardProvidersTesting
import Testing

@Suite("OpenAI tool calling")
struct OpenAIToolCallingTests {
    func provider(_ server: FakeModelServer, _ transport: AsyncHTTPProviderTransport, kind: ProviderKind = .openai)
        -> OpenAIChatProvider
    {
        OpenAIChatProvider(endpoint: ProviderEndpoint(kind: kind, baseURL: server.openAIBase, apiKey: "sk-test"), transport: transport)
    }

    @Test(
        "sends tools as functions and tool_choice exactly",
        arguments: [
            (ModelToolChoice.auto, FakeJSON.string("auto")), (.none, "none"), (.required, "required"),
            (.tool("get_time"), ["type": "function", "function": ["name": "get_time"]]),
        ] as [(ModelToolChoice, FakeJSON)])
    func requestTools(choice: ModelToolChoice, wire: FakeJSON) async throws {
        try await withFakeServer { server, transport in
            _ = try await provider(server, transport).complete(ToolFixtures.request(choice: choice))
            let json = try #require(await server.requests.first?.json)
            #expect(
                json["tools"]
                    == [
                        [
                            "type": "function",
                            "function": [
                                "name": "get_weather", "description": "Current weather for a city",
                                "parameters": ToolFixtures.weatherSchema,
                            ],
                        ],
                        [
                            "type": "function",
                            "function": [
                                "name": "get_time", "description": "Local time in a timezone", "parameters": ToolFixtures.timeSchema,
                            ],
                        ],
                    ])
            #expect(json["tool_choice"] == wire)
        }
    }

    @Test("the body is deterministic: schema keys sorted")
    func sortedKeys() async throws {
        try await withFakeServer { server, transport in
            _ = try await provider(server, transport).complete(ToolFixtures.request())
            let body = String(decoding: try #require(await server.requests.first?.body), as: UTF8.self)
            #expect(
                body.contains(
                    #""parameters":{"properties":{"tz":{"maxLength":64,"type":"string"}},"type":"object"}"#))
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

    @Test("refuses a bad tool name or a forced tool that is not declared, sending nothing")
    func invalidTools() async throws {
        try await withFakeServer { server, transport in
            var bad = ToolFixtures.request()
            bad.tools.append(ModelTool(name: "no spaces allowed", description: ""))
            let error = await providerError { try await provider(server, transport).complete(bad) }
            #expect(error?.kind == .badRequest)
            #expect(error?.message.contains("no spaces allowed") == true)
            var long = ToolFixtures.request()
            long.tools = [ModelTool(name: String(repeating: "a", count: 65), description: "")]
            #expect(await providerError { try await provider(server, transport).complete(long) }?.kind == .badRequest)
            let undeclared = ToolFixtures.request(choice: .tool("send_email"))
            #expect(await providerError { try await provider(server, transport).complete(undeclared) }?.kind == .badRequest)
            let (_, streamError) = await drain(provider(server, transport).stream(bad))
            #expect((streamError as? ModelProviderError)?.kind == .badRequest)
            #expect(await server.requests.isEmpty)
        }
    }

    @Test("parses a single call and parallel calls in order")
    func parsesCalls() async throws {
        try await withFakeServer { server, transport in
            await server.enqueue(.toolCalls([FakeToolCall("get_weather", #"{"city":"Paris"}"#)]))
            let single = try await provider(server, transport).complete(ToolFixtures.request())
            #expect(single.toolCalls == [ModelToolCall(id: "call_fake1_0", name: "get_weather", arguments: #"{"city":"Paris"}"#)])
            #expect(single.finishReason == .toolCalls)
            #expect(single.text == "")
            #expect(single.toolCalls.first?.parsedArguments() == ["city": "Paris"])

            await server.enqueue(
                .toolCalls(
                    [FakeToolCall("get_weather", #"{"city":"Paris"}"#), FakeToolCall("get_time", #"{"tz":"Europe/Paris"}"#)],
                    text: "Checking both."))
            let parallel = try await provider(server, transport).complete(ToolFixtures.request())
            #expect(parallel.toolCalls.map(\.id) == ["call_fake2_0", "call_fake2_1"])
            #expect(parallel.toolCalls.map(\.name) == ["get_weather", "get_time"])
            #expect(parallel.toolCalls.map(\.arguments) == [#"{"city":"Paris"}"#, #"{"tz":"Europe/Paris"}"#])
            #expect(parallel.text == "Checking both.")
        }
    }

    @Test("a forced tool answered with finish_reason stop is still a tool-call answer")
    func forcedStop() async throws {
        try await withFakeServer { server, transport in
            await server.enqueue(.toolCalls([FakeToolCall("get_time", "{}")], finishReason: "stop"))
            let response = try await provider(server, transport).complete(ToolFixtures.request(choice: .tool("get_time")))
            #expect(response.finishReason == .toolCalls)
        }
    }

    @Test("assembles streamed calls from interleaved fragments, each once, then finishes with them")
    func streamedCalls() async throws {
        try await withFakeServer { server, transport in
            await server.enqueue(
                .toolCalls(
                    [
                        FakeToolCall("get_weather", #"{"city":"Paris","units":"metric"}"#),
                        FakeToolCall("get_time", #"{"tz":"Europe/Paris"}"#),
                    ], text: "On it."))
            let (events, error) = await drain(provider(server, transport).stream(ToolFixtures.request()))
            #expect(error == nil)
            let (calls, response) = toolEvents(events)
            let expected = [
                ModelToolCall(id: "call_fake1_0", name: "get_weather", arguments: #"{"city":"Paris","units":"metric"}"#),
                ModelToolCall(id: "call_fake1_1", name: "get_time", arguments: #"{"tz":"Europe/Paris"}"#),
            ]
            #expect(calls == expected)
            #expect(response?.toolCalls == expected)
            #expect(response?.finishReason == .toolCalls)
            #expect(response?.text == "On it.")
            #expect(response?.usage == TokenUsage(input: 100, cachedInput: 20, output: 40, reasoning: 5))
            // The arguments really came in pieces, interleaved across the two calls.
            #expect(await server.requests.first?.isStream == true)
        }
    }

    @Test("sends calls and results back: assistant tool_calls, then one tool message per result")
    func resultsSentBack() async throws {
        try await withFakeServer { server, transport in
            _ = try await provider(server, transport).complete(ToolFixtures.request(ToolFixtures.round))
            let messages = try #require(await server.requests.first?.json?["messages"])
            #expect(
                messages
                    == [
                        ["role": "user", "content": "Weather and time in Paris?"],
                        [
                            "role": "assistant", "content": "Let me check.",
                            "tool_calls": [
                                ["id": "c1", "type": "function", "function": ["name": "get_weather", "arguments": #"{"city":"Paris"}"#]],
                                ["id": "c2", "type": "function", "function": ["name": "get_time", "arguments": #"{"tz":"Europe/Paris"}"#]],
                            ],
                        ],
                        ["role": "tool", "tool_call_id": "c1", "content": "18C, cloudy"],
                        ["role": "tool", "tool_call_id": "c2", "content": "clock unavailable"],
                    ])
        }
    }

    @Test("an assistant turn that only calls sends content null")
    func nullContent() async throws {
        try await withFakeServer { server, transport in
            var round = ToolFixtures.round
            round[1].text = ""
            _ = try await provider(server, transport, kind: .openaiCompatible).complete(ToolFixtures.request(round))
            let body = String(decoding: try #require(await server.requests.first?.body), as: UTF8.self)
            #expect(body.contains(#"{"content":null,"role":"assistant","tool_calls":["#))
        }
    }

    @Test("refuses 33 calls in one answer, streamed or not")
    func tooManyCalls() async throws {
        try await withFakeServer { server, transport in
            await server.enqueue(.toolCalls(ToolFixtures.calls(33)))
            let error = await providerError { try await provider(server, transport).complete(ToolFixtures.request()) }
            #expect(error?.kind == .malformedResponse)
            #expect(error?.message.contains("more than 32 tool calls") == true)

            await server.enqueue(.toolCalls(ToolFixtures.calls(33)))
            let (events, streamError) = await drain(provider(server, transport).stream(ToolFixtures.request()))
            #expect((streamError as? ModelProviderError)?.message.contains("more than 32 tool calls") == true)
            #expect(toolEvents(events).calls.isEmpty)

            await server.enqueue(.toolCalls(ToolFixtures.calls(32)))
            let most = try await provider(server, transport).complete(ToolFixtures.request())
            #expect(most.toolCalls.count == 32)
        }
    }

    @Test("refuses arguments over 256 KiB, streamed or not")
    func hugeArguments() async throws {
        try await withFakeServer { server, transport in
            await server.enqueue(.toolCalls(ToolFixtures.hugeCall(kib: 300)))
            let error = await providerError { try await provider(server, transport).complete(ToolFixtures.request()) }
            #expect(error?.kind == .malformedResponse)
            #expect(error?.message.contains("256 KiB") == true)

            await server.enqueue(.toolCalls(ToolFixtures.hugeCall(kib: 300)))
            let (_, streamError) = await drain(provider(server, transport).stream(ToolFixtures.request()))
            #expect((streamError as? ModelProviderError)?.message.contains("256 KiB") == true)
        }
    }

    @Test("passes arguments that are not JSON through as text")
    func nonJSONArguments() async throws {
        try await withFakeServer { server, transport in
            let broken = #"{"city": Paris"#
            await server.enqueue(.toolCalls([FakeToolCall("get_weather", broken)]))
            let response = try await provider(server, transport).complete(ToolFixtures.request())
            #expect(response.toolCalls.first?.arguments == broken)
            #expect(response.toolCalls.first?.parsedArguments() == nil)

            await server.enqueue(.toolCalls([FakeToolCall("get_weather", broken)]))
            let (events, error) = await drain(provider(server, transport).stream(ToolFixtures.request()))
            #expect(error == nil)
            #expect(toolEvents(events).calls.first?.arguments == broken)
        }
    }
}
