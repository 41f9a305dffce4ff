import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// What a loopback fake platform received: method, path and body of each request.
final class RequestLog: Sendable {
    struct Entry: Sendable {
        var method: String
        var path: String
        var body: [UInt8]
        var json: [String: String] {
            guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else { return [:] }
            return object.mapValues { "\($0)" }
        }
    }

    private struct Waiter {
        var count: Int
        var method: String
        var continuation: CheckedContinuation<Void, Never>
    }

    private struct State {
        var entries: [Entry] = []
        var waiters: [Int: Waiter] = [:]
        var nextWaiter = 0

        func calls(_ method: String) -> Int { entries.filter { $0.path.hasSuffix("/\(method)") }.count }
    }

    private let state = Mutex(State())

    func append(_ entry: Entry) {
        let ready = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.entries.append(entry)
            let done = state.waiters.filter { state.calls($0.value.method) >= $0.value.count }
            for id in done.keys { state.waiters[id] = nil }
            return done.values.map(\.continuation)
        }
        for continuation in ready { continuation.resume() }
    }

    var all: [Entry] { state.withLock { $0.entries } }

    /// The requests to one Bot API method (`sendMessage`).
    func calls(_ method: String) -> [Entry] { all.filter { $0.path.hasSuffix("/\(method)") } }

    /// Suspends until `count` requests to `method` have arrived, or the task is cancelled
    /// (no polling, no sleeping); bound it with `within`.
    func wait(for count: Int, _ method: String) async {
        let id = state.withLock { state -> Int in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLock { state -> Bool in
                    if state.calls(method) >= count || Task.isCancelled { return true }
                    state.waiters[id] = Waiter(count: count, method: method, continuation: continuation)
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.continuation.resume()
        }
    }
}

/// A loopback Telegram Bot API: `POST /bot<token>/<method>` with the real answers —
/// `getMe` and `setWebhook` succeed for `validToken`, anything else is Telegram's 401.
func withFakeTelegram<Result: Sendable>(
    validToken: String, sendStatus: @escaping @Sendable (_ attempt: Int) -> Int = { _ in 200 },
    _ body: @Sendable (_ base: String, _ log: RequestLog) async throws -> Result
) async throws -> Result {
    let log = RequestLog()
    let router = Router()
    // File downloads (getFile's path): a voice note's bytes.
    router.get("/file/{bot}/{folder}/{name}") { _, context -> Response in
        let bot = context.parameters.get("bot") ?? ""
        log.append(.init(method: "GET", path: "/file/\(bot)/\(context.parameters.get("folder") ?? "")/\(context.parameters.get("name") ?? "")", body: []))
        guard bot == "bot\(validToken)" else { return Response(status: .unauthorized) }
        // `size_<n>.oga`: a voice note of n bytes.
        let name = context.parameters.get("name") ?? ""
        if name.hasPrefix("size_"), let size = Int(name.dropFirst(5).prefix { $0.isNumber }) {
            var bytes = Array("OggS fake voice".utf8)
            bytes += [UInt8](repeating: 0x2E, count: max(size - bytes.count, 0))
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
        return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(bytes: Array("OggS fake voice".utf8))))
    }
    router.post("/{bot}/{method}") { request, context -> Response in
        let bytes = try await request.body.collect(upTo: 1 << 20)
        let method = context.parameters.get("method") ?? ""
        let bot = context.parameters.get("bot") ?? ""
        log.append(.init(method: "POST", path: "/\(bot)/\(method)", body: Array(bytes.readableBytesView)))
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        guard bot == "bot\(validToken)" else {
            return Response(status: .unauthorized, headers: headers, body: .init(byteBuffer: ByteBuffer(string: #"{"ok":false,"error_code":401,"description":"Unauthorized"}"#)))
        }
        if method == "sendMessage" {
            let status = sendStatus(log.calls("sendMessage").count)
            if status != 200 {
                let answer = status == 429
                    ? #"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 3","parameters":{"retry_after":3}}"#
                    : #"{"ok":false,"error_code":\#(status),"description":"Internal Server Error"}"#
                return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(string: answer)))
            }
        }
        let result: String
        switch method {
        case "getMe": result = #"{"id":7001,"is_bot":true,"first_name":"ShopBot","username":"shop_bot"}"#
        case "setWebhook", "answerCallbackQuery": result = "true"
        case "getFile":
            // `size-<n>`: a file of n bytes; past the Bot API's 20 MB, Telegram's own refusal.
            let fileID = (try? JSONSerialization.jsonObject(with: Data(bytes.readableBytesView)) as? [String: Any])?["file_id"] as? String
            if let fileID, fileID.hasPrefix("size-"), let size = Int(fileID.dropFirst(5)) {
                guard size <= 20 << 20 else {
                    return Response(
                        status: .badRequest, headers: headers,
                        body: .init(byteBuffer: ByteBuffer(string: #"{"ok":false,"error_code":400,"description":"Bad Request: file is too big"}"#))
                    )
                }
                result = #"{"file_id":"\#(fileID)","file_unique_id":"u2","file_size":\#(size),"file_path":"voice/size_\#(size).oga"}"#
            } else {
                result = #"{"file_id":"voice-file","file_unique_id":"u1","file_size":12,"file_path":"voice/file_1.oga"}"#
            }
        default:
            let id = 1000 + log.calls(method).count
            result = #"{"message_id":\#(id),"date":1763900000,"chat":{"id":1,"type":"private"}}"#
        }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: #"{"ok":true,"result":\#(result)}"#)))
    }
    return try await serveLoopback(router) { port in try await body("http://127.0.0.1:\(port)", log) }
}

/// Runs a router on 127.0.0.1 and a free port for the duration of `body`.
func serveLoopback<Result: Sendable>(
    _ router: Router<BasicRequestContext>, _ body: @Sendable (Int) async throws -> Result
) async throws -> Result {
    let (ports, continuation) = AsyncStream<Int>.makeStream()
    let app = Application(
        router: router,
        configuration: .init(address: .hostname("127.0.0.1", port: 0)),
        onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) },
        logger: Logger(label: "fake-platform")
    )
    let group = ServiceGroup(services: [app], gracefulShutdownSignals: [], logger: Logger(label: "fake-platform"))
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw CancellationError() }
        do {
            let result = try await body(port)
            await group.triggerGracefulShutdown()
            return result
        } catch {
            await group.triggerGracefulShutdown()
            throw error
        }
    }
}

/// A loopback Graph API for WhatsApp's Cloud API: `POST /{version}/{phone_number_id}/messages`
/// answers as Meta does, with the wamid `wamid` for every message sent.
func withFakeGraphAPI<Result: Sendable>(
    wamid: String, _ body: @Sendable (_ base: String, _ log: RequestLog) async throws -> Result
) async throws -> Result {
    let log = RequestLog()
    let router = Router()
    router.post("/{version}/{phone}/{method}") { request, context -> Response in
        let bytes = try await request.body.collect(upTo: 1 << 20)
        let path = "/\(context.parameters.get("version") ?? "")/\(context.parameters.get("phone") ?? "")/\(context.parameters.get("method") ?? "")"
        log.append(.init(method: "POST", path: path, body: Array(bytes.readableBytesView)))
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        guard request.headers[.authorization] == "Bearer EAAG-test" else {
            return Response(status: .unauthorized, headers: headers, body: .init(byteBuffer: ByteBuffer(string: #"{"error":{"message":"Invalid OAuth access token.","type":"OAuthException","code":190}}"#)))
        }
        let answer = #"{"messaging_product":"whatsapp","contacts":[{"input":"77011234567","wa_id":"77011234567"}],"messages":[{"id":"\#(wamid)"}]}"#
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: answer)))
    }
    // Media: the lookup answers a URL on this server; the download needs the token too.
    router.get("/{version}/{phone}") { request, context -> Response in
        // (Named as the POST route's segment: one trie holds both.)
        let media = context.parameters.get("phone") ?? ""
        log.append(.init(method: "GET", path: "/\(context.parameters.get("version") ?? "")/\(media)", body: []))
        guard request.headers[.authorization] == "Bearer EAAG-test" else { return Response(status: .unauthorized) }
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        let answer = #"{"url":"http://\#(request.head.authority ?? "127.0.0.1")/media-download/\#(media)","mime_type":"audio/ogg","file_size":16,"id":"\#(media)","messaging_product":"whatsapp"}"#
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: answer)))
    }
    router.get("/media-download/{media}") { request, _ -> Response in
        log.append(.init(method: "GET", path: "/media-download", body: []))
        guard request.headers[.authorization] == "Bearer EAAG-test" else { return Response(status: .unauthorized) }
        return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(bytes: Array("OggS fake wa audio".utf8))))
    }
    return try await serveLoopback(router) { port in try await body("http://127.0.0.1:\(port)", log) }
}
