import Foundation
import HTTPTypes
import Hummingbird
import SwitchboardCore
import SwitchboardPostgres

/// The sessions of signed-in people: a `sb_session` cookie holding a `TenantToken`
/// (HttpOnly, SameSite=Lax, Secure when Switchboard is served over TLS, path `/`), whose
/// SHA-256 finds the session row inside the tenant. A session lasts twelve hours from
/// sign-in; signing out, a role change or removal ends it at once (the row goes).
struct TeamSessions: Sendable {
    let store: PostgresWorkspaceStore
    /// Whether cookies carry `Secure` (the public URL is https).
    let secure: Bool

    static let cookieName = "sb_session"
    static let lifetime: TimeInterval = 12 * 3600
    static let csrfHeader = HTTPField.Name("X-CSRF-Token")!

    /// The person behind the request's session cookie, or `nil` when there is none or it
    /// names no live session.
    func principal(_ request: Request) async throws -> TenantPrincipal? {
        guard let token = Self.token(request) else { return nil }
        guard let record = try await store.session(token.tenant, tokenHash: token.hash) else { return nil }
        var principal = TenantPrincipal(
            tenantID: token.tenant, userID: record.userID, role: record.role, sessionID: record.id, csrfToken: record.csrfToken
        )
        principal.mustEnrollTwoFactor = record.mustEnrollTwoFactor
        return principal
    }

    static func token(_ request: Request) -> TenantToken? {
        request.cookies[cookieName].flatMap { TenantToken($0.value) }
    }

    func cookie(_ token: TenantToken) -> Cookie {
        Cookie(
            name: Self.cookieName, value: token.text, maxAge: Int(Self.lifetime), path: "/", secure: secure, httpOnly: true,
            sameSite: .lax
        )
    }

    var cleared: Cookie {
        Cookie(name: Self.cookieName, value: "", maxAge: 0, path: "/", secure: secure, httpOnly: true, sameSite: .lax)
    }

    /// A state-changing call made with a session must carry the session's CSRF token in
    /// `X-CSRF-Token` (compared in constant time); reads need none.
    static func checkCSRF(_ request: Request, _ principal: TenantPrincipal) throws {
        guard let expected = principal.csrfToken else { return }
        switch request.method {
        case .get, .head, .options: return
        default: break
        }
        guard let presented = request.headers[csrfHeader], constantTimeEqual(Array(presented.utf8), Array(expected.utf8)) else {
            throw SwitchboardError(.forbidden, "the CSRF token is missing or wrong: send the session's token in X-CSRF-Token")
        }
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}
