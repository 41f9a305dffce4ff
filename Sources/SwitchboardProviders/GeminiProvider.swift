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
        let text = (candidate.content?.parts ?? []).filter { $0.thought != true }.compactMap(\.text).joined()
        return ModelResponse(
            text: text, usage: usage, finishReason: GeminiWire.finishReason(candidate.finishReason), model: model,
            latency: .now - started)
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
        return GeminiWire.Request(
            systemInstruction: request.usableSystemPrompt.map { GeminiWire.Content(role: nil, parts: [.init(text: $0)]) },
            contents: turns.map {
                GeminiWire.Content(role: $0.role == .user ? "user" : "model", parts: [.init(text: $0.text)])
            },
            generationConfig: .init(maxOutputTokens: request.maxOutputTokens, temperature: request.temperature))
    }
}
