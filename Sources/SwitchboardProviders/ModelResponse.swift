/// A model's complete answer to one call.
public struct ModelResponse: Sendable, Hashable {
    /// The answer text (empty on a handoff or a filtered answer).
    public var text: String
    /// Tokens used, normalized (see ``TokenUsage``).
    public var usage: TokenUsage
    public var finishReason: FinishReason
    /// The model that answered, as the provider names it (it may add a version suffix).
    public var model: String
    /// Wall time of the call, from sending the request to the last byte of the answer.
    public var latency: Duration
    /// The tools the model asked to call, in its order (parallel calls included).
    public var toolCalls: [ModelToolCall]

    public init(
        text: String, usage: TokenUsage, finishReason: FinishReason, model: String, latency: Duration,
        toolCalls: [ModelToolCall] = []
    ) {
        self.toolCalls = toolCalls
        self.text = text
        self.usage = usage
        self.finishReason = finishReason
        self.model = model
        self.latency = latency
    }
}
