public import SwitchboardCore

/// OpenAI Chat Completions (`openai`), and every server that speaks it (`openai_compatible`:
/// Ollama, vLLM, LM Studio, gateways).
///
/// `POST {base}/chat/completions` with `Authorization: Bearer <key>` when there is a key.
/// The system prompt is the first message (role `system`); consecutive messages of one role
/// are sent as they are, which Chat Completions accepts. The output limit is
/// `max_completion_tokens` for `openai` and `max_tokens` for compatible servers. Streams ask
/// for `stream_options.include_usage`, so usage comes in a last chunk with no choices; a
/// compatible server that sends none reports ``TokenUsage/zero``.
public struct OpenAIChatProvider: ModelProvider {
    public let kind: ProviderKind
    let baseURL: String?
    let apiKey: String?
    let call: ProviderCall

    /// - Parameter timeout: the deadline of each call, a streamed body included.
    public init(endpoint: ProviderEndpoint, transport: any ProviderTransport, timeout: Duration = .seconds(60)) {
        self.kind = endpoint.kind
        self.baseURL = endpoint.resolvedBaseURL
        self.apiKey = endpoint.apiKey.flatMap { $0.isEmpty ? nil : $0 }
        let name = endpoint.kind == .openai ? "OpenAI" : "the OpenAI-compatible server"
        self.call = ProviderCall(provider: name, transport: transport, timeout: timeout, secrets: apiKey.map { [$0] } ?? [])
    }

    public func complete(_ request: ModelRequest) async throws -> ModelResponse {
        let started = ContinuousClock.now
        let completion = try await call.post(
            try url(), headers: headers(), body: body(for: request, stream: false), as: OpenAIChatWire.Completion.self)
        guard let choice = completion.choices.first else {
            throw ModelProviderError(.malformedResponse, "\(call.provider) answered with no choices")
        }
        return ModelResponse(
            text: choice.message?.content ?? choice.message?.refusal ?? "",
            usage: completion.usage?.tokenUsage ?? .zero,
            finishReason: OpenAIChatWire.finishReason(choice.finishReason),
            model: completion.model ?? request.model,
            latency: .now - started)
    }

    public func stream(_ request: ModelRequest) -> AsyncThrowingStream<ModelStreamEvent, any Error> {
        .producing { continuation in
            let started = ContinuousClock.now
            var events = try await call.openEvents(try url(), headers: headers(), body: body(for: request, stream: true))
            var text = ""
            var finishReason: FinishReason?
            var usage: TokenUsage?
            var model: String?
            while let event = try await events.next() {
                if event.data == "[DONE]" {
                    let response = ModelResponse(
                        text: text, usage: usage ?? .zero, finishReason: finishReason ?? .other,
                        model: model ?? request.model, latency: .now - started)
                    continuation.yield(.finished(response))
                    return
                }
                let chunk = try call.decodeEvent(OpenAIChatWire.Chunk.self, from: event)
                if let failure = chunk.error {
                    let detail = failure.message.flatMap { ProviderErrorExcerpt.clean($0, secrets: call.secrets) }
                    throw ModelProviderError(.server, "\(call.provider) failed mid-stream" + (detail.map { ": \($0)" } ?? ""))
                }
                model = model ?? chunk.model
                if let chunkUsage = chunk.usage { usage = chunkUsage.tokenUsage }
                for choice in chunk.choices ?? [] {
                    if let piece = choice.delta?.content ?? choice.delta?.refusal, !piece.isEmpty {
                        text += piece
                        continuation.yield(.delta(piece))
                    }
                    if let reason = choice.finishReason { finishReason = OpenAIChatWire.finishReason(reason) }
                }
            }
            throw ModelProviderError(.streamInterrupted, "the \(call.provider) stream ended before [DONE]")
        }
    }

    func url() throws(ModelProviderError) -> String {
        guard let baseURL else {
            throw ModelProviderError(.badRequest, "the \(kind.rawValue) provider has no base_url")
        }
        return baseURL + "/chat/completions"
    }

    func headers() -> [(name: String, value: String)] {
        apiKey.map { [(name: "Authorization", value: "Bearer \($0)")] } ?? []
    }

    func body(for request: ModelRequest, stream: Bool) -> OpenAIChatWire.Request {
        var messages = request.usableSystemPrompt.map { [OpenAIChatWire.Request.Message(role: "system", content: $0)] } ?? []
        messages += request.messages.map { OpenAIChatWire.Request.Message(role: $0.role.rawValue, content: $0.text) }
        return OpenAIChatWire.Request(
            model: request.model, messages: messages, temperature: request.temperature,
            maxCompletionTokens: kind == .openai ? request.maxOutputTokens : nil,
            maxTokens: kind == .openai ? nil : request.maxOutputTokens,
            stream: stream ? true : nil,
            streamOptions: stream ? .init(includeUsage: true) : nil,
            // Compatible servers may refuse a field they do not know; OpenAI's is explicit.
            store: kind == .openai ? false : nil)
    }
}
