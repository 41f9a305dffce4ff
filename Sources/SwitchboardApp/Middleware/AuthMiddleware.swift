import Crypto
import Foundation
import Hummingbird
import SwitchboardCore

/// Guards `/admin/*` with the operator's bearer token, compared in constant time (as
/// SHA-256 digests, whose equality swift-crypto checks in constant time).
///
/// Refusals count against the source address (`failures`): once its allowance is spent the
/// token is not even compared until it has waited (429), so guessing it is slow.
struct OperatorAuthMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let tokenDigest: SHA256.Digest?
    let failures: RateLimiter<String>

    init(token: String?, failures: RateLimiter<String>) {
        self.tokenDigest = token.map { SHA256.hash(data: Data($0.utf8)) }
        self.failures = failures
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let tokenDigest else {
            throw SwitchboardError(.notFound, "the operator API is off: set SWITCHBOARD_ADMIN_TOKEN to turn it on")
        }
        let source = context.sourceAddress
        try failures.limited(source).check(Self.refusals)
        guard let presented = request.bearerToken else {
            try failures.acquire(source).check(Self.refusals)
            throw SwitchboardError(.unauthorized, "the operator token is required: Authorization: Bearer <SWITCHBOARD_ADMIN_TOKEN>")
        }
        guard SHA256.hash(data: Data(presented.utf8)) == tokenDigest else {
            try failures.acquire(source).check(Self.refusals)
            throw SwitchboardError(.unauthorized, "the operator token is not valid")
        }
        return try await next(request, context)
    }
}

/// Finds the tenant behind a `sb_live_…` bearer key and puts it in the context;
/// `TenantRequestContext` then refuses requests without one. Then each key, and each
/// tenant over all its keys, is held to its rate (429 with `Retry-After` beyond it).
struct TenantAuthMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let keys: APIKeyAuthentication
    let perKey: RateLimiter<Actor>
    let perTenant: RateLimiter<TenantID>

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let token = request.bearerToken else {
            throw SwitchboardError(.unauthorized, "a tenant API key is required: Authorization: Bearer sb_live_…")
        }
        guard let principal = try await keys.principal(for: token, source: context.sourceAddress) else {
            throw SwitchboardError(.unauthorized, "the API key is not valid or has been revoked")
        }
        try perKey.acquire(principal.actor).check("requests with this API key")
        try perTenant.acquire(principal.tenantID).check("requests for this tenant")
        var context = context
        context.principal = principal
        return try await next(request, context)
    }
}

extension OperatorAuthMiddleware {
    static let refusals = "failed operator authentications from this address"
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
