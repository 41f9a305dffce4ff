/// OpenAI Chat Completions bodies, as far as Switchboard reads and writes them.
enum OpenAIChatWire {
    struct Request: Encodable {
        struct Message: Encodable {
            var role: String
            var content: String
        }

        struct StreamOptions: Encodable {
            var includeUsage: Bool

            enum CodingKeys: String, CodingKey {
                case includeUsage = "include_usage"
            }
        }

        var model: String
        var messages: [Message]
        var temperature: Double?
        /// OpenAI's name for the output limit (`max_tokens` is deprecated there and refused
        /// by reasoning models).
        var maxCompletionTokens: Int?
        /// What compatible servers (Ollama, vLLM, LM Studio) still read.
        var maxTokens: Int?
        var stream: Bool?
        var streamOptions: StreamOptions?
        /// OpenAI keeps no copy of the exchange (for its evals and distillation) when false:
        /// the tenants' customer data is not theirs to keep.
        var store: Bool?

        enum CodingKeys: String, CodingKey {
            case model, messages, temperature, stream, store
            case maxCompletionTokens = "max_completion_tokens"
            case maxTokens = "max_tokens"
            case streamOptions = "stream_options"
        }
    }

    struct Completion: Decodable {
        struct Choice: Decodable {
            var message: Message?
            var finishReason: String?

            enum CodingKeys: String, CodingKey {
                case message
                case finishReason = "finish_reason"
            }
        }

        struct Message: Decodable {
            var content: String?
            var refusal: String?
        }

        var id: String?
        var model: String?
        var choices: [Choice]
        var usage: Usage?
    }

    struct Chunk: Decodable {
        struct Choice: Decodable {
            var delta: Delta?
            var finishReason: String?

            enum CodingKeys: String, CodingKey {
                case delta
                case finishReason = "finish_reason"
            }
        }

        struct Delta: Decodable {
            var content: String?
            var refusal: String?
        }

        struct Failure: Decodable {
            var message: String?
        }

        var model: String?
        var choices: [Choice]?
        var usage: Usage?
        /// Some servers report a failure mid-stream as a `data:` line with an `error` object.
        var error: Failure?
    }

    struct Usage: Decodable {
        struct PromptDetails: Decodable {
            var cachedTokens: Int?

            enum CodingKeys: String, CodingKey {
                case cachedTokens = "cached_tokens"
            }
        }

        struct CompletionDetails: Decodable {
            var reasoningTokens: Int?

            enum CodingKeys: String, CodingKey {
                case reasoningTokens = "reasoning_tokens"
            }
        }

        var promptTokens: Int
        var completionTokens: Int
        var promptTokensDetails: PromptDetails?
        var completionTokensDetails: CompletionDetails?

        enum CodingKeys: String, CodingKey {
            case promptTokens = "prompt_tokens"
            case completionTokens = "completion_tokens"
            case promptTokensDetails = "prompt_tokens_details"
            case completionTokensDetails = "completion_tokens_details"
        }

        /// `prompt_tokens` includes the cached tokens and `completion_tokens` the reasoning
        /// tokens: take them out so the buckets are disjoint.
        var tokenUsage: TokenUsage {
            let cached = promptTokensDetails?.cachedTokens ?? 0
            let reasoning = completionTokensDetails?.reasoningTokens ?? 0
            return TokenUsage(
                input: TokenUsage.remainder(promptTokens, less: cached), cachedInput: cached,
                output: TokenUsage.remainder(completionTokens, less: reasoning), reasoning: reasoning)
        }
    }

    static func finishReason(_ reason: String?) -> FinishReason {
        switch reason {
        case "stop": .stop
        case "length": .length
        case "content_filter": .contentFilter
        case "tool_calls", "function_call": .toolCalls
        default: .other
        }
    }
}
