public import SwitchboardCore

/// Anthropic's Messages API (`anthropic`).
///
/// `POST {base}/v1/messages` with `x-api-key` and `anthropic-version: 2023-06-01`. The
/// system prompt goes in the `system` field; messages are sent as alternating turns starting
/// with the user (see ``ModelRequest/messages``). `max_tokens` is required, so a request
/// without a limit gets ``defaultMaxTokens``.
///
/// Tools go as `tools` (`input_schema`) and `tool_choice`; calls come as `tool_use` blocks
/// and results go back as `tool_result` blocks in a user turn.
///
/// A stream is `message_start` (input usage), `content_block_delta`s (`text_delta`, or
/// `input_json_delta` between a `tool_use` `content_block_start` and its `content_block_stop`),
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
        let calls = try toolCalls(in: message.content ?? [])
        return ModelResponse(
            text: message.text, usage: message.usage?.tokenUsage ?? .zero,
            finishReason: AnthropicWire.finishReason(message.stopReason).withCalls(calls), model: message.model ?? request.model,
            latency: .now - started, toolCalls: calls)
    }

    public func stream(_ request: ModelRequest) -> AsyncThrowingStream<ModelStreamEvent, any Error> {
        .producing { continuation in
            let started = ContinuousClock.now
            var events = try await call.openEvents(try url(), headers: headers(), body: try body(for: request, stream: true))
            var text = ""
            var usage = AnthropicWire.Usage()
            var stopReason: String?
            var model: String?
            var calls: [ModelToolCall] = []
            /// The `tool_use` block being streamed: its index, id, name and arguments so far.
            var open: (index: Int?, id: String, name: String, arguments: String)?
            while let event = try await events.next() {
                let decoded = try call.decodeEvent(AnthropicWire.StreamEvent.self, from: event)
                switch decoded.type {
                case "content_block_start":
                    if let block = decoded.contentBlock, block.type == "tool_use" {
                        try ModelToolCall.checkCount(calls.count + 1, provider: call.provider)
                        let id = block.id ?? "call_\(calls.count)"
                        let name = block.name ?? ""
                        try ModelToolCall.checkIdentifiers(id: id, name: name, provider: call.provider)
                        guard !name.isEmpty else {
                            throw ModelProviderError(.malformedResponse, "Anthropic streamed a tool call without a name")
                        }
                        open = (decoded.index, id, name, "")
                    }
                case "content_block_stop":
                    if let current = open, current.index == nil || decoded.index == nil || current.index == decoded.index {
                        // A call with no arguments streams no pieces: its input is an empty object.
                        let toolCall = ModelToolCall(
                            id: current.id, name: current.name, arguments: current.arguments.isEmpty ? "{}" : current.arguments)
                        calls.append(toolCall)
                        continuation.yield(.toolCall(toolCall))
                        open = nil
                    }
                case "message_start":
                    model = decoded.message?.model
                    if let start = decoded.message?.usage { usage = usage.updated(by: start) }
                case "content_block_delta":
                    if decoded.delta?.type == "text_delta", let piece = decoded.delta?.text, !piece.isEmpty {
                        text += piece
                        continuation.yield(.delta(piece))
                    } else if decoded.delta?.type == "input_json_delta", let piece = decoded.delta?.partialJSON,
                        open != nil
                    {
                        open?.arguments += piece
                        try ModelToolCall.checkArguments(byteCount: open?.arguments.utf8.count ?? 0, provider: call.provider)
                    }
                case "message_delta":
                    stopReason = decoded.delta?.stopReason ?? stopReason
                    if let later = decoded.usage { usage = usage.updated(by: later) }
                case "message_stop":
                    let response = ModelResponse(
                        text: text, usage: usage.tokenUsage,
                        finishReason: AnthropicWire.finishReason(stopReason).withCalls(calls),
                        model: model ?? request.model, latency: .now - started, toolCalls: calls)
                    continuation.yield(.finished(response))
                    return
                case "error":
                    let detail = decoded.error?.message.flatMap { ProviderErrorExcerpt.clean($0, secrets: call.secrets) }
                    throw ModelProviderError(
                        AnthropicWire.errorKind(decoded.error?.type),
                        "Anthropic failed mid-stream" + (detail.map { ": \($0)" } ?? ""))
                default:
                    break  // ping, and future events
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
        try request.validateTools()
        return AnthropicWire.Request(
            model: request.model, maxTokens: request.maxOutputTokens ?? Self.defaultMaxTokens,
            system: request.usableSystemPrompt,
            messages: turns.map { AnthropicWire.Request.Message(role: $0.role.rawValue, content: Self.content(of: $0)) },
            temperature: request.temperature, stream: stream ? true : nil,
            tools: request.hasTools
                ? request.tools.map { .init(name: $0.name, description: $0.description, inputSchema: $0.parameters) } : nil,
            toolChoice: request.hasTools ? AnthropicWire.toolChoice(request.toolChoice) : nil)
    }

    /// A plain turn as a string; a turn with tool content as blocks: `tool_result`s first
    /// (Anthropic wants them before any text), then the text, then `tool_use`s. A call's
    /// arguments go back as the object they parse to (an empty object when they are not
    /// an object: `input` must be one).
    static func content(of turn: ModelMessage) -> AnthropicWire.Request.Content {
        guard turn.hasToolContent else { return .text(turn.text) }
        var blocks = turn.toolResults.map {
            AnthropicWire.Request.Block(
                type: "tool_result", toolUseID: $0.callID, content: $0.content, isError: $0.isError ? true : nil)
        }
        if !turn.text.isEmpty { blocks.append(.init(type: "text", text: turn.text)) }
        for call in turn.toolCalls {
            var input = call.parsedArguments() ?? [:]
            if case .object = input {} else { input = [:] }
            blocks.append(.init(type: "tool_use", id: call.id, name: call.name, input: input))
        }
        return .blocks(blocks)
    }

    /// A complete answer's `tool_use` blocks, checked against the bounds; the input object
    /// becomes the arguments text (keys sorted).
    func toolCalls(in blocks: [AnthropicWire.Message.Block]) throws(ModelProviderError) -> [ModelToolCall] {
        let uses = blocks.filter { $0.type == "tool_use" }
        try ModelToolCall.checkCount(uses.count, provider: call.provider)
        var calls: [ModelToolCall] = []
        for (index, block) in uses.enumerated() {
            guard let name = block.name, !name.isEmpty else {
                throw ModelProviderError(.malformedResponse, "Anthropic sent a tool call without a name")
            }
            calls.append(ModelToolCall(id: block.id ?? "call_\(index)", name: name, arguments: (block.input ?? [:]).serialized))
        }
        try ModelToolCall.checkBounds(calls, provider: call.provider)
        return calls
    }
}
