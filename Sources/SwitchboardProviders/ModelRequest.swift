/// What to ask a model: one call, whatever the provider.
public struct ModelRequest: Sendable, Hashable {
    /// The provider's model name (`gpt-4.1-mini`, `claude-sonnet-4-5`, `gemini-2.5-flash`).
    /// The router replaces it with each route target's model.
    public var model: String
    /// The agent's instructions, sent where each protocol wants them (a system message, a
    /// `system` field, a `systemInstruction`).
    public var systemPrompt: String?
    /// The conversation, oldest first. It may hold consecutive messages of one role:
    /// providers whose protocol needs alternating turns merge them, and drop leading
    /// assistant messages where the protocol needs a user turn first.
    public var messages: [ModelMessage]
    /// The most tokens the answer may use; `nil` leaves it to the provider (Anthropic,
    /// which requires a number, gets ``AnthropicProvider/defaultMaxTokens``).
    public var maxOutputTokens: Int?
    /// Sampling temperature; `nil` leaves it to the provider.
    public var temperature: Double?
    /// The tools the model may call; none sends no tool fields at all.
    public var tools: [ModelTool]
    /// Whether and which tool the model must call (sent only with tools).
    public var toolChoice: ModelToolChoice

    public init(
        model: String, systemPrompt: String? = nil, messages: [ModelMessage], maxOutputTokens: Int? = nil,
        temperature: Double? = nil, tools: [ModelTool] = [], toolChoice: ModelToolChoice = .auto
    ) {
        self.tools = tools
        self.toolChoice = toolChoice
        self.model = model
        self.systemPrompt = systemPrompt
        self.messages = messages
        self.maxOutputTokens = maxOutputTokens
        self.temperature = temperature
    }
}
