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
