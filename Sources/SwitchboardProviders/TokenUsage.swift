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

    /// The most tokens one bucket holds: what the model-call and message columns store
    /// (PostgreSQL `integer`). A provider's count is a number from outside.
    public static let maximumCount = Int(Int32.max)

    /// Each count clamped to `0...maximumCount`: a provider reporting a negative or an
    /// absurd figure cannot make a cost negative or a stored count overflow.
    public init(input: Int, cachedInput: Int, output: Int, reasoning: Int) {
        self.input = Self.bounded(input)
        self.cachedInput = Self.bounded(cachedInput)
        self.output = Self.bounded(output)
        self.reasoning = Self.bounded(reasoning)
    }

    static func bounded(_ count: Int) -> Int { min(max(count, 0), maximumCount) }

    /// `total - part`, each a provider's count, bounded first: never negative, never an
    /// overflow (`Int.min` is a valid JSON integer).
    static func remainder(_ total: Int?, less part: Int?) -> Int {
        max(0, bounded(total ?? 0) - bounded(part ?? 0))
    }

    /// `a + b`, each a provider's count, bounded first.
    static func sum(_ a: Int?, _ b: Int?) -> Int {
        bounded(bounded(a ?? 0) + bounded(b ?? 0))
    }

    /// Every token of every bucket.
    public var total: Int { input + cachedInput + output + reasoning }

    /// Bucket-wise sum, for adding up the attempts of one routed call.
    public static func + (lhs: TokenUsage, rhs: TokenUsage) -> TokenUsage {
        TokenUsage(
            input: lhs.input &+ rhs.input, cachedInput: lhs.cachedInput &+ rhs.cachedInput, output: lhs.output &+ rhs.output,
            reasoning: lhs.reasoning &+ rhs.reasoning)
    }
}
