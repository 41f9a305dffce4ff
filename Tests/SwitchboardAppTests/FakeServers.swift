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

    private let entries = Mutex<[Entry]>([])
    func append(_ entry: Entry) { entries.withLock { $0.append(entry) } }
    var all: [Entry] { entries.withLock { $0 } }
}

/// A loopback Telegram Bot API: `POST /bot<token>/<method>` with the real answers —
/// `getMe` and `setWebhook` succeed for `validToken`, anything else is Telegram's 401.
func withFakeTelegram<Result: Sendable>(
    validToken: String, _ body: @Sendable (_ base: String, _ log: RequestLog) async throws -> Result
) async throws -> Result {
    let log = RequestLog()
    let router = Router()
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
        let result: String
        switch method {
        case "getMe": result = #"{"id":7001,"is_bot":true,"first_name":"ShopBot","username":"shop_bot"}"#
        case "setWebhook": result = "true"
        default: result = #"{"message_id":1,"date":1763900000,"chat":{"id":1,"type":"private"}}"#
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
