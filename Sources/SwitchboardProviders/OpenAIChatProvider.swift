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
            try url(), headers: headers(), body: try body(for: request, stream: false), as: OpenAIChatWire.Completion.self)
        guard let choice = completion.choices.first else {
            throw ModelProviderError(.malformedResponse, "\(call.provider) answered with no choices")
        }
        let calls = try toolCalls(choice.message?.toolCalls ?? [])
        return ModelResponse(
            text: choice.message?.content ?? choice.message?.refusal ?? "",
            usage: completion.usage?.tokenUsage ?? .zero,
            finishReason: OpenAIChatWire.finishReason(choice.finishReason).withCalls(calls),
            model: completion.model ?? request.model,
            latency: .now - started, toolCalls: calls)
    }

    public func stream(_ request: ModelRequest) -> AsyncThrowingStream<ModelStreamEvent, any Error> {
        .producing { continuation in
            let started = ContinuousClock.now
            var events = try await call.openEvents(try url(), headers: headers(), body: try body(for: request, stream: true))
            var text = ""
            var finishReason: FinishReason?
            var usage: TokenUsage?
            var model: String?
            var assembler = OpenAIToolCallAssembler(provider: call.provider)
            var calls: [ModelToolCall]?
            while let event = try await events.next() {
                if event.data == "[DONE]" {
                    if calls == nil {
                        calls = try assembler.finish()
                        for call in calls ?? [] { continuation.yield(.toolCall(call)) }
                    }
                    let calls = calls ?? []
                    let response = ModelResponse(
                        text: text, usage: usage ?? .zero, finishReason: (finishReason ?? .other).withCalls(calls),
                        model: model ?? request.model, latency: .now - started, toolCalls: calls)
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
                    for fragment in choice.delta?.toolCalls ?? [] { try assembler.add(fragment) }
                    if let reason = choice.finishReason {
                        finishReason = OpenAIChatWire.finishReason(reason)
                        // The calls are complete once the choice finishes: send them now, not after usage.
                        if calls == nil {
                            calls = try assembler.finish()
                            for call in calls ?? [] { continuation.yield(.toolCall(call)) }
                        }
                    }
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

    func body(for request: ModelRequest, stream: Bool) throws(ModelProviderError) -> OpenAIChatWire.Request {
        try request.validateTools()
        var messages = request.usableSystemPrompt.map { [OpenAIChatWire.Request.Message(role: "system", content: $0)] } ?? []
        for message in request.messages {
            messages += Self.wireMessages(message)
        }
        return OpenAIChatWire.Request(
            model: request.model, messages: messages, temperature: request.temperature,
            maxCompletionTokens: kind == .openai ? request.maxOutputTokens : nil,
            maxTokens: kind == .openai ? nil : request.maxOutputTokens,
            stream: stream ? true : nil,
            streamOptions: stream ? .init(includeUsage: true) : nil,
            // Compatible servers may refuse a field they do not know; OpenAI's is explicit.
            store: kind == .openai ? false : nil,
            tools: request.hasTools
                ? request.tools.map {
                    .init(function: .init(name: $0.name, description: $0.description, parameters: $0.parameters))
                } : nil,
            toolChoice: request.hasTools ? OpenAIChatWire.toolChoice(request.toolChoice) : nil)
    }

    /// One turn as Chat Completions messages: a `tool` message per result first, then the
    /// turn itself (an assistant turn with calls has `tool_calls`, and `content: null` when
    /// it has no text). A turn of results alone sends no empty message after them.
    static func wireMessages(_ message: ModelMessage) -> [OpenAIChatWire.Request.Message] {
        guard message.hasToolContent else {
            return [OpenAIChatWire.Request.Message(role: message.role.rawValue, content: message.text)]
        }
        var messages = message.toolResults.map {
            OpenAIChatWire.Request.Message(role: "tool", content: $0.content, toolCallID: $0.callID)
        }
        if !message.toolCalls.isEmpty {
            messages.append(
                OpenAIChatWire.Request.Message(
                    role: message.role.rawValue, content: message.text.isEmpty ? nil : message.text,
                    toolCalls: message.toolCalls.map {
                        .init(id: $0.id, function: .init(name: $0.name, arguments: $0.arguments))
                    }))
        } else if !message.text.isEmpty {
            messages.append(OpenAIChatWire.Request.Message(role: message.role.rawValue, content: message.text))
        }
        return messages
    }

    /// A complete answer's calls, checked against the bounds.
    func toolCalls(_ wire: [OpenAIChatWire.Completion.ToolCall]) throws(ModelProviderError) -> [ModelToolCall] {
        try ModelToolCall.checkCount(wire.count, provider: call.provider)
        var calls: [ModelToolCall] = []
        for (index, item) in wire.enumerated() {
            guard let name = item.function?.name, !name.isEmpty else {
                throw ModelProviderError(.malformedResponse, "\(call.provider) sent a tool call without a name")
            }
            calls.append(ModelToolCall(id: item.id ?? "call_\(index)", name: name, arguments: item.function?.arguments ?? ""))
        }
        try ModelToolCall.checkBounds(calls, provider: call.provider)
        return calls
    }
}

/// Puts streamed tool-call fragments back together, by `index`, checking the bounds as
/// they grow so a hostile stream cannot make it buffer without end.
struct OpenAIToolCallAssembler {
    let provider: String
    private var order: [Int] = []
    private var calls: [Int: (id: String?, name: String, arguments: String)] = [:]

    init(provider: String) {
        self.provider = provider
    }

    mutating func add(_ fragment: OpenAIChatWire.Chunk.ToolCallFragment) throws(ModelProviderError) {
        // A server that sends no index sends one call at a time: the fragment extends the last call,
        // or starts the next when it brings an id.
        let index = fragment.index ?? (fragment.id != nil || order.isEmpty ? (order.last ?? -1) + 1 : order.last ?? 0)
        if calls[index] == nil {
            try ModelToolCall.checkCount(order.count + 1, provider: provider)
            order.append(index)
            calls[index] = (id: nil, name: "", arguments: "")
        }
        var current = calls[index]!
        if let id = fragment.id, !id.isEmpty { current.id = id }
        // The name comes whole in the call's first fragment; a server that repeats it is not
        // allowed to double it.
        if let name = fragment.function?.name, current.name.isEmpty { current.name = name }
        if let arguments = fragment.function?.arguments { current.arguments += arguments }
        try ModelToolCall.checkIdentifiers(id: current.id ?? "", name: current.name, provider: provider)
        try ModelToolCall.checkArguments(byteCount: current.arguments.utf8.count, provider: provider)
        calls[index] = current
    }

    /// The calls in `index` order; empties the assembler.
    mutating func finish() throws(ModelProviderError) -> [ModelToolCall] {
        var result: [ModelToolCall] = []
        for (position, index) in order.sorted().enumerated() {
            let call = calls[index]!
            guard !call.name.isEmpty else {
                throw ModelProviderError(.malformedResponse, "\(provider) streamed a tool call without a name")
            }
            result.append(ModelToolCall(id: call.id ?? "call_\(position)", name: call.name, arguments: call.arguments))
        }
        order = []
        calls = [:]
        return result
    }
}
