import Foundation
public import SwitchboardCore

/// Google's Gemini API (`gemini`), without streaming (the default one-delta stream).
///
/// `POST {base}/v1beta/models/{model}:generateContent` with `x-goog-api-key` (never the
/// `?key=` query, which would put the key in URLs and logs). The system prompt is the
/// `systemInstruction`; turns alternate `user`/`model`, starting with the user. A blocked
/// prompt (no candidates, a `promptFeedback.blockReason`) is an empty answer with
/// ``FinishReason/contentFilter``.
public struct GeminiProvider: ModelProvider {
    public var kind: ProviderKind { .gemini }
    let baseURL: String?
    let apiKey: String?
    let call: ProviderCall

    /// - Parameter timeout: the deadline of each call.
    public init(endpoint: ProviderEndpoint, transport: any ProviderTransport, timeout: Duration = .seconds(60)) {
        self.baseURL = endpoint.resolvedBaseURL
        self.apiKey = endpoint.apiKey.flatMap { $0.isEmpty ? nil : $0 }
        self.call = ProviderCall(provider: "Gemini", transport: transport, timeout: timeout, secrets: apiKey.map { [$0] } ?? [])
    }

    public func complete(_ request: ModelRequest) async throws -> ModelResponse {
        let started = ContinuousClock.now
        let answer = try await call.post(
            try url(model: request.model), headers: headers(), body: try body(for: request), as: GeminiWire.Answer.self)
        let usage = answer.usageMetadata?.tokenUsage ?? .zero
        let model = answer.modelVersion ?? request.model
        guard let candidate = answer.candidates?.first else {
            guard answer.promptFeedback?.blockReason != nil else {
                throw ModelProviderError(.malformedResponse, "Gemini answered with no candidates")
            }
            return ModelResponse(text: "", usage: usage, finishReason: .contentFilter, model: model, latency: .now - started)
        }
        let parts = (candidate.content?.parts ?? []).filter { $0.thought != true }
        let text = parts.compactMap(\.text).joined()
        let calls = try toolCalls(parts.compactMap(\.functionCall))
        return ModelResponse(
            text: text, usage: usage, finishReason: GeminiWire.finishReason(candidate.finishReason).withCalls(calls),
            model: model,
            latency: .now - started, toolCalls: calls)
    }

    func url(model: String) throws(ModelProviderError) -> String {
        guard let baseURL else { throw ModelProviderError(.badRequest, "the gemini provider has no base_url") }
        let name = model.hasPrefix("models/") ? String(model.dropFirst("models/".count)) : model
        let allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")
        guard !name.isEmpty, let escaped = name.addingPercentEncoding(withAllowedCharacters: allowed) else {
            throw ModelProviderError(.badRequest, "the Gemini model name is empty")
        }
        return "\(baseURL)/v1beta/models/\(escaped):generateContent"
    }

    func headers() -> [(name: String, value: String)] {
        apiKey.map { [(name: "x-goog-api-key", value: $0)] } ?? []
    }

    func body(for request: ModelRequest) throws(ModelProviderError) -> GeminiWire.Request {
        let turns = request.alternatingTurns
        guard !turns.isEmpty else {
            throw ModelProviderError(.badRequest, "the request has no user message, which Gemini requires")
        }
        try request.validateTools()
        return GeminiWire.Request(
            systemInstruction: request.usableSystemPrompt.map { GeminiWire.Content(role: nil, parts: [.init(text: $0)]) },
            contents: turns.map {
                GeminiWire.Content(role: $0.role == .user ? "user" : "model", parts: Self.parts(of: $0))
            },
            generationConfig: .init(maxOutputTokens: request.maxOutputTokens, temperature: request.temperature),
            tools: request.hasTools
                ? [
                    .init(
                        functionDeclarations: request.tools.map {
                            .init(name: $0.name, description: $0.description, parameters: $0.parameters)
                        })
                ] : nil,
            toolConfig: request.hasTools ? GeminiWire.toolConfig(request.toolChoice) : nil)
    }

    /// A plain turn is one text part; a turn with tool content is its `functionResponse`s
    /// (`{name, response: {content}}`, or `{error}` for a failed call), its text, then its
    /// `functionCall`s (arguments as the object they parse to, else an empty object).
    static func parts(of turn: ModelMessage) -> [GeminiWire.Part] {
        guard turn.hasToolContent else { return [.init(text: turn.text)] }
        var parts = turn.toolResults.map {
            GeminiWire.Part(
                functionResponse: .init(
                    name: $0.name, response: .object([$0.isError ? "error" : "content": .string($0.content)])))
        }
        if !turn.text.isEmpty { parts.append(.init(text: turn.text)) }
        for call in turn.toolCalls {
            var args = call.parsedArguments() ?? [:]
            if case .object = args {} else { args = [:] }
            parts.append(.init(functionCall: .init(name: call.name, args: args)))
        }
        return parts
    }

    /// An answer's `functionCall` parts as calls, checked against the bounds. Gemini names
    /// no call ids (older models): each gets `call_<index>`, stable for the answer.
    func toolCalls(_ wire: [GeminiWire.FunctionCall]) throws(ModelProviderError) -> [ModelToolCall] {
        try ModelToolCall.checkCount(wire.count, provider: call.provider)
        var calls: [ModelToolCall] = []
        for (index, item) in wire.enumerated() {
            guard let name = item.name, !name.isEmpty else {
                throw ModelProviderError(.malformedResponse, "Gemini sent a function call without a name")
            }
            let id = item.id.flatMap { $0.isEmpty ? nil : $0 } ?? "call_\(index)"
            calls.append(ModelToolCall(id: id, name: name, arguments: (item.args ?? [:]).serialized))
        }
        try ModelToolCall.checkBounds(calls, provider: call.provider)
        return calls
    }
}
