/// OpenAI Chat Completions bodies, as far as Switchboard reads and writes them.
enum OpenAIChatWire {
    struct Request: Encodable {
        struct Message: Encodable {
            var role: String
            /// `nil` only on an assistant message that only calls tools (sent as `null`).
            var content: String?
            var toolCalls: [ToolCall]?
            var toolCallID: String?

            init(role: String, content: String?, toolCalls: [ToolCall]? = nil, toolCallID: String? = nil) {
                self.role = role
                self.content = content
                self.toolCalls = toolCalls
                self.toolCallID = toolCallID
            }

            enum CodingKeys: String, CodingKey {
                case role, content
                case toolCalls = "tool_calls"
                case toolCallID = "tool_call_id"
            }

            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(role, forKey: .role)
                if let content {
                    try container.encode(content, forKey: .content)
                } else {
                    try container.encodeNil(forKey: .content)
                }
                try container.encodeIfPresent(toolCalls, forKey: .toolCalls)
                try container.encodeIfPresent(toolCallID, forKey: .toolCallID)
            }
        }

        struct ToolCall: Encodable {
            struct Function: Encodable {
                var name: String
                var arguments: String
            }

            var id: String
            var type = "function"
            var function: Function
        }

        struct Tool: Encodable {
            struct Function: Encodable {
                var name: String
                var description: String
                var parameters: ModelJSON
            }

            var type = "function"
            var function: Function
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
        var tools: [Tool]?
        /// `"auto"`, `"none"`, `"required"`, or `{"type": "function", "function": {"name": …}}`.
        var toolChoice: ModelJSON?

        enum CodingKeys: String, CodingKey {
            case model, messages, temperature, stream, store, tools
            case toolChoice = "tool_choice"
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
            var toolCalls: [ToolCall]?

            enum CodingKeys: String, CodingKey {
                case content, refusal
                case toolCalls = "tool_calls"
            }
        }

        struct ToolCall: Decodable {
            struct Function: Decodable {
                var name: String?
                var arguments: String?
            }

            var id: String?
            var function: Function?
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
            var toolCalls: [ToolCallFragment]?

            enum CodingKeys: String, CodingKey {
                case content, refusal
                case toolCalls = "tool_calls"
            }
        }

        /// A piece of a streamed call: the first of a call has its `id` and name, the rest
        /// add to its arguments; `index` says which call.
        struct ToolCallFragment: Decodable {
            struct Function: Decodable {
                var name: String?
                var arguments: String?
            }

            var index: Int?
            var id: String?
            var function: Function?
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

    static func toolChoice(_ choice: ModelToolChoice) -> ModelJSON {
        switch choice {
        case .auto: "auto"
        case .none: "none"
        case .required: "required"
        case .tool(let name): ["type": "function", "function": ["name": .string(name)]]
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
