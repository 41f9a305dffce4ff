/// Tokens a call used, in disjoint buckets so that a price per bucket gives the cost.
///
/// Each provider counts differently; the providers normalize to these buckets:
///
/// - OpenAI: `prompt_tokens` includes `prompt_tokens_details.cached_tokens`, so
///   `input = prompt_tokens - cached_tokens` and `cachedInput = cached_tokens`;
///   `completion_tokens` includes `completion_tokens_details.reasoning_tokens`, so
///   `output = completion_tokens - reasoning_tokens` and `reasoning = reasoning_tokens`.
/// - Anthropic: `input_tokens` excludes the cache fields, so
///   `input = input_tokens + cache_creation_input_tokens` (cache writes are billed as input,
///   at a premium), `cachedInput = cache_read_input_tokens`, `output = output_tokens`
///   (thinking included: Anthropic does not report it apart) and `reasoning = 0`.
/// - Gemini: `promptTokenCount` includes `cachedContentTokenCount`, so
///   `input = promptTokenCount - cachedContentTokenCount` and `cachedInput =
///   cachedContentTokenCount`; `candidatesTokenCount` excludes `thoughtsTokenCount`, so
///   `output = candidatesTokenCount` and `reasoning = thoughtsTokenCount`.
///
/// A difference that would go negative (a provider reporting more cached than prompt
/// tokens) is clamped to zero.
public struct TokenUsage: Sendable, Hashable, Codable {
    /// Prompt tokens read at the full input price (including cache writes).
    public var input: Int
    /// Prompt tokens read from the provider's cache, at its discounted price.
    public var cachedInput: Int
    /// Answer tokens, without reasoning.
    public var output: Int
    /// Hidden reasoning ("thinking") tokens, billed as output.
    public var reasoning: Int

    /// No tokens: the local FAQ provider, or a provider that reported nothing.
    public static let zero = TokenUsage(input: 0, cachedInput: 0, output: 0, reasoning: 0)

    public init(input: Int, cachedInput: Int, output: Int, reasoning: Int) {
        self.input = input
        self.cachedInput = cachedInput
        self.output = output
        self.reasoning = reasoning
    }

    /// Every token of every bucket.
    public var total: Int { input + cachedInput + output + reasoning }

    /// Bucket-wise sum, for adding up the attempts of one routed call.
    public static func + (lhs: TokenUsage, rhs: TokenUsage) -> TokenUsage {
        TokenUsage(
            input: lhs.input + rhs.input, cachedInput: lhs.cachedInput + rhs.cachedInput, output: lhs.output + rhs.output,
            reasoning: lhs.reasoning + rhs.reasoning)
    }
}
