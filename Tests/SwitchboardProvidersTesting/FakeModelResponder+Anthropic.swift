import SwitchboardProviders
extension FakeModelResponder {
    func anthropicUsage(_ usage: FakeUsage, output: Int) -> FakeJSON {
        [
            "input_tokens": .int(usage.prompt),
            "cache_creation_input_tokens": .int(usage.cacheCreation),
            "cache_read_input_tokens": .int(usage.cached),
            "output_tokens": .int(output),
            "service_tier": "standard",
        ]
    }

    func anthropicMessage(_ text: String, usage: FakeUsage, finishReason: String?, _ call: Call) -> FakeJSON {
        [
            "id": .string("msg_fake\(call.sequence)"),
            "type": "message",
            "role": "assistant",
            "model": .string(call.model),
            "content": [["type": "text", "text": .string(text)]],
            "stop_reason": .string(finishReason ?? "end_turn"),
            "stop_sequence": .null,
            "usage": anthropicUsage(usage, output: usage.completion),
        ]
    }

    func anthropicStream(_ pieces: [String], usage: FakeUsage, finishReason: String?, cut: StreamCut?, _ call: Call) -> [String] {
        var start = anthropicMessage("", usage: usage, finishReason: nil, call)
        if case .object(var message) = start {
            message["content"] = []
            message["stop_reason"] = .null
            message["usage"] = anthropicUsage(usage, output: 1)
            start = .object(message)
        }
        var events = [
            Self.sse(["type": "message_start", "message": start], event: "message_start"),
            Self.sse(
                ["type": "content_block_start", "index": 0, "content_block": ["type": "text", "text": ""]],
                event: "content_block_start"),
            Self.sse(["type": "ping"], event: "ping"),
        ]
        for (index, piece) in pieces.enumerated() {
            if let cut, index == cut.deltas {
                if cut.withError {
                    events.append(
                        Self.sse(
                            ["type": "error", "error": ["type": "overloaded_error", "message": "Overloaded"]], event: "error"))
                }
                return events
            }
            events.append(
                Self.sse(
                    ["type": "content_block_delta", "index": 0, "delta": ["type": "text_delta", "text": .string(piece)]],
                    event: "content_block_delta"))
        }
        if cut != nil { return events }
        events.append(Self.sse(["type": "content_block_stop", "index": 0], event: "content_block_stop"))
        events.append(
            Self.sse(
                [
                    "type": "message_delta",
                    "delta": ["stop_reason": .string(finishReason ?? "end_turn"), "stop_sequence": .null],
                    "usage": ["output_tokens": .int(usage.completion)],
                ], event: "message_delta"))
        events.append(Self.sse(["type": "message_stop"], event: "message_stop"))
        return events
    }

    func anthropicError(status: Int, message: String) -> FakeJSON {
        let type =
            switch status {
            case 400: "invalid_request_error"
            case 401: "authentication_error"
            case 403: "permission_error"
            case 404: "not_found_error"
            case 413: "request_too_large"
            case 429: "rate_limit_error"
            case 529: "overloaded_error"
            default: "api_error"
            }
        return ["type": "error", "error": ["type": .string(type), "message": .string(message)]]
    }
}

extension FakeModelResponder {
    func anthropicToolUseID(_ call: Call, _ index: Int) -> String { "toolu_fake\(call.sequence)_\(index)" }

    /// The arguments as the `input` object; text that is not JSON goes as a string (which
    /// the real API never sends, and the provider must survive).
    func anthropicInput(_ arguments: String) -> FakeJSON {
        FakeJSON(parsing: Array(arguments.utf8)) ?? .string(arguments)
    }

    func anthropicToolMessage(_ calls: [FakeToolCall], text: String, finishReason: String?, _ call: Call) -> FakeJSON {
        guard case .object(var message) = anthropicMessage(text, usage: .standard, finishReason: finishReason ?? "tool_use", call)
        else { return .null }
        var content: [FakeJSON] = text.isEmpty ? [] : [["type": "text", "text": .string(text)]]
        for (index, tool) in calls.enumerated() {
            content.append([
                "type": "tool_use", "id": .string(anthropicToolUseID(call, index)), "name": .string(tool.name),
                "input": anthropicInput(tool.arguments),
            ])
        }
        message["content"] = .array(content)
        return .object(message)
    }

    /// An optional text block, then one `tool_use` block per call whose arguments come in
    /// three `input_json_delta` pieces.
    func anthropicToolStream(_ calls: [FakeToolCall], text: String, finishReason: String?, _ call: Call) -> [String] {
        var start = anthropicMessage("", usage: .standard, finishReason: nil, call)
        if case .object(var message) = start {
            message["content"] = []
            message["stop_reason"] = .null
            message["usage"] = anthropicUsage(.standard, output: 1)
            start = .object(message)
        }
        var events = [Self.sse(["type": "message_start", "message": start], event: "message_start")]
        var block = 0
        if !text.isEmpty {
            events.append(
                Self.sse(
                    ["type": "content_block_start", "index": 0, "content_block": ["type": "text", "text": ""]],
                    event: "content_block_start"))
            for piece in Self.pieces(of: text) {
                events.append(
                    Self.sse(
                        ["type": "content_block_delta", "index": 0, "delta": ["type": "text_delta", "text": .string(piece)]],
                        event: "content_block_delta"))
            }
            events.append(Self.sse(["type": "content_block_stop", "index": 0], event: "content_block_stop"))
            block = 1
        }
        for (offset, tool) in calls.enumerated() {
            let index = FakeJSON.int(block + offset)
            events.append(
                Self.sse(
                    [
                        "type": "content_block_start", "index": index,
                        "content_block": [
                            "type": "tool_use", "id": .string(anthropicToolUseID(call, offset)), "name": .string(tool.name),
                            "input": [:],
                        ],
                    ], event: "content_block_start"))
            for piece in Self.split(tool.arguments, into: 3) {
                events.append(
                    Self.sse(
                        [
                            "type": "content_block_delta", "index": index,
                            "delta": ["type": "input_json_delta", "partial_json": .string(piece)],
                        ], event: "content_block_delta"))
            }
            events.append(Self.sse(["type": "content_block_stop", "index": index], event: "content_block_stop"))
        }
        events.append(
            Self.sse(
                [
                    "type": "message_delta",
                    "delta": ["stop_reason": .string(finishReason ?? "tool_use"), "stop_sequence": .null],
                    "usage": ["output_tokens": .int(FakeUsage.standard.completion)],
                ], event: "message_delta"))
        events.append(Self.sse(["type": "message_stop"], event: "message_stop"))
        return events
    }
}
