/// Token counts the fake reports, written into each protocol's own fields as they are, with
/// no conversion (so tests compute the normalized ``TokenUsage`` by hand):
///
/// | field | OpenAI | Anthropic | Gemini |
/// | --- | --- | --- | --- |
/// | `prompt` | `prompt_tokens` | `input_tokens` | `promptTokenCount` |
/// | `cached` | `prompt_tokens_details.cached_tokens` | `cache_read_input_tokens` | `cachedContentTokenCount` |
/// | `cacheCreation` | — | `cache_creation_input_tokens` | — |
/// | `completion` | `completion_tokens` | `output_tokens` | `candidatesTokenCount` |
/// | `reasoning` | `completion_tokens_details.reasoning_tokens` | — | `thoughtsTokenCount` |
public struct FakeUsage: Sendable, Hashable {
    public var prompt: Int
    public var cached: Int
    public var cacheCreation: Int
    public var completion: Int
    public var reasoning: Int

    /// What the fake reports when a behaviour names no usage.
    public static let standard = FakeUsage(prompt: 120, cached: 20, cacheCreation: 10, completion: 45, reasoning: 5)

    public init(prompt: Int, cached: Int = 0, cacheCreation: Int = 0, completion: Int, reasoning: Int = 0) {
        self.prompt = prompt
        self.cached = cached
        self.cacheCreation = cacheCreation
        self.completion = completion
        self.reasoning = reasoning
    }
}
