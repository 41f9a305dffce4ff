import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import SwitchboardCore
import SwitchboardPostgres

/// `Idempotency-Key` on mutating calls (README, "A five-minute tour"): a repeat of a call with
/// the same key within 24 hours answers the first call's result, marked
/// `Idempotent-Replayed: true`, and runs nothing.
///
/// - The same key with a different method, path or body is a `conflict`.
/// - A repeat while the first call still runs is a `conflict` (retry later).
/// - A call that fails (any error) releases its key, so a retry runs it again.
/// - An answer marked `Cache-Control: no-store` carries a secret shown once (an API key, a
///   generated channel secret): it is never stored, and a repeat is a `conflict` saying so.
struct IdempotencyMiddleware<Context: RequestContext>: RouterMiddleware {
    static var header: HTTPField.Name { HTTPField.Name("Idempotency-Key")! }
    static var replayedHeader: HTTPField.Name { HTTPField.Name("Idempotent-Replayed")! }

    let store: PostgresIdempotencyStore
    let scope: @Sendable (Context) -> IdempotencyScope?
    let now: @Sendable () -> Date

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard [.post, .patch, .put, .delete].contains(request.method), let key = request.headers[Self.header],
              let scope = scope(context)
        else {
            return try await next(request, context)
        }
        guard (1...255).contains(key.count), key.unicodeScalars.allSatisfy({ $0.isASCII && $0.value >= 0x21 && $0.value < 0x7F }) else {
            throw SwitchboardError.invalid("the Idempotency-Key header must be 1 to 255 printable ASCII characters")
        }
        var request = request
        let body = try await request.collectBody(upTo: JSONBody.maximumSize)
        var hasher = SHA256()
        hasher.update(data: Array("\(request.method.rawValue) \(request.uri.description)\n".utf8))
        hasher.update(data: Array(body.readableBytesView))
        let hash = Array(hasher.finalize())

        switch try await store.claim(scope, key: key, requestHash: hash, now: now()) {
        case .replay(let status, let contentType, let stored):
            var headers = HTTPFields()
            if let contentType { headers[.contentType] = contentType }
            headers[Self.replayedHeader] = "true"
            return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: stored)))
        case .mismatch:
            throw SwitchboardError(.conflict, "this Idempotency-Key was already used with a different request")
        case .inProgress:
            throw SwitchboardError(.conflict, "a request with this Idempotency-Key is still running; retry it later")
        case .notReplayable:
            throw SwitchboardError(
                .conflict, "a request with this Idempotency-Key already succeeded; its answer held a secret that is shown only once"
            )
        case .new:
            break
        }

        let response: Response
        do {
            response = try await next(request, context)
        } catch {
            try? await store.release(scope, key: key)
            throw error
        }
        guard response.status.kind == .successful else {
            try? await store.release(scope, key: key)
            return response
        }
        let collected = BodyCollector.Storage()
        var answered = response
        try await response.body.write(BodyCollector(storage: collected))
        let replayable = response.headers[.cacheControl]?.contains("no-store") != true
        try await store.complete(
            scope, key: key, status: response.status.code, contentType: response.headers[.contentType],
            body: Array(collected.buffer.readableBytesView), replayable: replayable
        )
        answered.body = .init(byteBuffer: collected.buffer)
        return answered
    }
}

/// Reads a response body into one buffer (the writer is consumed by the body, so what it
/// reads lands in a shared storage).
struct BodyCollector: ResponseBodyWriter {
    final class Storage {
        var buffer = ByteBuffer()
    }

    let storage: Storage

    mutating func write(_ buffer: ByteBuffer) async throws {
        var buffer = buffer
        storage.buffer.writeBuffer(&buffer)
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
}
