/// Anthropic Messages bodies, as far as Switchboard reads and writes them.
enum AnthropicWire {
    struct Request: Encodable {
        struct Message: Encodable {
            var role: String
            var content: Content
        }

        /// A plain turn is a string, as before tools; a turn with calls or results is blocks.
        enum Content: Encodable {
            case text(String)
            case blocks([Block])

            func encode(to encoder: any Encoder) throws {
                var container = encoder.singleValueContainer()
                switch self {
                case .text(let text): try container.encode(text)
                case .blocks(let blocks): try container.encode(blocks)
                }
            }
        }

        /// A `text`, `tool_use` or `tool_result` block.
        struct Block: Encodable {
            var type: String
            var text: String?
            var id: String?
            var name: String?
            var input: ModelJSON?
            var toolUseID: String?
            var content: String?
            var isError: Bool?

            enum CodingKeys: String, CodingKey {
                case type, text, id, name, input, content
                case toolUseID = "tool_use_id"
                case isError = "is_error"
            }
        }

        struct Tool: Encodable {
            var name: String
            var description: String
            var inputSchema: ModelJSON

            enum CodingKeys: String, CodingKey {
                case name, description
                case inputSchema = "input_schema"
            }
        }

        var model: String
        var maxTokens: Int
        var system: String?
        var messages: [Message]
        var temperature: Double?
        var stream: Bool?
        var tools: [Tool]?
        /// `{"type": "auto" | "any" | "none"}` or `{"type": "tool", "name": …}`.
        var toolChoice: ModelJSON?

        enum CodingKeys: String, CodingKey {
            case model, system, messages, temperature, stream, tools
            case maxTokens = "max_tokens"
            case toolChoice = "tool_choice"
        }
    }

    struct Message: Decodable {
        struct Block: Decodable {
            var type: String
            var text: String?
            /// `tool_use` blocks: the call's id, tool name and arguments (an object).
            var id: String?
            var name: String?
            var input: ModelJSON?
        }

        var id: String?
        var model: String?
        var content: [Block]?
        var stopReason: String?
        var usage: Usage?

        enum CodingKeys: String, CodingKey {
            case id, model, content, usage
            case stopReason = "stop_reason"
        }

        /// The text blocks, concatenated (thinking and tool blocks are not the answer).
        var text: String {
            (content ?? []).filter { $0.type == "text" }.compactMap(\.text).joined()
        }
    }

    /// Every field optional: `message_delta` carries only what changed.
    struct Usage: Decodable {
        var inputTokens: Int?
        var outputTokens: Int?
        var cacheCreationInputTokens: Int?
        var cacheReadInputTokens: Int?

        enum CodingKeys: String, CodingKey {
            case inputTokens = "input_tokens"
            case outputTokens = "output_tokens"
            case cacheCreationInputTokens = "cache_creation_input_tokens"
            case cacheReadInputTokens = "cache_read_input_tokens"
        }

        /// `input_tokens` excludes both cache fields: cache writes are billed as input (at a
        /// premium), cache reads as cached input.
        var tokenUsage: TokenUsage {
            TokenUsage(
                input: TokenUsage.sum(inputTokens, cacheCreationInputTokens), cachedInput: cacheReadInputTokens ?? 0,
                output: outputTokens ?? 0, reasoning: 0)
        }

        /// The later counts where `later` has them (`message_delta` counts are cumulative).
        func updated(by later: Usage) -> Usage {
            Usage(
                inputTokens: later.inputTokens ?? inputTokens, outputTokens: later.outputTokens ?? outputTokens,
                cacheCreationInputTokens: later.cacheCreationInputTokens ?? cacheCreationInputTokens,
                cacheReadInputTokens: later.cacheReadInputTokens ?? cacheReadInputTokens)
        }
    }

    /// One streamed event; which fields are present depends on `type`.
    struct StreamEvent: Decodable {
        struct Delta: Decodable {
            var type: String?
            var text: String?
            var stopReason: String?
            /// `input_json_delta`: the next piece of a `tool_use` block's arguments.
            var partialJSON: String?

            enum CodingKeys: String, CodingKey {
                case type, text
                case stopReason = "stop_reason"
                case partialJSON = "partial_json"
            }
        }

        struct Failure: Decodable {
            var type: String?
            var message: String?
        }

        var type: String
        var message: Message?
        var index: Int?
        /// `content_block_start`: the block that starts (a `tool_use` brings its id and name).
        var contentBlock: Message.Block?
        var delta: Delta?
        var usage: Usage?
        var error: Failure?

        enum CodingKeys: String, CodingKey {
            case type, message, index, delta, usage, error
            case contentBlock = "content_block"
        }
    }

    static func toolChoice(_ choice: ModelToolChoice) -> ModelJSON {
        switch choice {
        case .auto: ["type": "auto"]
        case .none: ["type": "none"]
        case .required: ["type": "any"]
        case .tool(let name): ["type": "tool", "name": .string(name)]
        }
    }

    static func finishReason(_ reason: String?) -> FinishReason {
        switch reason {
        case "end_turn", "stop_sequence": .stop
        case "max_tokens", "model_context_window_exceeded": .length
        case "tool_use": .toolCalls
        case "refusal": .contentFilter
        default: .other
        }
    }

    /// The kind of an `error` event, from Anthropic's error types.
    static func errorKind(_ type: String?) -> ModelProviderError.Kind {
        switch type {
        case "authentication_error", "permission_error": .unauthorized
        case "invalid_request_error", "request_too_large": .badRequest
        case "not_found_error": .notFound
        case "rate_limit_error": .rateLimited
        default: .server  // api_error, overloaded_error, and whatever comes next
        }
    }
}
