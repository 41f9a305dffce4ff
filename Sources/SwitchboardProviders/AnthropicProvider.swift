public import SwitchboardCore

/// Anthropic's Messages API (`anthropic`).
///
/// `POST {base}/v1/messages` with `x-api-key` and `anthropic-version: 2023-06-01`. The
/// system prompt goes in the `system` field; messages are sent as alternating turns starting
/// with the user (see ``ModelRequest/messages``). `max_tokens` is required, so a request
/// without a limit gets ``defaultMaxTokens``.
///
/// A stream is `message_start` (input usage), `content_block_delta`s (`text_delta`),
/// `message_delta` (stop reason, cumulative output usage) and `message_stop`; an `error`
/// event fails it, and a body that ends before `message_stop` is `.streamInterrupted`.
public struct AnthropicProvider: ModelProvider {
    /// The version header the request and answer shapes here follow.
    public static let apiVersion = "2023-06-01"
    /// `max_tokens` when the request names no limit.
    public static let defaultMaxTokens = 1024

    public var kind: ProviderKind { .anthropic }
    let baseURL: String?
    let apiKey: String?
    let call: ProviderCall

    /// - Parameter timeout: the deadline of each call, a streamed body included.
    public init(endpoint: ProviderEndpoint, transport: any ProviderTransport, timeout: Duration = .seconds(60)) {
        self.baseURL = endpoint.resolvedBaseURL
        self.apiKey = endpoint.apiKey.flatMap { $0.isEmpty ? nil : $0 }
        self.call = ProviderCall(
            provider: "Anthropic", transport: transport, timeout: timeout, secrets: apiKey.map { [$0] } ?? [])
    }

    public func complete(_ request: ModelRequest) async throws -> ModelResponse {
        let started = ContinuousClock.now
        let message = try await call.post(
            try url(), headers: headers(), body: try body(for: request, stream: false), as: AnthropicWire.Message.self)
        guard message.content != nil else {
            throw ModelProviderError(.malformedResponse, "Anthropic answered with no content")
        }
        return ModelResponse(
            text: message.text, usage: message.usage?.tokenUsage ?? .zero,
            finishReason: AnthropicWire.finishReason(message.stopReason), model: message.model ?? request.model,
            latency: .now - started)
    }

    public func stream(_ request: ModelRequest) -> AsyncThrowingStream<ModelStreamEvent, any Error> {
        .producing { continuation in
            let started = ContinuousClock.now
            var events = try await call.openEvents(try url(), headers: headers(), body: try body(for: request, stream: true))
            var text = ""
            var usage = AnthropicWire.Usage()
            var stopReason: String?
            var model: String?
            while let event = try await events.next() {
                let decoded = try call.decodeEvent(AnthropicWire.StreamEvent.self, from: event)
                switch decoded.type {
                case "message_start":
                    model = decoded.message?.model
                    if let start = decoded.message?.usage { usage = usage.updated(by: start) }
                case "content_block_delta":
                    if decoded.delta?.type == "text_delta", let piece = decoded.delta?.text, !piece.isEmpty {
                        text += piece
                        continuation.yield(.delta(piece))
                    }
                case "message_delta":
                    stopReason = decoded.delta?.stopReason ?? stopReason
                    if let later = decoded.usage { usage = usage.updated(by: later) }
                case "message_stop":
                    let response = ModelResponse(
                        text: text, usage: usage.tokenUsage, finishReason: AnthropicWire.finishReason(stopReason),
                        model: model ?? request.model, latency: .now - started)
                    continuation.yield(.finished(response))
                    return
                case "error":
                    let detail = decoded.error?.message.flatMap { ProviderErrorExcerpt.clean($0, secrets: call.secrets) }
                    throw ModelProviderError(
                        AnthropicWire.errorKind(decoded.error?.type),
                        "Anthropic failed mid-stream" + (detail.map { ": \($0)" } ?? ""))
                default:
                    break  // ping, content_block_start, content_block_stop, and future events
                }
            }
            throw ModelProviderError(.streamInterrupted, "the Anthropic stream ended before message_stop")
        }
    }

    func url() throws(ModelProviderError) -> String {
        guard let baseURL else { throw ModelProviderError(.badRequest, "the anthropic provider has no base_url") }
        return baseURL + "/v1/messages"
    }

    func headers() -> [(name: String, value: String)] {
        var headers = [(name: "anthropic-version", value: Self.apiVersion)]
        if let apiKey { headers.append((name: "x-api-key", value: apiKey)) }
        return headers
    }

    func body(for request: ModelRequest, stream: Bool) throws(ModelProviderError) -> AnthropicWire.Request {
        let turns = request.alternatingTurns
        guard !turns.isEmpty else {
            throw ModelProviderError(.badRequest, "the request has no user message, which Anthropic requires")
        }
        return AnthropicWire.Request(
            model: request.model, maxTokens: request.maxOutputTokens ?? Self.defaultMaxTokens,
            system: request.usableSystemPrompt,
            messages: turns.map { AnthropicWire.Request.Message(role: $0.role.rawValue, content: $0.text) },
            temperature: request.temperature, stream: stream ? true : nil)
    }
}
