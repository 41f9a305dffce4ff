/// The wire protocol a model provider speaks.
public enum ProviderKind: String, Sendable, Hashable, Codable, CaseIterable {
    /// OpenAI's Chat Completions at api.openai.com (or a `base_url` that proxies it).
    case openai
    /// Anthropic's Messages API.
    case anthropic
    /// Google's Gemini `generateContent`.
    case gemini
    /// Any server that speaks Chat Completions at a `base_url`: Ollama, vLLM, LM Studio, gateways.
    case openaiCompatible = "openai_compatible"
    /// No model at all: answers from the agent's FAQ list, hands off when nothing matches.
    case local

    /// Whether calls need an API key.
    public var needsAPIKey: Bool {
        switch self {
        case .openai, .anthropic, .gemini: true
        case .openaiCompatible, .local: false
        }
    }

    /// Whether calls need a `base_url` (the others have a public default).
    public var needsBaseURL: Bool { self == .openaiCompatible }

    /// The public endpoint of the kind, when it has one.
    public var defaultBaseURL: String? {
        switch self {
        case .openai: "https://api.openai.com/v1"
        case .anthropic: "https://api.anthropic.com"
        case .gemini: "https://generativelanguage.googleapis.com"
        case .openaiCompatible, .local: nil
        }
    }
}

/// One question and its answer in an agent's FAQ list (what the `local` provider answers from).
public struct FAQEntry: Sendable, Hashable, Codable {
    public var question: String
    public var answer: String

    public init(question: String, answer: String) {
        self.question = question
        self.answer = answer
    }
}
