import SwitchboardProviders
extension FakeModelResponder {
    func geminiAnswer(_ text: String, usage: FakeUsage, finishReason: String?, _ call: Call) -> FakeJSON {
        [
            "candidates": [
                [
                    "content": ["parts": [["text": .string(text)]], "role": "model"],
                    "finishReason": .string(finishReason ?? "STOP"),
                    "index": 0,
                ]
            ],
            "usageMetadata": [
                "promptTokenCount": .int(usage.prompt),
                "cachedContentTokenCount": .int(usage.cached),
                "candidatesTokenCount": .int(usage.completion),
                "thoughtsTokenCount": .int(usage.reasoning),
                "totalTokenCount": .int(usage.prompt + usage.completion + usage.reasoning),
                "promptTokensDetails": [["modality": "TEXT", "tokenCount": .int(usage.prompt)]],
            ],
            "modelVersion": .string(call.model),
            "responseId": .string("fake-response-\(call.sequence)"),
        ]
    }

    func geminiError(status: Int, message: String) -> FakeJSON {
        let name =
            switch status {
            case 400: "INVALID_ARGUMENT"
            case 401: "UNAUTHENTICATED"
            case 403: "PERMISSION_DENIED"
            case 404: "NOT_FOUND"
            case 429: "RESOURCE_EXHAUSTED"
            case 503: "UNAVAILABLE"
            default: "INTERNAL"
            }
        return ["error": ["code": .int(status), "message": .string(message), "status": .string(name)]]
    }
}

extension FakeModelResponder {
    /// Gemini answers a call with `finishReason: STOP` and no call ids.
    func geminiToolAnswer(_ calls: [FakeToolCall], text: String, finishReason: String?, _ call: Call) -> FakeJSON {
        guard case .object(var body) = geminiAnswer(text, usage: .standard, finishReason: finishReason, call),
            case .array(var candidates) = body["candidates"], case .object(var candidate) = candidates[0]
        else { return .null }
        var parts: [FakeJSON] = text.isEmpty ? [] : [["text": .string(text)]]
        for tool in calls {
            parts.append([
                "functionCall": [
                    "name": .string(tool.name), "args": FakeJSON(parsing: Array(tool.arguments.utf8)) ?? .string(tool.arguments),
                ]
            ])
        }
        candidate["content"] = ["parts": .array(parts), "role": "model"]
        candidates[0] = .object(candidate)
        body["candidates"] = .array(candidates)
        return .object(body)
    }
}
