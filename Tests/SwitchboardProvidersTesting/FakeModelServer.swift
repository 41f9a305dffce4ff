import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// A loopback server that speaks OpenAI Chat Completions, Anthropic Messages and Gemini
/// `generateContent` well enough to test providers end to end: real-shaped answers (ids,
/// usage with cached and reasoning details), SSE streams, and failures on demand.
///
/// Every request is recorded; a script of ``FakeModelBehaviour``s decides the answers, one
/// per request, then the default (``FakeModelBehaviour/echo`` unless told otherwise).
///
/// ```swift
/// try await FakeModelServer.withServer { server in
///     await server.enqueue(.status(429, retryAfter: "2"))
///     let provider = OpenAIChatProvider(endpoint: .init(kind: .openai, baseURL: server.openAIBase, apiKey: "k"), …)
/// }
/// ```
public struct FakeModelServer: Sendable {
    /// The port the server listens on, at 127.0.0.1.
    public let port: Int
    let state: FakeModelServerState

    /// `http://127.0.0.1:PORT/v1`: an OpenAI or openai_compatible base URL.
    public var openAIBase: String { "http://127.0.0.1:\(port)/v1" }
    /// `http://127.0.0.1:PORT`: an Anthropic base URL.
    public var anthropicBase: String { "http://127.0.0.1:\(port)" }
    /// `http://127.0.0.1:PORT`: a Gemini base URL.
    public var geminiBase: String { "http://127.0.0.1:\(port)" }

    /// Adds behaviours to the script, used one per request in order.
    public func enqueue(_ behaviours: FakeModelBehaviour...) async {
        await state.enqueue(behaviours)
    }

    /// Sets what requests get once the script is used up.
    public func setDefault(_ behaviour: FakeModelBehaviour) async {
        await state.setFallback(behaviour)
    }

    /// Every request received so far, in order of arrival.
    /// The speech-to-text calls received (`/v1/audio/transcriptions`), in order.
    public var transcriptions: [RecordedRequest] {
        get async { await state.transcriptions }
    }

    public var requests: [RecordedRequest] {
        get async { await state.recorded }
    }

    /// Suspends until at least `count` requests arrived and returns them; throws when that
    /// takes longer than `timeout` (a generous bound for a test that would otherwise hang).
    @discardableResult
    public func waitForRequests(count: Int, timeout: Duration = .seconds(10)) async throws -> [RecordedRequest] {
        let state = state
        let id = await state.makeWaiterID()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await withTaskCancellationHandler {
                    try await state.wait(for: count, id: id)
                } onCancel: {
                    Task { await state.cancelWaiter(id) }
                }
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                let received = await state.recorded.count
                throw FakeModelServerError("expected \(count) requests within \(timeout), got \(received)")
            }
            defer { group.cancelAll() }
            try await group.next()
        }
        return await state.recorded
    }

    /// Starts a server, runs `body` with it, and stops it (gracefully, waiting for requests
    /// in flight) whether `body` returns or throws.
    public static func withServer<T>(
        default fallback: FakeModelBehaviour = .echo, _ body: (FakeModelServer) async throws -> T
    ) async throws -> T {
        let state = FakeModelServerState(fallback: fallback)
        let started = StartSignal()
        var logger = Logger(label: "FakeModelServer")
        logger.logLevel = .error
        let app = Application(
            router: Self.router(state: state),
            configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: nil),
            onServerRunning: { channel in started.fulfil(channel.localAddress?.port) },
            logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask {
                do {
                    try await group.run()
                    started.fulfil(nil)
                } catch {
                    started.fulfil(nil)
                    throw error
                }
            }
            let result: Result<T, any Error>
            do {
                let port = try await started.port()
                result = .success(try await body(FakeModelServer(port: port, state: state)))
            } catch {
                result = .failure(error)
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return try result.get()
        }
    }

    static func router(state: FakeModelServerState) -> Router<BasicRequestContext> {
        let router = Router()
        router.post("v1/chat/completions") { request, _ in
            try await FakeModelResponder(api: .openAI, state: state).respond(to: request, model: nil)
        }
        // Speech to text: answers "transcript of <N> bytes of <model>" for the multipart
        // upload it received.
        router.post("v1/audio/transcriptions") { request, _ in
            let bytes = Array(try await request.body.collect(upTo: 32 << 20).readableBytesView)
            await state.recordTranscription(RecordedRequest(
                api: .openAI, method: request.method.rawValue, path: request.uri.path,
                headers: request.headers.map { (name: $0.name.canonicalName, value: $0.value) }, body: bytes, json: nil))
            let text = String(decoding: bytes, as: UTF8.self)
            let model = text.range(of: "name=\"model\"\r\n\r\n").map { text[$0.upperBound...].prefix { !$0.isNewline } } ?? "?"
            let answer = #"{"text":"transcript of \#(bytes.count) bytes by \#(model)"}"#
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: answer)))
        }
        router.post("v1/messages") { request, _ in
            try await FakeModelResponder(api: .anthropic, state: state).respond(to: request, model: nil)
        }
        router.post("v1beta/models/{modelAndMethod}") { request, context in
            let segment = try context.parameters.require("modelAndMethod")
            guard segment.hasSuffix(":generateContent") else { return Response(status: .notFound) }
            let model = String(segment.dropLast(":generateContent".count))
            return try await FakeModelResponder(api: .gemini, state: state).respond(to: request, model: model)
        }
        return router
    }
}

/// The port the server bound, once it runs (or `nil` when it stopped before).
final class StartSignal: Sendable {
    private let state = Mutex<(port: Int??, waiter: CheckedContinuation<Int?, Never>?)>((nil, nil))

    func fulfil(_ port: Int?) {
        let waiter = state.withLock { state -> CheckedContinuation<Int?, Never>? in
            guard state.port == nil else { return nil }
            state.port = .some(port)
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: port)
    }

    func port() async throws -> Int {
        let port = await withCheckedContinuation { (continuation: CheckedContinuation<Int?, Never>) in
            let known = state.withLock { state -> Int?? in
                if let port = state.port { return .some(port) }
                state.waiter = continuation
                return nil
            }
            if let known { continuation.resume(returning: known) }
        }
        guard let port else { throw FakeModelServerError("the fake model server stopped before it listened") }
        return port
    }
}
