import HTTPTypes
import Hummingbird
import NIOCore
import SwitchboardProviders

/// Answers one request to the fake in the shape of one protocol.
struct FakeModelResponder {
    let api: RecordedRequest.API
    let state: FakeModelServerState

    func respond(to request: Request, model: String?) async throws -> Response {
        let buffer = try await request.body.collect(upTo: 4 << 20)
        let bytes = Array(buffer.readableBytesView)
        let recorded = RecordedRequest(
            api: api, method: request.method.rawValue, path: request.uri.path,
            headers: request.headers.map { (name: $0.name.canonicalName, value: $0.value) }, body: bytes,
            json: FakeJSON(parsing: bytes))
        let behaviour = await state.record(recorded)
        let call = Call(
            request: recorded, model: model ?? recorded.json?["model"]?.string ?? "fake-model",
            sequence: await state.recorded.count)
        return try await perform(behaviour, call)
    }

    /// What the fake knows about the call it answers.
    struct Call {
        var request: RecordedRequest
        var model: String
        /// 1 for the first request the server received: makes ids unique.
        var sequence: Int
    }

    func perform(_ behaviour: FakeModelBehaviour, _ call: Call) async throws -> Response {
        switch behaviour {
        case .echo:
            return answer("reply to: \(lastUserText(call.request.json))", usage: .standard, finishReason: nil, call)
        case .answer(let text, let usage, let finishReason):
            return answer(text, usage: usage ?? .standard, finishReason: finishReason, call)
        case .toolCalls(let calls, let text, let finishReason):
            return toolAnswer(calls, text: text ?? "", finishReason: finishReason, call)
        case .status(let code, let retryAfter, let body):
            var headers: HTTPFields = [.contentType: "application/json"]
            if let retryAfter { headers[.retryAfter] = retryAfter }
            if (300..<400).contains(code) { headers[.location] = "http://127.0.0.1:1/elsewhere" }
            let text = body ?? errorBody(status: code, call).serialized
            return Response(status: .init(code: code), headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
        case .statusHeaders(let code, let extra):
            var headers: HTTPFields = [.contentType: "application/json"]
            for (name, value) in extra {
                if let name = HTTPField.Name(name) { headers[name] = value }
            }
            return Response(
                status: .init(code: code), headers: headers,
                body: .init(byteBuffer: ByteBuffer(string: errorBody(status: code, call).serialized)))
        case .malformed:
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: "<html>upstream said something else</html>")))
        case .breakStream(let after):
            return broken(after: after, withError: false, call)
        case .streamError(let after):
            return broken(after: after, withError: true, call)
        case .delay(let duration):
            try await Task.sleep(for: duration)
            return try await perform(.echo, call)
        case .delayed(let duration, let then):
            try await Task.sleep(for: duration)
            return try await perform(then, call)
        case .held(let gate):
            await gate.pass()
            return try await perform(.echo, call)
        }
    }

    func answer(_ text: String, usage: FakeUsage, finishReason: String?, _ call: Call) -> Response {
        guard call.request.isStream, api != .gemini else {
            let body = completeBody(text, usage: usage, finishReason: finishReason, call)
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: body.serialized)))
        }
        return streamResponse(
            streamEvents(Self.pieces(of: text), usage: usage, finishReason: finishReason, cut: nil, call))
    }

    func toolAnswer(_ calls: [FakeToolCall], text: String, finishReason: String?, _ call: Call) -> Response {
        guard call.request.isStream, api != .gemini else {
            let body =
                switch api {
                case .openAI: openAIToolCompletion(calls, text: text, finishReason: finishReason, call)
                case .anthropic: anthropicToolMessage(calls, text: text, finishReason: finishReason, call)
                case .gemini: geminiToolAnswer(calls, text: text, finishReason: finishReason, call)
                }
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: body.serialized)))
        }
        let events =
            switch api {
            case .openAI: openAIToolStream(calls, text: text, finishReason: finishReason, call)
            case .anthropic: anthropicToolStream(calls, text: text, finishReason: finishReason, call)
            case .gemini: [String]()
            }
        return streamResponse(events)
    }

    /// `text` in `count` pieces of about equal length (fewer when it is shorter).
    static func split(_ text: String, into count: Int) -> [String] {
        guard !text.isEmpty else { return [] }
        let size = max(1, (text.count + count - 1) / count)
        var pieces: [String] = []
        var rest = Substring(text)
        while !rest.isEmpty {
            pieces.append(String(rest.prefix(size)))
            rest = rest.dropFirst(size)
        }
        return pieces
    }

    func broken(after deltas: Int, withError: Bool, _ call: Call) -> Response {
        let text = "reply to: \(lastUserText(call.request.json)) and then some more words that never arrive"
        guard call.request.isStream, api != .gemini else {
            let whole = completeBody(text, usage: .standard, finishReason: nil, call).serialized
            let cut = String(whole.prefix(whole.count / 2))
            return Response(
                status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: cut)))
        }
        let cut = StreamCut(deltas: deltas, withError: withError)
        return streamResponse(streamEvents(Self.pieces(of: text), usage: .standard, finishReason: nil, cut: cut, call))
    }

    /// Where a stream stops early: after `deltas` deltas, with an error event or silently.
    struct StreamCut {
        var deltas: Int
        var withError: Bool
    }

    func streamResponse(_ events: [String]) -> Response {
        Response(
            status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
            body: ResponseBody { writer in
                for event in events { try await writer.write(ByteBuffer(string: event)) }
                try await writer.finish(nil)
            })
    }

    func completeBody(_ text: String, usage: FakeUsage, finishReason: String?, _ call: Call) -> FakeJSON {
        switch api {
        case .openAI: openAICompletion(text, usage: usage, finishReason: finishReason, call)
        case .anthropic: anthropicMessage(text, usage: usage, finishReason: finishReason, call)
        case .gemini: geminiAnswer(text, usage: usage, finishReason: finishReason, call)
        }
    }

    func streamEvents(_ pieces: [String], usage: FakeUsage, finishReason: String?, cut: StreamCut?, _ call: Call) -> [String] {
        switch api {
        case .openAI: openAIStream(pieces, usage: usage, finishReason: finishReason, cut: cut, call)
        case .anthropic: anthropicStream(pieces, usage: usage, finishReason: finishReason, cut: cut, call)
        case .gemini: []
        }
    }

    func errorBody(status: Int, _ call: Call) -> FakeJSON {
        // Quote the presented key, as a careless upstream would: callers must not repeat it.
        let key =
            call.request.header("x-api-key") ?? call.request.header("x-goog-api-key")
            ?? call.request.header("authorization").map { String($0.dropFirst("Bearer ".count)) } ?? "none"
        let message = "fake failure \(status) for key \(key)"
        switch api {
        case .openAI: return openAIError(status: status, message: message)
        case .anthropic: return anthropicError(status: status, message: message)
        case .gemini: return geminiError(status: status, message: message)
        }
    }

    func lastUserText(_ json: FakeJSON?) -> String {
        switch api {
        case .openAI, .anthropic:
            let messages = json?["messages"]?.array ?? []
            guard let last = messages.last(where: { $0["role"]?.string == "user" }) else { return "" }
            if let text = last["content"]?.string { return text }
            return (last["content"]?.array ?? []).compactMap { $0["text"]?.string }.joined()
        case .gemini:
            let contents = json?["contents"]?.array ?? []
            guard let last = contents.last(where: { $0["role"]?.string == "user" }) else { return "" }
            return (last["parts"]?.array ?? []).compactMap { $0["text"]?.string }.joined()
        }
    }

    /// The text in word-sized deltas, spaces kept, as models stream it.
    static func pieces(of text: String) -> [String] {
        var pieces: [String] = []
        var current = ""
        for character in text {
            current.append(character)
            if character == " " {
                pieces.append(current)
                current = ""
            }
        }
        if !current.isEmpty { pieces.append(current) }
        return pieces
    }

    static func sse(_ json: FakeJSON, event: String? = nil) -> String {
        (event.map { "event: \($0)\n" } ?? "") + "data: \(json.serialized)\n\n"
    }
}
