import Foundation
import HTTPTypes
import Hummingbird
import Mustache
import NIOCore
import SwitchboardCore
import SwitchboardPostgres

/// The workspace's own pages: sign-in, sign-up and accepting an invitation (open), and
/// security (two-factor, sign-out everywhere), the team (invitations, roles, the sign-in
/// journal) and the analytics dashboard (behind the session). They render on the server
/// and their forms post JSON to the same API routes a program would call
/// (`Resources/account.js`), so the pages hold no rule the API does not.
struct AccountPages: Sendable {
    let store: PostgresWorkspaceStore
    let dashboard: DashboardRoutes
    let templates: MustacheLibrary

    init(store: PostgresWorkspaceStore, dashboard: DashboardRoutes) {
        self.store = store
        self.dashboard = dashboard
        var library = MustacheLibrary()
        if let text = InboxPages.resource("account", "mustache") { try? library.register(text, named: "account") }
        templates = library
    }

    /// The open pages, on the router itself.
    func addOpen(to router: Router<AppRequestContext>) {
        router.get("/app") { _, _ in
            Response(status: .seeOther, headers: [.location: "/app/inbox", .cacheControl: "no-store"])
        }
        router.get("/app/sign-in") { request, _ in
            // Where to go after: a path of this site only (never another origin).
            let next = request.uri.queryParameters["next"].map(String.init).flatMap(Self.localPath) ?? "/app/inbox"
            return try page(["title": "Sign in", "signIn": ["next": next]])
        }
        router.get("/app/sign-up") { _, _ in
            try page(["title": "Create your workspace", "signUp": true])
        }
        router.get("/app/accept-invitation") { request, _ in
            let token = request.uri.queryParameters["token"].map(String.init) ?? ""
            return try page(["title": "Join your team", "accept": ["token": String(token.prefix(200))]])
        }
    }

    /// The pages behind the session (`SessionPageMiddleware` in front).
    func add(to group: RouterGroup<TenantRequestContext>) {
        group.get("/security") { _, context in
            let user = try await me(context)
            let required = try await store.requiresTwoFactor(context.tenantID)
            return try page([
                "title": "Security", "signedIn": true, "csrf": context.principal.csrfToken ?? "",
                "security": ["twoFactorEnabled": user.twoFactorEnabled, "required": required] as [String: Any],
            ])
        }
        group.get("/team") { _, context in
            let user = try await me(context)
            let users = try await store.users(context.tenantID, page: PageRequest(limit: 200)).data
            let events = try await store.loginEvents(context.tenantID, page: PageRequest(limit: 50)).data
            let required = try await store.requiresTwoFactor(context.tenantID)
            return try page([
                "title": "Team", "signedIn": true, "csrf": context.principal.csrfToken ?? "",
                "team": [
                    "isOwner": user.role == .owner, "requireTwoFactor": required,
                    "users": users.map { person in
                        var row: [String: Any] = [
                            "id": person.id.description, "email": person.email, "role": person.role.rawValue,
                            "twoFactor": person.twoFactorEnabled, "isSelf": person.id == user.id,
                        ]
                        // An empty string is truthy to Mustache: a name only when there is one.
                        if let name = person.name, !name.isEmpty { row["name"] = name }
                        return row
                    },
                    "events": events.map { event in
                        [
                            "at": ISO8601DateFormatter().string(from: event.at), "email": event.email, "outcome": event.outcome.rawValue,
                            "source": event.source ?? "",
                        ]
                    },
                ] as [String: Any],
            ])
        }
        group.get("/analytics") { request, context in
            let filter = try DashboardRoutes.Filter(request)
            return try await dashboard.dashboard(request, filter: filter, principal: context.principal, base: "/app/analytics")
        }
    }

    func me(_ context: TenantRequestContext) async throws -> User {
        guard let user = context.principal.userID else { throw SwitchboardError(.unauthorized, "sign in first") }
        return try await store.user(context.tenantID, user)
    }

    func page(_ values: [String: Any], status: HTTPResponse.Status = .ok) throws -> Response {
        guard let rendered = templates.render(values, withTemplate: "account") else {
            throw SwitchboardError(.internalError, "the account page is missing from this build")
        }
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.cacheControl] = "no-store"
        headers[.contentSecurityPolicy] = InboxPages.securityPolicy
        headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        headers[HTTPField.Name("Referrer-Policy")!] = "same-origin"
        headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: rendered)))
    }

    /// `path` when it is a path of this site (`/app/…`), else `nil`: `//evil.example` and
    /// `https://…` are not.
    static func localPath(_ path: String) -> String? {
        guard path.utf8.count <= 500, path.hasPrefix("/"), !path.hasPrefix("//"), !path.contains("\\"),
              !path.unicodeScalars.contains(where: { $0.value < 0x20 })
        else { return nil }
        return path
    }
}

/// In front of the workspace pages: the person behind the session cookie (no API keys
/// here), the CSRF token on every state-changing call, and the page's scope by role.
/// Without a session a browser is sent to the sign-in page (and back after); a person
/// whose team requires two-factor and who has not set it up is sent to set it up; a page
/// the role may not open answers 403 with a page that says so.
struct SessionPageMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let sessions: TeamSessions
    let pages: AccountPages
    let failures: RateLimiter<String>

    /// What each page needs; a page not named needs `admin`.
    static func requirement(_ path: String) -> RouteScopes.Requirement {
        switch true {
        case path == "/app/security": .anyone
        case path.hasPrefix("/app/inbox"), path.hasPrefix("/app/conversations"), path == "/app/events": .anyOf([.crmRead])
        case path == "/app/analytics": .anyOf([.analyticsRead])
        default: .anyOf([.admin])
        }
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = context.endpointPath ?? request.uri.path
        let browser = request.method == .get && request.headers[.accept]?.contains("text/html") == true
        guard let principal = try await sessions.principal(request) else {
            if TeamSessions.token(request) != nil {
                try failures.acquire(context.sourceAddress).check("failed authentications from this address")
            }
            guard browser else { throw SwitchboardError(.unauthorized, "sign in first: POST /auth/sign-in") }
            let back = request.uri.path + (request.uri.query.map { "?" + $0 } ?? "")
            let target = "/app/sign-in?next=" + (back.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")
            var response = Response(status: .seeOther, headers: [.location: target, .cacheControl: "no-store"])
            if TeamSessions.token(request) != nil { response.setCookie(sessions.cleared) }
            return response
        }
        try TeamSessions.checkCSRF(request, principal)
        if principal.mustEnrollTwoFactor, path != "/app/security" {
            guard browser else {
                throw SwitchboardError(.twoFactorRequired, "your team requires two-factor authentication: set it up at /app/security")
            }
            return Response(status: .seeOther, headers: [.location: "/app/security", .cacheControl: "no-store"])
        }
        do {
            switch Self.requirement(path) {
            case .anyone: break
            case .ownerLevel:
                guard principal.isOwnerLevel else { throw SwitchboardError(.insufficientScope, "this page is for owners") }
            case .anyOf(let scopes):
                guard scopes.contains(where: principal.allows) else {
                    let role = principal.role?.rawValue ?? "key"
                    throw SwitchboardError(
                        .insufficientScope,
                        "the \(role) role cannot open this page (it needs \(scopes.map(\.rawValue).joined(separator: " or ")))"
                    )
                }
            }
        } catch let error as SwitchboardError where browser {
            return try pages.page(["title": "Not for your role", "signedIn": true, "refused": ["message": error.message]], status: .forbidden)
        }
        var context = context
        context.principal = principal
        return try await next(request, context)
    }
}
