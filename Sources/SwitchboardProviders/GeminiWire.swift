/// Gemini `generateContent` bodies, as far as Switchboard reads and writes them.
enum GeminiWire {
    struct Part: Codable {
        var text: String?
        /// Set on thought-summary parts, which are not the answer.
        var thought: Bool?
        var functionCall: FunctionCall?
        var functionResponse: FunctionResponse?

        init(
            text: String? = nil, thought: Bool? = nil, functionCall: FunctionCall? = nil,
            functionResponse: FunctionResponse? = nil
        ) {
            self.text = text
            self.thought = thought
            self.functionCall = functionCall
            self.functionResponse = functionResponse
        }
    }

    struct FunctionCall: Codable {
        /// Newer models may give an id; older ones give none.
        var id: String?
        var name: String?
        var args: ModelJSON?
    }

    struct FunctionResponse: Codable {
        var name: String
        var response: ModelJSON
    }

    struct Tool: Encodable {
        struct FunctionDeclaration: Encodable {
            var name: String
            var description: String
            var parameters: ModelJSON
        }

        var functionDeclarations: [FunctionDeclaration]
    }

    struct ToolConfig: Encodable {
        struct FunctionCallingConfig: Encodable {
            var mode: String
            var allowedFunctionNames: [String]?
        }

        var functionCallingConfig: FunctionCallingConfig
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
        var tools: [Tool]?
        var toolConfig: ToolConfig?
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

    /// `AUTO`, `NONE`, `ANY`, or `ANY` limited to one function.
    static func toolConfig(_ choice: ModelToolChoice) -> ToolConfig {
        switch choice {
        case .auto: ToolConfig(functionCallingConfig: .init(mode: "AUTO"))
        case .none: ToolConfig(functionCallingConfig: .init(mode: "NONE"))
        case .required: ToolConfig(functionCallingConfig: .init(mode: "ANY"))
        case .tool(let name): ToolConfig(functionCallingConfig: .init(mode: "ANY", allowedFunctionNames: [name]))
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
