public import ConnectorKit
import Foundation
public import HTTPTypes
import Synchronization

/// An `OutboundHTTPClient` for tests: records every request and answers from a script.
///
/// Answers are queued per path suffix (`"/sendMessage"`, `"/messages"`) and used once each,
/// in order; a request whose path matches no queued answer gets the default answer. A
/// scripted answer can be any status with any headers and body, or a thrown error, so a
/// test can play 429 with `retry_after`, 500, 401 or a dead network without a socket.
///
/// ```swift
/// let http = RecordingHTTPClient()
/// http.enqueue(.json(429, #"{"ok":false,"parameters":{"retry_after":7}}"#), forPathSuffix: "/sendMessage")
/// _ = try? await connector.send(message, credentials: credentials, http: http)
/// let sent = try http.requests[0].jsonObject()
/// ```
public final class RecordingHTTPClient: OutboundHTTPClient {
    /// One request as the connector made it.
    public struct RecordedRequest: Sendable {
        /// The request head: method, scheme, authority, path and headers.
        public var request: HTTPRequest
        /// The body bytes exactly as sent (empty when the connector sent none).
        public var body: [UInt8]
        /// The bound the connector set on the answer's body (a media download's file
        /// limit); nil for the client's usual bound.
        public var maximumResponseBytes: Int?

        /// A record of `request` sent with `body`.
        public init(request: HTTPRequest, body: [UInt8]) {
            self.request = request
            self.body = body
        }

        /// The path without its query (`/bot123:abc/sendMessage`).
        public var pathWithoutQuery: String {
            String((request.path ?? "").prefix { $0 != "?" })
        }

        /// The body as a JSON object; throws when it is not one.
        public func jsonObject() throws -> [String: Any] {
            let value = try JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed])
            guard let object = value as? [String: Any] else { throw NotAJSONObject() }
            return object
        }

        /// The body decoded as `type`.
        public func decode<Value: Decodable>(_ type: Value.Type) throws -> Value {
            try JSONDecoder().decode(type, from: Data(body))
        }

        /// The body as UTF-8 text.
        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    /// What the client answers to one request.
    public enum Reply: Sendable {
        /// An HTTP answer.
        case respond(HTTPResponse.Status, headers: HTTPFields, body: [UInt8])
        /// The request fails before any answer (connection refused, timeout, TLS).
        case fail(any Error & Sendable)

        /// An answer with a JSON (or any text) body and `Content-Type: application/json`.
        public static func json(_ status: Int, _ body: String, headers: HTTPFields = [:]) -> Reply {
            var fields = headers
            if fields[.contentType] == nil { fields[.contentType] = "application/json" }
            return .respond(HTTPResponse.Status(code: status), headers: fields, body: Array(body.utf8))
        }

        /// A network failure whose description is `description` (tests put secrets in it
        /// to check that connectors do not repeat an underlying error's text).
        public static func networkFailure(_ description: String = "connection refused") -> Reply {
            .fail(TransportFailure(description: description))
        }
    }

    /// The error a `.networkFailure` reply throws.
    public struct TransportFailure: Error, Sendable, CustomStringConvertible {
        public var description: String
        /// A failure described as `description`.
        public init(description: String) { self.description = description }
    }

    /// Thrown by `RecordedRequest.jsonObject()` when the body is JSON but not an object.
    public struct NotAJSONObject: Error, Sendable {}

    private struct State {
        var requests: [RecordedRequest] = []
        var queues: [(suffix: String, replies: [Reply])] = []
        var defaultReply: Reply
    }

    private let state: Mutex<State>

    /// A client that answers every unscripted request with `defaultReply`
    /// (by default 200 with `{"ok":true}`).
    public init(defaultReply: Reply = .json(200, #"{"ok":true}"#)) {
        self.state = Mutex(State(defaultReply: defaultReply))
    }

    /// Queues `reply` for the next request whose path (without query) ends in `suffix`.
    /// Suffixes are tried in the order they were first scripted.
    public func enqueue(_ reply: Reply, forPathSuffix suffix: String) {
        state.withLock { state in
            if let index = state.queues.firstIndex(where: { $0.suffix == suffix }) {
                state.queues[index].replies.append(reply)
            } else {
                state.queues.append((suffix, [reply]))
            }
        }
    }

    /// Replaces the answer given to requests no queued answer matches.
    public func setDefaultReply(_ reply: Reply) {
        state.withLock { $0.defaultReply = reply }
    }

    /// Every request made so far, in order.
    public var requests: [RecordedRequest] {
        state.withLock { $0.requests }
    }

    /// The requests whose path (without query) ends in `suffix`, in order.
    public func requests(pathSuffix suffix: String) -> [RecordedRequest] {
        requests.filter { $0.pathWithoutQuery.hasSuffix(suffix) }
    }

    /// Records the request and answers with the next scripted reply for its path, else the default.
    public func execute(_ request: HTTPRequest, body: [UInt8]?) async throws -> (HTTPResponse, [UInt8]) {
        try await answer(RecordedRequest(request: request, body: body ?? []))
    }

    /// Records the request with its answer bound; answers as `execute(_:body:)` does. A
    /// scripted body longer than the bound is refused, as a real client refuses it.
    public func execute(_ request: HTTPRequest, body: [UInt8]?, maximumResponseBytes: Int) async throws -> (HTTPResponse, [UInt8]) {
        var recorded = RecordedRequest(request: request, body: body ?? [])
        recorded.maximumResponseBytes = maximumResponseBytes
        let (response, bytes) = try await answer(recorded)
        guard bytes.count <= maximumResponseBytes else { throw TransportFailure(description: "the answer's body is over its bound") }
        return (response, bytes)
    }

    private func answer(_ recorded: RecordedRequest) async throws -> (HTTPResponse, [UInt8]) {
        let reply = state.withLock { state -> Reply in
            state.requests.append(recorded)
            let path = recorded.pathWithoutQuery
            for index in state.queues.indices
            where path.hasSuffix(state.queues[index].suffix) && !state.queues[index].replies.isEmpty {
                return state.queues[index].replies.removeFirst()
            }
            return state.defaultReply
        }
        switch reply {
        case .respond(let status, let headers, let body):
            return (HTTPResponse(status: status, headerFields: headers), body)
        case .fail(let error):
            throw error
        }
    }
}
