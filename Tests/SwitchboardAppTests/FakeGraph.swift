import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization

/// A loopback Meta Graph API for the end-to-end tests of WhatsApp, Messenger and Instagram
/// channels, scripted per test:
///
/// - `POST /{version}/{id}/messages`: a body with `messaging_product` (WhatsApp) is answered
///   `{"messaging_product":"whatsapp","messages":[{"id":"wamid.N"}]}`, any other (Messenger,
///   Instagram) `{"recipient_id":…,"message_id":"m_N"}`, N counting every send from 1;
/// - `GET /{version}/{user-id}?fields=…`: the profile `setProfile` gave, else Graph's 100
///   (HTTP 400);
/// - `GET /{version}/{waba-id}/message_templates`: the page `setTemplates` gave, else none.
///
/// A bearer token other than `token` is answered 401 with Graph's 190, and `failNext` makes
/// the next request to a path answer a Graph error. Every request is in `log`, its path with
/// the query.
final class FakeGraph: Sendable {
    /// `http://127.0.0.1:<port>`: the connectors' Graph API base.
    let base: String
    /// Every request received, in order: method, path with query, body.
    let log: RequestLog
    /// The one access token the fake accepts.
    let token: String
    private let script: Script

    fileprivate init(base: String, log: RequestLog, token: String, script: Script) {
        self.base = base
        self.log = log
        self.token = token
        self.script = script
    }

    /// The next request whose path (without its query) ends in `suffix` is answered with
    /// HTTP `status` and `{"error":{"message","type","code","error_subcode","fbtrace_id"}}`.
    /// Several scripted failures for one path are used in order.
    func failNext(path suffix: String, status: Int, code: Int, subcode: Int? = nil, message: String) {
        var error: [String: Any] = ["message": message, "type": "OAuthException", "code": code, "fbtrace_id": "FakeGraph"]
        if let subcode { error["error_subcode"] = subcode }
        let body = Self.json(["error": error])
        script.state.withLock { $0.failures.append(Script.Failure(suffix: suffix, status: status, body: body)) }
    }

    /// What `GET /{version}/{id}` answers (Messenger's and Instagram's profile look-ups).
    func setProfile(id: String, json: String) {
        script.state.withLock { $0.profiles[id] = json }
    }

    /// What `GET /{version}/{wabaID}/message_templates` answers: a Graph page,
    /// `{"data":[…],"paging":{…}}`.
    func setTemplates(wabaID: String, json: String) {
        script.state.withLock { $0.templates[wabaID] = json }
    }

    /// How many messages were sent (`POST …/messages` answered with an id).
    var sentCount: Int { script.state.withLock { $0.sent } }

    fileprivate static func json(_ object: [String: Any]) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}

/// What the fake's handlers share with the tests' `FakeGraph`, behind one lock.
private final class Script: Sendable {
    struct Failure: Sendable {
        var suffix: String
        var status: Int
        var body: String
    }

    struct State: Sendable {
        var failures: [Failure] = []
        var profiles: [String: String] = [:]
        var templates: [String: String] = [:]
        var sent = 0
    }

    let state = Mutex(State())

    /// Takes the first scripted failure for `path` (without query), if any.
    func takeFailure(for path: String) -> Failure? {
        state.withLock { state in
            guard let index = state.failures.firstIndex(where: { path.hasSuffix($0.suffix) }) else { return nil }
            return state.failures.remove(at: index)
        }
    }
}

/// Runs a `FakeGraph` on 127.0.0.1 for the duration of `body`; `token` is the only access
/// token it accepts.
func withFakeGraph<Result: Sendable>(
    token: String = "EAAG-test", _ body: @Sendable (FakeGraph) async throws -> Result
) async throws -> Result {
    let log = RequestLog()
    let script = Script()
    let router = Router()

    /// Logs the request, then checks the token and the scripted failures: the answer to
    /// give instead of the route's, if any.
    @Sendable func intercept(_ request: Request, body: [UInt8]) -> Response? {
        let path = request.head.path ?? "/"
        log.append(.init(method: request.method.rawValue, path: path, body: body))
        guard request.headers[.authorization] == "Bearer \(token)" else {
            return answer(
                401,
                #"{"error":{"message":"Invalid OAuth access token - Cannot parse access token","type":"OAuthException","code":190,"fbtrace_id":"FakeGraph"}}"#
            )
        }
        if let failure = script.takeFailure(for: String(path.prefix { $0 != "?" })) {
            return answer(failure.status, failure.body)
        }
        return nil
    }

    // Route parameters share their names at each depth: one trie holds every route.
    router.post("/{version}/{id}/messages") { request, _ -> Response in
        let bytes = Array(try await request.body.collect(upTo: 1 << 20).readableBytesView)
        if let refused = intercept(request, body: bytes) { return refused }
        let object = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] ?? [:]
        let number = script.state.withLock { state -> Int in
            state.sent += 1
            return state.sent
        }
        if object["messaging_product"] != nil {
            return answer(200, FakeGraph.json(["messaging_product": "whatsapp", "messages": [["id": "wamid.\(number)"]]]))
        }
        let recipient = (object["recipient"] as? [String: Any])?["id"] as? String ?? ""
        return answer(200, FakeGraph.json(["recipient_id": recipient, "message_id": "m_\(number)"]))
    }
    router.get("/{version}/{id}/message_templates") { request, context -> Response in
        if let refused = intercept(request, body: []) { return refused }
        let wabaID = context.parameters.get("id") ?? ""
        return answer(200, script.state.withLock { $0.templates[wabaID] } ?? #"{"data":[]}"#)
    }
    router.get("/{version}/{id}") { request, context -> Response in
        if let refused = intercept(request, body: []) { return refused }
        let id = context.parameters.get("id") ?? ""
        if let profile = script.state.withLock({ $0.profiles[id] }) { return answer(200, profile) }
        let message =
            "Unsupported get request. Object with ID '\(id)' does not exist, cannot be loaded due to missing permissions, or does not support this operation."
        return answer(
            400,
            FakeGraph.json([
                "error": ["message": message, "type": "GraphMethodException", "code": 100, "error_subcode": 33, "fbtrace_id": "FakeGraph"]
            ]))
    }
    return try await serveLoopback(router) { port in
        try await body(FakeGraph(base: "http://127.0.0.1:\(port)", log: log, token: token, script: script))
    }
}

/// A JSON answer with `status`.
private func answer(_ status: Int, _ json: String) -> Response {
    var headers = HTTPFields()
    headers[.contentType] = "application/json"
    return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(string: json)))
}
