/// A local count of the tokens a call sent and received, to check the usage a provider
/// reports: a provider behind a tenant's own base URL (a proxy in front of OpenAI, a
/// compatible server) can report whatever it likes, and a report of zero would make the
/// reply free.
///
/// The estimate is one token per four characters (Unicode scalars), a run of whitespace
/// counting as one: near what BPE tokenizers give for English, and for Cyrillic with the
/// current ones; older tokenizers and CJK text give more tokens, never fewer. Whitespace
/// runs are collapsed because tokenizers fold them (an indented block is a few tokens).
/// No tokenizer model is shipped or downloaded.
public struct TokenEstimate: Sendable, Hashable {
    /// Tokens sent: the system prompt and every message.
    public var input: Int
    /// Tokens received: the answer's text (reasoning the provider keeps to itself is not
    /// seen, so it is not counted).
    public var output: Int

    /// A report below this share of the estimate is taken as under-reported. One half:
    /// the estimate can run over a real tokenizer's count by up to about 1.5× on Cyrillic
    /// and whitespace-heavy text, so a true report is never caught, and a report of half
    /// or less is not a tokenizer's difference but a provider (or proxy) that under-counts.
    public static let trustedShare = (numerator: 1, denominator: 2)

    public init(input: Int, output: Int) {
        self.input = input
        self.output = output
    }

    /// The estimate of a call that sent `prompt` (the system prompt and the messages, as
    /// sent: after redaction) and received `answer`.
    public init(prompt: [String], answer: String) {
        input = prompt.reduce(0) { $0 + Self.tokens(in: $1) }
        output = Self.tokens(in: answer)
    }

    /// One token per four characters, rounded up; a whitespace run is one character.
    public static func tokens(in text: String) -> Int {
        var characters = 0
        var inWhitespace = false
        for scalar in text.unicodeScalars {
            if scalar.properties.isWhitespace {
                if !inWhitespace { characters += 1 }
                inWhitespace = true
            } else {
                characters += 1
                inWhitespace = false
            }
        }
        return (characters + 3) / 4
    }

    /// Checks `reported` against the estimate: input (uncached and cached together) and
    /// output (with reasoning) each below the trusted share are raised to the estimate —
    /// uncached input and visible output make up the difference, so a cheaper kind the
    /// provider named is kept as reported. What it answers is what the call is charged.
    public func assess(_ reported: TokenCounts) -> UsageAssessment {
        var billed = reported
        var underReported = false
        let reportedInput = max(reported.input, 0) + max(reported.cachedInput, 0)
        if Self.isBelowTrustedShare(reportedInput, of: input) {
            billed.input = max(reported.input, input - max(reported.cachedInput, 0))
            underReported = true
        }
        let reportedOutput = max(reported.output, 0) + max(reported.reasoning, 0)
        if Self.isBelowTrustedShare(reportedOutput, of: output) {
            billed.output = max(reported.output, output - max(reported.reasoning, 0))
            underReported = true
        }
        return UsageAssessment(billed: billed, underReported: underReported)
    }

    static func isBelowTrustedShare(_ reported: Int, of estimate: Int) -> Bool {
        // reported < estimate × ½, in integers.
        Int64(reported) * Int64(trustedShare.denominator) < Int64(estimate) * Int64(trustedShare.numerator)
    }
}

/// What a call is charged for after its reported usage was checked against the estimate.
public struct UsageAssessment: Sendable, Hashable {
    /// The token counts the call is charged for.
    public var billed: TokenCounts
    /// Whether the provider reported far less than the call sent or received (the counts
    /// were raised to the estimate).
    public var underReported: Bool

    public init(billed: TokenCounts, underReported: Bool) {
        self.billed = billed
        self.underReported = underReported
    }
}
