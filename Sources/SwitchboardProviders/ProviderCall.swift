import Foundation

/// The HTTP plumbing every remote provider shares: encode a JSON body, send it through the
/// transport, judge the status, decode the answer; or open an SSE stream. Every failure
/// comes out as a ``ModelProviderError``.
struct ProviderCall: Sendable {
    /// The provider's name in messages ("OpenAI").
    var provider: String
    var transport: any ProviderTransport
    var timeout: Duration
    /// Removed from any provider text that reaches an error message (the API key).
    var secrets: [String]

    /// The most of an error body read from a failed stream.
    static let maximumErrorBody = 64 << 10

    func post<Answer: Decodable>(
        _ url: String, headers: [(name: String, value: String)], body: some Encodable, as answer: Answer.Type
    ) async throws(ModelProviderError) -> Answer {
        try await exchange(ProviderHTTPRequest(url: url, headers: jsonHeaders(headers), body: try encode(body)), as: answer)
    }

    /// Sends a request and decodes the provider's JSON answer; a non-2xx answer throws
    /// the error it stands for.
    func exchange<Answer: Decodable>(
        _ request: ProviderHTTPRequest, as answer: Answer.Type
    ) async throws(ModelProviderError) -> Answer {
        let response: ProviderHTTPResponse
        do {
            response = try await transport.send(request, timeout: timeout)
        } catch {
            throw transportError(error)
        }
        if let failure = ModelProviderError.http(
            status: response.status, headers: response.headers, body: response.body, provider: provider, secrets: secrets)
        {
            throw failure
        }
        do {
            return try JSONDecoder().decode(Answer.self, from: Data(response.body))
        } catch {
            throw ModelProviderError(
                .malformedResponse, "\(provider) answered HTTP \(response.status) with a body that is not its JSON answer",
                status: response.status)
        }
    }

    /// Opens a streamed call and returns its server-sent events; a non-2xx answer throws
    /// the error it stands for before any event.
    func openEvents(
        _ url: String, headers: [(name: String, value: String)], body: some Encodable
    ) async throws(ModelProviderError) -> ServerSentEvents {
        var headers = jsonHeaders(headers)
        headers.removeAll { $0.name.lowercased() == "accept" }
        headers.append((name: "Accept", value: "text/event-stream"))
        let request = ProviderHTTPRequest(url: url, headers: headers, body: try encode(body))
        let head: ProviderHTTPResponseHead
        let chunks: AsyncThrowingStream<[UInt8], any Error>
        do {
            (head, chunks) = try await transport.stream(request, timeout: timeout)
        } catch {
            throw transportError(error)
        }
        guard (200..<300).contains(head.status) else {
            var body: [UInt8] = []
            do {
                for try await chunk in chunks where body.count < Self.maximumErrorBody { body += chunk }
            } catch {}
            throw ModelProviderError.http(
                status: head.status, headers: head.headers, body: body, provider: provider, secrets: secrets)
                ?? ModelProviderError(.server, "\(provider) failed", status: head.status)
        }
        return ServerSentEvents(provider: provider, chunks: chunks)
    }

    /// Reads a stream's events one by one, mapping transport failures.
    struct ServerSentEvents {
        var provider: String
        var parser = ServerSentEventParser()
        var pending: [ServerSentEvent] = []
        var iterator: AsyncThrowingStream<[UInt8], any Error>.AsyncIterator

        init(provider: String, chunks: AsyncThrowingStream<[UInt8], any Error>) {
            self.provider = provider
            self.iterator = chunks.makeAsyncIterator()
        }

        /// The next event, or `nil` when the body ended. A transport failure mid-body is
        /// `.streamInterrupted` (`.timeout` when the deadline passed).
        mutating func next() async throws(ModelProviderError) -> ServerSentEvent? {
            while pending.isEmpty {
                let chunk: [UInt8]?
                do {
                    chunk = try await iterator.next()
                } catch let error as ModelProviderError where error.kind == .timeout {
                    throw error
                } catch let error as ModelProviderError {
                    throw ModelProviderError(.streamInterrupted, "the \(provider) stream broke: \(error.message)")
                } catch {
                    throw ModelProviderError(.streamInterrupted, "the \(provider) stream broke")
                }
                guard let chunk else { return nil }
                do {
                    pending = try parser.feed(chunk)
                } catch {
                    throw ModelProviderError(.malformedResponse, "the \(provider) stream has a line over 1 MiB")
                }
            }
            return pending.removeFirst()
        }
    }

    func decodeEvent<Event: Decodable>(_ type: Event.Type, from event: ServerSentEvent) throws(ModelProviderError) -> Event {
        do {
            return try JSONDecoder().decode(Event.self, from: Data(event.data.utf8))
        } catch {
            throw ModelProviderError(.malformedResponse, "\(provider) sent a stream event that is not its JSON")
        }
    }

    private func jsonHeaders(_ headers: [(name: String, value: String)]) -> [(name: String, value: String)] {
        [(name: "Content-Type", value: "application/json"), (name: "Accept", value: "application/json")] + headers
    }

    private func encode(_ body: some Encodable) throws(ModelProviderError) -> [UInt8] {
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return Array(try encoder.encode(body))
        } catch {
            throw ModelProviderError(.badRequest, "could not encode the \(provider) request")
        }
    }

    private func transportError(_ error: any Error) -> ModelProviderError {
        if var error = error as? ModelProviderError {
            if let cleaned = ProviderErrorExcerpt.clean(error.message, secrets: secrets) { error.message = cleaned }
            return error
        }
        return ModelProviderError(.network, "could not reach \(provider)")
    }
}
