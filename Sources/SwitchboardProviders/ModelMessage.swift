/// One turn of a conversation sent to a model.
public struct ModelMessage: Sendable, Hashable {
    public var role: ModelRole
    public var text: String
    /// The tools this (assistant) turn called, in order.
    public var toolCalls: [ModelToolCall]
    /// The results answering the previous assistant turn's calls. A turn holding results is
    /// sent as the protocol wants them (OpenAI `tool` messages, Anthropic `tool_result`
    /// blocks in a user turn, Gemini `functionResponse` parts), whatever its role; give it
    /// role `.user`.
    public var toolResults: [ModelToolResult]

    public init(role: ModelRole, text: String) {
        self.role = role
        self.text = text
        self.toolCalls = []
        self.toolResults = []
    }

    public init(role: ModelRole, text: String = "", toolCalls: [ModelToolCall] = [], toolResults: [ModelToolResult] = []) {
        self.role = role
        self.text = text
        self.toolCalls = toolCalls
        self.toolResults = toolResults
    }

    /// Whether the turn carries calls or results.
    var hasToolContent: Bool { !toolCalls.isEmpty || !toolResults.isEmpty }
}
