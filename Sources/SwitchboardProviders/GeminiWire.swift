/// Gemini `generateContent` bodies, as far as Switchboard reads and writes them.
enum GeminiWire {
    struct Part: Codable {
        var text: String?
        /// Set on thought-summary parts, which are not the answer.
        var thought: Bool?
    }

    struct Content: Codable {
        var role: String?
        var parts: [Part]?
    }

    struct Request: Encodable {
        struct GenerationConfig: Encodable {
            var maxOutputTokens: Int?
            var temperature: Double?
        }

        var systemInstruction: Content?
        var contents: [Content]
        var generationConfig: GenerationConfig
    }

    struct Answer: Decodable {
        struct Candidate: Decodable {
            var content: Content?
            var finishReason: String?
        }

        struct PromptFeedback: Decodable {
            var blockReason: String?
        }

        var candidates: [Candidate]?
        var promptFeedback: PromptFeedback?
        var usageMetadata: Usage?
        var modelVersion: String?
        var responseId: String?
    }

    struct Usage: Decodable {
        var promptTokenCount: Int?
        var candidatesTokenCount: Int?
        var cachedContentTokenCount: Int?
        var thoughtsTokenCount: Int?

        /// `promptTokenCount` includes the cached tokens; `candidatesTokenCount` excludes the
        /// thoughts, which are their own bucket.
        var tokenUsage: TokenUsage {
            let cached = cachedContentTokenCount ?? 0
            return TokenUsage(
                input: TokenUsage.remainder(promptTokenCount, less: cached), cachedInput: cached, output: candidatesTokenCount ?? 0,
                reasoning: thoughtsTokenCount ?? 0)
        }
    }

    static func finishReason(_ reason: String?) -> FinishReason {
        switch reason {
        case "STOP": .stop
        case "MAX_TOKENS": .length
        case "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY": .contentFilter
        case "MALFORMED_FUNCTION_CALL", "UNEXPECTED_TOOL_CALL": .toolCalls
        default: .other
        }
    }
}
