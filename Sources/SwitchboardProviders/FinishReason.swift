/// Why a model stopped, normalized across providers.
public enum FinishReason: String, Sendable, Hashable, Codable {
    /// The model finished its answer (OpenAI `stop`, Anthropic `end_turn`/`stop_sequence`,
    /// Gemini `STOP`).
    case stop
    /// The answer hit the output-token limit and is cut.
    case length
    /// The provider withheld or cut the answer for safety (OpenAI `content_filter`, Anthropic
    /// `refusal`, Gemini `SAFETY`, `RECITATION`, a blocked prompt, …).
    case contentFilter = "content_filter"
    /// The model asked to call a tool.
    case toolCalls = "tool_calls"
    /// No answer: hand the conversation to a person (the local FAQ provider found no match).
    case handoff
    /// Anything else a provider reports.
    case other
}
