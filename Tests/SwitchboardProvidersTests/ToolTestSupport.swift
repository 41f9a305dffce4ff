import SwitchboardProviders
import SwitchboardProvidersTesting

/// Two tools with small schemas, as an agent would declare them.
enum ToolFixtures {
    static let weather = ModelTool(
        name: "get_weather", description: "Current weather for a city",
        parameters: ["type": "object", "properties": ["city": ["type": "string"]], "required": ["city"]])
    static let time = ModelTool(
        name: "get_time", description: "Local time in a timezone",
        parameters: ["type": "object", "properties": ["tz": ["type": "string", "maxLength": 64]]])

    /// The schema of `weather` as the fake records it.
    static let weatherSchema: FakeJSON = ["type": "object", "properties": ["city": ["type": "string"]], "required": ["city"]]
    static let timeSchema: FakeJSON = ["type": "object", "properties": ["tz": ["type": "string", "maxLength": 64]]]

    /// A user question with both tools declared.
    static func request(choice: ModelToolChoice = .auto, _ messages: [ModelMessage]? = nil) -> ModelRequest {
        ModelRequest(
            model: "test-model", messages: messages ?? [ModelMessage(role: .user, text: "Weather in Paris?")],
            tools: [weather, time], toolChoice: choice)
    }

    /// A finished conversation round: the question, the model's two calls, their results
    /// (the second failed).
    static let round: [ModelMessage] = [
        ModelMessage(role: .user, text: "Weather and time in Paris?"),
        ModelMessage(
            role: .assistant, text: "Let me check.",
            toolCalls: [
                ModelToolCall(id: "c1", name: "get_weather", arguments: #"{"city":"Paris"}"#),
                ModelToolCall(id: "c2", name: "get_time", arguments: #"{"tz":"Europe/Paris"}"#),
            ]),
        ModelMessage(
            role: .user,
            toolResults: [
                ModelToolResult(callID: "c1", name: "get_weather", content: "18C, cloudy"),
                ModelToolResult(callID: "c2", name: "get_time", content: "clock unavailable", isError: true),
            ]),
    ]

    /// `count` calls of `get_weather`.
    static func calls(_ count: Int) -> [FakeToolCall] {
        (0..<count).map { FakeToolCall("get_weather", #"{"city":"City \#($0)"}"#) }
    }

    /// One call whose arguments are about `kib` KiB of valid JSON.
    static func hugeCall(kib: Int) -> [FakeToolCall] {
        [FakeToolCall("get_weather", #"{"city":""# + String(repeating: "x", count: kib << 10) + #""}"#)]
    }
}

/// The tool calls of a stream's events, and its finished response.
func toolEvents(_ events: [ModelStreamEvent]) -> (calls: [ModelToolCall], response: ModelResponse?) {
    var calls: [ModelToolCall] = []
    var response: ModelResponse?
    for event in events {
        switch event {
        case .toolCall(let call): calls.append(call)
        case .finished(let finished): response = finished
        case .delta: break
        }
    }
    return (calls, response)
}
