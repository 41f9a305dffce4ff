import SwitchboardProviders
extension FakeModelResponder {
    func openAIUsage(_ usage: FakeUsage) -> FakeJSON {
        [
            "prompt_tokens": .int(usage.prompt),
            "completion_tokens": .int(usage.completion),
            "total_tokens": .int(usage.prompt + usage.completion),
            "prompt_tokens_details": ["cached_tokens": .int(usage.cached), "audio_tokens": 0],
            "completion_tokens_details": [
                "reasoning_tokens": .int(usage.reasoning), "audio_tokens": 0, "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            ],
        ]
    }

    func openAICompletion(_ text: String, usage: FakeUsage, finishReason: String?, _ call: Call) -> FakeJSON {
        [
            "id": .string("chatcmpl-fake\(call.sequence)"),
            "object": "chat.completion",
            "created": 1_750_000_000,
            "model": .string(call.model),
            "system_fingerprint": "fp_fake",
            "choices": [
                [
                    "index": 0,
                    "message": ["role": "assistant", "content": .string(text), "refusal": .null, "annotations": []],
                    "logprobs": .null,
                    "finish_reason": .string(finishReason ?? "stop"),
                ]
            ],
            "usage": openAIUsage(usage),
            "service_tier": "default",
        ]
    }

    func openAIStream(_ pieces: [String], usage: FakeUsage, finishReason: String?, cut: StreamCut?, _ call: Call) -> [String] {
        func chunk(_ delta: FakeJSON, finish: FakeJSON = .null) -> String {
            Self.sse([
                "id": .string("chatcmpl-fake\(call.sequence)"), "object": "chat.completion.chunk", "created": 1_750_000_000,
                "model": .string(call.model), "system_fingerprint": "fp_fake",
                "choices": [["index": 0, "delta": delta, "logprobs": .null, "finish_reason": finish]],
                "usage": .null,
            ])
        }
        var events = [chunk(["role": "assistant", "content": "", "refusal": .null])]
        for (index, piece) in pieces.enumerated() {
            if let cut, index == cut.deltas {
                if cut.withError {
                    events.append(
                        Self.sse([
                            "error": [
                                "message": "The server had an error while processing your request.", "type": "server_error",
                            ]
                        ]))
                }
                return events
            }
            events.append(chunk(["content": .string(piece)]))
        }
        if cut != nil { return events }
        events.append(chunk([:], finish: .string(finishReason ?? "stop")))
        events.append(
            Self.sse([
                "id": .string("chatcmpl-fake\(call.sequence)"), "object": "chat.completion.chunk", "created": 1_750_000_000,
                "model": .string(call.model), "choices": [], "usage": openAIUsage(usage),
            ]))
        events.append("data: [DONE]\n\n")
        return events
    }

    func openAIError(status: Int, message: String) -> FakeJSON {
        let (type, code): (String, FakeJSON) =
            switch status {
            case 401: ("invalid_request_error", "invalid_api_key")
            case 404: ("invalid_request_error", "model_not_found")
            case 429: ("requests", "rate_limit_exceeded")
            case 500...: ("server_error", .null)
            default: ("invalid_request_error", .null)
            }
        return ["error": ["message": .string(message), "type": .string(type), "param": .null, "code": code]]
    }
}

extension FakeModelResponder {
    func openAIToolCallID(_ call: Call, _ index: Int) -> String { "call_fake\(call.sequence)_\(index)" }

    func openAIToolCompletion(_ calls: [FakeToolCall], text: String, finishReason: String?, _ call: Call) -> FakeJSON {
        guard case .object(var body) = openAICompletion(text, usage: .standard, finishReason: finishReason ?? "tool_calls", call),
            case .array(var choices) = body["choices"], case .object(var choice) = choices[0],
            case .object(var message) = choice["message"]
        else { return .null }
        message["content"] = text.isEmpty ? .null : .string(text)
        message["tool_calls"] = .array(
            calls.enumerated().map { index, tool in
                [
                    "id": .string(openAIToolCallID(call, index)), "type": "function",
                    "function": ["name": .string(tool.name), "arguments": .string(tool.arguments)],
                ]
            })
        choice["message"] = .object(message)
        choices[0] = .object(choice)
        body["choices"] = .array(choices)
        return .object(body)
    }

    /// Text pieces, then each call's first fragment (id, name, empty arguments), then the
    /// arguments in three pieces per call, interleaved across calls by `index`.
    func openAIToolStream(_ calls: [FakeToolCall], text: String, finishReason: String?, _ call: Call) -> [String] {
        func chunk(_ delta: FakeJSON, finish: FakeJSON = .null) -> String {
            Self.sse([
                "id": .string("chatcmpl-fake\(call.sequence)"), "object": "chat.completion.chunk", "created": 1_750_000_000,
                "model": .string(call.model), "system_fingerprint": "fp_fake",
                "choices": [["index": 0, "delta": delta, "logprobs": .null, "finish_reason": finish]],
                "usage": .null,
            ])
        }
        var events = [chunk(["role": "assistant", "content": text.isEmpty ? .null : "", "refusal": .null])]
        for piece in Self.pieces(of: text) { events.append(chunk(["content": .string(piece)])) }
        for (index, tool) in calls.enumerated() {
            events.append(
                chunk([
                    "tool_calls": [
                        [
                            "index": .int(index), "id": .string(openAIToolCallID(call, index)), "type": "function",
                            "function": ["name": .string(tool.name), "arguments": ""],
                        ]
                    ]
                ]))
        }
        let pieces = calls.map { Self.split($0.arguments, into: 3) }
        for round in 0..<(pieces.map(\.count).max() ?? 0) {
            for (index, callPieces) in pieces.enumerated() where round < callPieces.count {
                events.append(
                    chunk(["tool_calls": [["index": .int(index), "function": ["arguments": .string(callPieces[round])]]]]))
            }
        }
        events.append(chunk([:], finish: .string(finishReason ?? "tool_calls")))
        events.append(
            Self.sse([
                "id": .string("chatcmpl-fake\(call.sequence)"), "object": "chat.completion.chunk", "created": 1_750_000_000,
                "model": .string(call.model), "choices": [], "usage": openAIUsage(.standard),
            ]))
        events.append("data: [DONE]\n\n")
        return events
    }
}
