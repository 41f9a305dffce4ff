import Crypto
import Foundation
import HTTPTypes
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

/// Finds who is asking — the tenant behind a `sb_live_…` bearer key, or a person signed in
/// with a session cookie (whose state-changing calls must carry the CSRF token) — and puts
/// it in the context; `TenantRequestContext` then refuses requests without one. Then:
///
/// - each key or person, and each tenant over all of them, is held to its rate in this
///   process (429 with `Retry-After`);
/// - the route's scope (`RouteScopes`) is checked: 403 `insufficient_scope` naming it;
/// - a key with a per-minute limit is held to it across replicas (counted in PostgreSQL as
///   the key is authenticated), with `RateLimit-Limit`, `-Remaining` and `-Reset` on every
///   answer and 429 `rate_limited` with `Retry-After` past it.
struct TenantAuthMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let keys: APIKeyAuthentication
    let sessions: TeamSessions
    let perKey: RateLimiter<Actor>
    let perTenant: RateLimiter<TenantID>
    let now: @Sendable () -> Date

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let principal: TenantPrincipal
        if let token = request.bearerToken {
            guard let found = try await keys.principal(for: token, source: context.sourceAddress) else {
                throw SwitchboardError(.unauthorized, "the API key is not valid or has been revoked")
            }
            principal = found
        } else if TeamSessions.token(request) != nil {
            guard let found = try await sessions.principal(request) else {
                try keys.failures.acquire(context.sourceAddress).check("failed authentications from this address")
                throw SwitchboardError(.unauthorized, "the session has ended: sign in again")
            }
            try TeamSessions.checkCSRF(request, found)
            principal = found
        } else {
            throw SwitchboardError(
                .unauthorized, "a tenant API key (Authorization: Bearer sb_live_…) or a signed-in session is required"
            )
        }
        try perKey.acquire(principal.actor).check(principal.apiKeyID == nil ? "requests by this person" : "requests with this API key")
        try perTenant.acquire(principal.tenantID).check("requests for this tenant")
        let path = context.endpointPath ?? request.uri.path
        if principal.mustEnrollTwoFactor, !(path == "/v1/me" || path.hasPrefix("/v1/me/")) {
            throw SwitchboardError(
                .twoFactorRequired, "your team requires two-factor authentication: set it up first (POST /v1/me/totp, or /app/security)"
            )
        }
        try RouteScopes.check(principal, request.method, path)
        var context = context
        context.principal = principal
        guard let rate = principal.rate else { return try await next(request, context) }
        let reset = max(Int(rate.windowEnds.timeIntervalSince(now()).rounded(.up)), 0)
        var response: Response
        if rate.exceeded {
            let error = SwitchboardError.rateLimited("requests with this API key (\(rate.limit) a minute)", retryAfter: Double(max(reset, 1)))
            response = try error.response(from: request, context: context)
        } else {
            response = try await next(request, context)
        }
        response.headers[Self.limitHeader] = String(rate.limit)
        response.headers[Self.remainingHeader] = String(rate.remaining)
        response.headers[Self.resetHeader] = String(reset)
        return response
    }

    static let limitHeader = HTTPField.Name("RateLimit-Limit")!
    static let remainingHeader = HTTPField.Name("RateLimit-Remaining")!
    static let resetHeader = HTTPField.Name("RateLimit-Reset")!
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
