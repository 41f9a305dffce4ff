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
