import Crypto
import Foundation
import Hummingbird
import SwitchboardCore

/// Guards `/admin/*` with the operator's bearer token, compared in constant time (as
/// SHA-256 digests, whose equality swift-crypto checks in constant time).
struct OperatorAuthMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let tokenDigest: SHA256.Digest?

    init(token: String?) {
        self.tokenDigest = token.map { SHA256.hash(data: Data($0.utf8)) }
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let tokenDigest else {
            throw SwitchboardError(.notFound, "the operator API is off: set SWITCHBOARD_ADMIN_TOKEN to turn it on")
        }
        guard let presented = request.bearerToken else {
            throw SwitchboardError(.unauthorized, "the operator token is required: Authorization: Bearer <SWITCHBOARD_ADMIN_TOKEN>")
        }
        guard SHA256.hash(data: Data(presented.utf8)) == tokenDigest else {
            throw SwitchboardError(.unauthorized, "the operator token is not valid")
        }
        return try await next(request, context)
    }
}

/// Finds the tenant behind a `sb_live_…` bearer key and puts it in the context;
/// `TenantRequestContext` then refuses requests without one.
struct TenantAuthMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let store: any TenantStore

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let token = request.bearerToken else {
            throw SwitchboardError(.unauthorized, "a tenant API key is required: Authorization: Bearer sb_live_…")
        }
        guard APIKeySecret.isWellFormed(token),
              let principal = try await store.authenticate(keyHash: APIKeySecret.hash(token))
        else {
            throw SwitchboardError(.unauthorized, "the API key is not valid or has been revoked")
        }
        var context = context
        context.principal = principal
        return try await next(request, context)
    }
}

extension Request {
    /// The token of an `Authorization: Bearer <token>` header.
    var bearerToken: String? {
        guard let header = headers[.authorization] else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }
}
