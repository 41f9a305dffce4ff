import Foundation
import HTTPTypes
import Hummingbird
import Logging
import SwitchboardCore
import SwitchboardPipeline
import SwitchboardPostgres

/// The team's accounts: sign-in (password, then a TOTP or recovery code when two-factor is
/// on), sign-out (here or everywhere), invitations and their acceptance, a business's own
/// sign-up with its owner-verified trial, the person's own profile and two-factor set-up,
/// the team, and the sign-in journal.
///
/// Refusals say what is wrong without telling an outsider which addresses have accounts:
/// an unknown address and a wrong password get the same answer in the same time (a bcrypt
/// check runs either way). Failed attempts count per source address (in this process) and
/// per account (in the sign-in journal, so across replicas).
struct WorkspaceRoutes: Sendable {
    let store: PostgresWorkspaceStore
    let tenants: any TenantStore
    let ledger: PostgresCreditStore
    let sessions: TeamSessions
    let passwords: Passwords
    let secrets: SecretBox
    /// Failed authentications per source address (shared with API keys and the operator token).
    let failures: RateLimiter<String>
    let signUps: RateLimiter<String>
    let trialCredits: Credits
    /// The platform's own mail: invitation and verification links go out by it when set.
    let mail: PlatformMail?
    /// Where links point: `SWITCHBOARD_PUBLIC_URL`, or the address this server listens on.
    let publicURL: @Sendable () -> String
    let now: @Sendable () -> Date

    /// Failed attempts on one account within `lockWindow` before it waits (429).
    static let accountFailures = 10
    static let lockWindow: TimeInterval = 15 * 60
    static let invitationLifetime: TimeInterval = 7 * 24 * 3600

    // MARK: /auth

    func addAuth(to router: Router<AppRequestContext>) {
        router.post("/auth/sign-in") { request, context in
            try DashboardRoutes.checkOrigin(request)
            let body = try await JSONBody.decode(SignInBody.self, from: request, context: context)
            return try await signIn(body, request: request, context: context)
        }
        router.post("/auth/sign-out") { request, context in
            try DashboardRoutes.checkOrigin(request)
            let body: SignOutBody? = try await JSONBody.decode(SignOutBody.self, from: request, context: context)
            var response = try JSONBody.response(StatusResponse(status: "signed_out"))
            response.setCookie(sessions.cleared)
            guard let principal = try await sessions.principal(request), let user = principal.userID else { return response }
            try TeamSessions.checkCSRF(request, principal)
            let person = try await store.user(principal.tenantID, user)
            if body?.everywhere == true {
                try await store.deleteSessions(principal.tenantID, user: user)
            } else if let session = principal.sessionID {
                try await store.deleteSession(principal.tenantID, id: session)
            }
            try await store.recordLogin(
                principal.tenantID, user: user, email: person.email, outcome: body?.everywhere == true ? .signedOutEverywhere : .signedOut,
                source: context.sourceAddress, userAgent: request.headers[.userAgent]
            )
            return response
        }
        router.post("/auth/accept-invitation") { request, context in
            try DashboardRoutes.checkOrigin(request)
            let body = try await JSONBody.decode(AcceptInvitationBody.self, from: request, context: context)
            try failures.limited(context.sourceAddress).check("failed authentications from this address")
            guard let token = TenantToken(try FieldRule.linkToken.check(body.token, field: "token")) else {
                try failures.acquire(context.sourceAddress).check("failed authentications from this address")
                throw SwitchboardError.notFound("invitation")
            }
            let password = try Passwords.check(body.password)
            let hash = try await passwords.hash(password)
            let user: User
            do {
                user = try await store.acceptInvitation(token.tenant, tokenHash: token.hash, passwordHash: hash)
            } catch let error as SwitchboardError where error.code == .notFound {
                try failures.acquire(context.sourceAddress).check("failed authentications from this address")
                throw error
            }
            context.logger.info("invitation accepted", metadata: ["tenant.id": "\(token.tenant)", "user.id": "\(user.id)"])
            return try await startSession(user, request: request, context: context, status: .created)
        }
        router.post("/auth/sign-up") { request, context in
            try DashboardRoutes.checkOrigin(request)
            let body = try await JSONBody.decode(SignUpBody.self, from: request, context: context)
            try signUps.acquire(context.sourceAddress).check("sign-ups from this address")
            let company = try FieldRule.tenantName.check(body.company, field: "company")
            let email = try Self.email(body.email)
            let password = try Passwords.check(body.password)
            let hash = try await passwords.hash(password)
            // The link that verifies the owner's address (and grants the trial once).
            // Only its hash is kept. Without a mail server of the platform the link is not
            // sent: the operator verifies the owner (`POST /admin/tenants/{id}/verify-owner`)
            // after checking the address by other means; it is never shown to the person
            // signing up, who would otherwise verify any address they typed.
            let secret = TenantToken.randomSecret()
            let (tenant, user) = try await store.signUp(
                company: company, email: email, passwordHash: hash, emailTokenHash: TenantToken.hash(secret)
            )
            context.logger.info("tenant signed up", metadata: ["tenant.id": "\(tenant.id)", "user.id": "\(user.id)"])
            if let mail {
                let link = base() + "/auth/verify-email?token=" + TenantToken(tenant: tenant.id, secret: secret).text
                let text = "Welcome to Switchboard, \(company).\n\nOpen this link to verify your email address (and receive your "
                    + "trial credits):\n\(link)\n\nIf you did not sign up, ignore this mail.\n"
                await send(mail, to: email, subject: "Verify your email for Switchboard", text: text, logger: context.logger)
            }
            return try await startSession(user, request: request, context: context, status: .created)
        }
        router.get("/auth/verify-email") { request, context in
            try failures.limited(context.sourceAddress).check("failed authentications from this address")
            guard let token = request.uri.queryParameters["token"].flatMap({ TenantToken(String($0)) }) else {
                try failures.acquire(context.sourceAddress).check("failed authentications from this address")
                throw SwitchboardError.notFound("verification link")
            }
            let user: User, granted: Bool
            do {
                (user, granted) = try await verify(token.tenant, tokenHash: token.hash, user: nil, logger: context.logger)
            } catch let error as SwitchboardError where error.code == .notFound {
                try failures.acquire(context.sourceAddress).check("failed authentications from this address")
                throw error
            }
            // A person follows the link from a mail: to the workspace; a program gets JSON.
            if request.headers[.accept]?.contains("text/html") == true {
                return Response(status: .seeOther, headers: [.location: "/app/inbox", .cacheControl: "no-store"])
            }
            return try JSONBody.response(VerifiedResponse(user: UserResponse(user), trialGranted: granted))
        }
    }

    /// `SWITCHBOARD_PUBLIC_URL` (or the listening address) without a trailing slash.
    func base() -> String {
        var base = publicURL()
        while base.hasSuffix("/") { base.removeLast() }
        return base
    }

    /// Sends a link by the platform's mail; a failure is logged (never the address or the
    /// link) and answered as not sent: the link is in the API's answer all the same.
    @discardableResult
    func send(_ mail: PlatformMail, to address: String, subject: String, text: String, logger: Logger) async -> Bool {
        do {
            try await mail.send(to: address, subject: subject, text: text)
            return true
        } catch {
            logger.warning("platform mail not sent", metadata: ["error": "\(error)"])
            return false
        }
    }

    /// Marks the owner's address verified and grants the trial when the address had none.
    func verify(_ tenant: TenantID, tokenHash: [UInt8]?, user: UserID?, logger: Logger) async throws -> (User, Bool) {
        let (person, first) = try await store.verifyEmail(tenant, tokenHash: tokenHash, user: user)
        guard first, trialCredits.micros > 0 else { return (person, false) }
        _ = try await ledger.apply(tenant, [.credit(kind: .trial, amount: trialCredits, reason: "trial", key: "trial")])
        logger.info("trial granted", metadata: ["tenant.id": "\(tenant)", "credits.micros": "\(trialCredits.micros)"])
        return (person, true)
    }

    func signIn(_ body: SignInBody, request: Request, context: AppRequestContext) async throws -> Response {
        let source = context.sourceAddress
        let agent = request.headers[.userAgent]
        let refusal = "the email address or the password is wrong"
        try failures.limited(source).check("failed authentications from this address")
        let email = try Self.email(body.email)
        _ = try FieldRule.signInPassword.check(body.password, field: "password")
        if let code = body.totpCode { _ = try FieldRule.oneTimeCode.check(code, field: "totp_code") }
        if let code = body.recoveryCode { _ = try FieldRule.oneTimeCode.check(code, field: "recovery_code") }
        guard let record = try await store.signInRecord(email: email), let hash = record.passwordHash else {
            _ = try await passwords.verify(body.password, hash: try await passwords.dummyHash())
            try failures.acquire(source).check("failed authentications from this address")
            throw SwitchboardError(.unauthorized, refusal)
        }
        let tenant = record.tenantID
        func journal(_ outcome: LoginEvent.Outcome) async throws {
            try await store.recordLogin(tenant, user: record.userID, email: email, outcome: outcome, source: source, userAgent: agent)
        }
        let recent = try await store.recentFailures(tenant, email: email, since: now().addingTimeInterval(-Self.lockWindow))
        if recent >= Self.accountFailures {
            try await journal(.rateLimited)
            throw SwitchboardError.rateLimited("failed sign-ins on this account", retryAfter: Self.lockWindow)
        }
        guard try await passwords.verify(body.password, hash: hash) else {
            try await journal(.wrongPassword)
            try failures.acquire(source).check("failed authentications from this address")
            throw SwitchboardError(.unauthorized, refusal)
        }
        if let sealed = record.totpSecret {
            let secret = String(decoding: try secrets.open(sealed, context: TwoFactor.sealContext), as: UTF8.self)
            if let code = body.totpCode {
                guard let step = TwoFactor.matchingStep(code: code, secret: secret, now: now()) else {
                    try await journal(.wrongTOTP)
                    try failures.acquire(source).check("failed authentications from this address")
                    throw SwitchboardError(.unauthorized, "the two-factor code is wrong", field: "totp_code")
                }
                guard try await store.acceptTOTPStep(tenant, user: record.userID, step: step) else {
                    try await journal(.reusedTOTP)
                    throw SwitchboardError(.unauthorized, "this code has been used already: wait for the next one", field: "totp_code")
                }
            } else if let code = body.recoveryCode {
                guard try await store.useRecoveryCode(tenant, user: record.userID, hash: TwoFactor.recoveryHash(code))
                else {
                    try await journal(.wrongRecoveryCode)
                    try failures.acquire(source).check("failed authentications from this address")
                    throw SwitchboardError(.unauthorized, "the recovery code is wrong or has been used", field: "recovery_code")
                }
                try await journal(.recoveryCodeUsed)
            } else {
                try await journal(.totpRequired)
                throw SwitchboardError(.totpRequired, "enter the code from your authenticator app (totp_code) or a recovery code")
            }
        } else if record.requireTwoFactor {
            // Signed in, to set two-factor up and nothing else (the middleware holds the rest).
            try await journal(.twoFactorNotSetUp)
        }
        try await journal(.signedIn)
        let user = try await store.user(tenant, record.userID)
        return try await startSession(user, request: request, context: context, status: .ok)
    }

    /// A new session for `user`: the cookie set, `{user, tenant, role, csrf_token}` answered.
    func startSession(_ user: User, request: Request, context: AppRequestContext, status: HTTPResponse.Status) async throws -> Response {
        let token = TenantToken(tenant: user.tenantID)
        let csrf = TenantToken.randomSecret()
        _ = try await store.createSession(
            user.tenantID, user: user.id, tokenHash: token.hash, csrfToken: csrf, source: context.sourceAddress,
            userAgent: request.headers[.userAgent], expiresAt: now().addingTimeInterval(TeamSessions.lifetime)
        )
        let tenant = try await tenants.tenant(user.tenantID)
        var response = try JSONBody.response(MeResponse(user: user, tenant: tenant, csrfToken: csrf), status: status, secret: true)
        response.setCookie(sessions.cookie(token))
        return response
    }

    /// An address as stored and looked up: trimmed, lower-cased, with one `@` and no spaces.
    static func email(_ text: String, field: String = "email") throws -> String {
        try FieldRule.email.check(text, field: field).lowercased()
    }

    // MARK: /v1

    func add(to group: RouterGroup<TenantRequestContext>) {
        group.get("/me") { _, context in
            let user = try await me(context)
            let tenant = try await tenants.tenant(context.tenantID)
            return try JSONBody.response(MeResponse(user: user, tenant: tenant, csrfToken: context.principal.csrfToken), secret: true)
        }
        group.post("/me/totp") { _, context in
            let user = try await me(context)
            guard !user.twoFactorEnabled else {
                throw SwitchboardError(.conflict, "two-factor authentication is on already")
            }
            let secret = TwoFactor.newSecret()
            try await store.setPendingTOTP(
                context.tenantID, user: user.id, sealed: try secrets.seal(Array(secret.utf8), context: TwoFactor.sealContext)
            )
            return try JSONBody.response(
                TOTPSetupResponse(secret: TwoFactor.base32(secret), otpauthURL: TwoFactor.authenticatorURL(secret: secret, account: user.email)),
                status: .created, secret: true
            )
        }
        group.post("/me/totp/confirm") { request, context in
            let user = try await me(context)
            let body = try await JSONBody.decode(TOTPConfirmBody.self, from: request, context: context)
            guard let sealed = try await store.pendingTOTP(context.tenantID, user: user.id) else {
                throw SwitchboardError(.conflict, "start two-factor set-up first: POST /v1/me/totp")
            }
            let secret = String(decoding: try secrets.open(sealed, context: TwoFactor.sealContext), as: UTF8.self)
            let code = try FieldRule.oneTimeCode.check(body.code, field: "code")
            guard let step = TwoFactor.matchingStep(code: code, secret: secret, now: now()) else {
                throw SwitchboardError.invalid("the code is wrong: enter the six digits your app shows now", field: "code")
            }
            let codes = TwoFactor.recoveryCodes()
            try await store.confirmTOTP(context.tenantID, user: user.id, step: step, recoveryCodeHashes: codes.map(TwoFactor.recoveryHash))
            context.logger.info("two-factor authentication turned on", metadata: ["user.id": "\(user.id)"])
            return try JSONBody.response(RecoveryCodesResponse(recoveryCodes: codes), secret: true)
        }
        group.patch("/tenant") { request, context in
            let body = try await JSONBody.decode(TenantSettingsBody.self, from: request, context: context)
            if let required = body.requireTwoFactor { try await store.setRequireTwoFactor(context.tenantID, required) }
            let tenant = try await tenants.tenant(context.tenantID)
            let account = try await ledger.account(context.tenantID)
            return try JSONBody.response(TenantResponse(tenant, account: account, requireTwoFactor: try await store.requiresTwoFactor(context.tenantID)))
        }
        group.post("/users/invitations") { request, context in
            let body = try await JSONBody.decode(InvitationBody.self, from: request, context: context)
            let email = try Self.email(body.email)
            guard let role = Role(rawValue: body.role) else {
                throw SwitchboardError.invalid("role must be owner, admin, operator or analyst", field: "role")
            }
            if role == .owner, !context.principal.isOwnerLevel {
                throw SwitchboardError(.insufficientScope, "only an owner invites an owner")
            }
            let token = TenantToken(tenant: context.tenantID)
            let expires = now().addingTimeInterval(Self.invitationLifetime)
            let id = try await store.invite(
                context.tenantID, email: email, role: role, tokenHash: token.hash, invitedBy: context.principal.actor.journalName,
                expiresAt: expires
            )
            let url = base() + "/app/accept-invitation?token=" + token.text
            context.logger.info("invitation made", metadata: ["invitation.id": "\(id)"])
            var sent = false
            if let mail {
                let tenant = try await tenants.tenant(context.tenantID)
                let text = "You are invited to work in \(tenant.name)'s Switchboard workspace as \(role.rawValue).\n\n"
                    + "Open this link to choose your password (it works once, for 7 days):\n\(url)\n"
                sent = await send(mail, to: email, subject: "You are invited to \(tenant.name) on Switchboard", text: text, logger: context.logger)
            }
            return try JSONBody.response(
                InvitationResponse(
                    id: id.uuidString.lowercased(), email: email, role: role.rawValue, invitationURL: url, expiresAt: expires, emailSent: sent
                ),
                status: .created, secret: true
            )
        }
        group.get("/users") { request, context in
            let page = try await store.users(context.tenantID, page: try request.pageRequest())
            return try JSONBody.response(ListResponse(page, UserResponse.init))
        }
        group.get("/users/{id}") { _, context in
            try JSONBody.response(UserResponse(try await store.user(context.tenantID, try Self.userID(context))))
        }
        group.patch("/users/{id}") { request, context in
            let id = try Self.userID(context)
            let body = try await JSONBody.decode(UserUpdateBody.self, from: request, context: context)
            let role = try body.role.map { name in
                guard let role = Role(rawValue: name) else {
                    throw SwitchboardError.invalid("role must be owner, admin, operator or analyst", field: "role")
                }
                return role
            }
            let current = try await store.user(context.tenantID, id)
            if role == .owner || current.role == .owner, role != nil, !context.principal.isOwnerLevel {
                throw SwitchboardError(.insufficientScope, "only an owner makes or unmakes an owner")
            }
            let name = try body.name.map { try FieldRule.shortName.check($0, field: "name") }
            let user = try await store.updateUser(context.tenantID, id, role: role, name: body.name == nil ? nil : .some(name))
            // A new role takes effect at once: the person's sessions end.
            if let role, role != current.role { try await store.deleteSessions(context.tenantID, user: id) }
            return try JSONBody.response(UserResponse(user))
        }
        group.delete("/users/{id}") { _, context in
            let id = try Self.userID(context)
            let current = try await store.user(context.tenantID, id)
            if current.role == .owner, !context.principal.isOwnerLevel {
                throw SwitchboardError(.insufficientScope, "only an owner removes an owner")
            }
            _ = try await store.deleteUser(context.tenantID, id)
            return try JSONBody.response(DeletedResponse(id))
        }
        group.get("/login-events") { request, context in
            let page = try await store.loginEvents(context.tenantID, page: try request.pageRequest())
            return try JSONBody.response(ListResponse(page, LoginEventResponse.init))
        }
    }

    func me(_ context: TenantRequestContext) async throws -> User {
        guard let user = context.principal.userID else {
            throw SwitchboardError(.forbidden, "this is a person's own profile: sign in as the person (an API key has none)")
        }
        return try await store.user(context.tenantID, user)
    }

    static func userID(_ context: TenantRequestContext) throws -> UserID {
        guard let id = context.parameters.get("id").flatMap({ UserID($0) }) else { throw SwitchboardError.notFound("user") }
        return id
    }

    // MARK: Operator

    func addOperator(to group: RouterGroup<AppRequestContext>) {
        group.post("/tenants/{id}/verify-owner") { _, context in
            guard let tenant = context.parameters.get("id").flatMap({ TenantID($0) }) else { throw SwitchboardError.notFound("tenant") }
            let owners = try await store.users(tenant, page: PageRequest(limit: 200)).data.filter { $0.role == .owner }
            guard let owner = owners.first else { throw SwitchboardError.notFound("tenant owner") }
            let (user, granted) = try await verify(tenant, tokenHash: nil, user: owner.id, logger: context.logger)
            return try JSONBody.response(VerifiedResponse(user: UserResponse(user), trialGranted: granted))
        }
    }
}

// MARK: Bodies

struct SignInBody: RequestBody {
    var email: String
    var password: String
    var totpCode: String?
    var recoveryCode: String?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case email, password, totpCode = "totp_code", recoveryCode = "recovery_code"
    }
}

struct SignOutBody: RequestBody {
    var everywhere: Bool?

    enum CodingKeys: String, CodingKey, CaseIterable { case everywhere }
}

struct AcceptInvitationBody: RequestBody {
    var token: String
    var password: String

    enum CodingKeys: String, CodingKey, CaseIterable { case token, password }
}

struct SignUpBody: RequestBody {
    var company: String
    var email: String
    var password: String

    enum CodingKeys: String, CodingKey, CaseIterable { case company, email, password }
}

struct TOTPConfirmBody: RequestBody {
    var code: String

    enum CodingKeys: String, CodingKey, CaseIterable { case code }
}

struct TenantSettingsBody: RequestBody {
    var requireTwoFactor: Bool?

    enum CodingKeys: String, CodingKey, CaseIterable { case requireTwoFactor = "require_two_factor" }
}

struct InvitationBody: RequestBody {
    var email: String
    var role: String

    enum CodingKeys: String, CodingKey, CaseIterable { case email, role }
}

struct UserUpdateBody: RequestBody {
    var role: String?
    var name: String?

    enum CodingKeys: String, CodingKey, CaseIterable { case role, name }
}

// MARK: Answers

struct UserResponse: APIResource {
    var id: String
    var email: String
    @Nullable var name: String?
    var role: String
    var twoFactorEnabled: Bool
    var createdAt: Date

    init(_ user: User) {
        self.id = user.id.description
        self.email = user.email
        self.name = user.name
        self.role = user.role.rawValue
        self.twoFactorEnabled = user.twoFactorEnabled
        self.createdAt = user.createdAt
    }

    enum CodingKeys: String, CodingKey {
        case id, email, name, role, twoFactorEnabled = "two_factor_enabled", createdAt = "created_at"
    }
}

struct MeResponse: APIResource {
    var user: UserResponse
    var tenant: MeTenant
    var role: String
    @Nullable var csrfToken: String?

    struct MeTenant: Encodable, Sendable {
        var id: String
        var name: String
    }

    init(user: User, tenant: Tenant, csrfToken: String?) {
        self.user = UserResponse(user)
        self.tenant = MeTenant(id: tenant.id.description, name: tenant.name)
        self.role = user.role.rawValue
        self.csrfToken = csrfToken
    }

    enum CodingKeys: String, CodingKey { case user, tenant, role, csrfToken = "csrf_token" }
}

struct TOTPSetupResponse: APIResource {
    var secret: String
    var otpauthURL: String

    enum CodingKeys: String, CodingKey { case secret, otpauthURL = "otpauth_url" }
}

struct RecoveryCodesResponse: APIResource {
    var recoveryCodes: [String]

    enum CodingKeys: String, CodingKey { case recoveryCodes = "recovery_codes" }
}

struct InvitationResponse: APIResource {
    var id: String
    var email: String
    var role: String
    var invitationURL: String
    var expiresAt: Date
    /// Whether the platform's mail sent the link (false without `SWITCHBOARD_SMTP_URL`).
    var emailSent: Bool

    enum CodingKeys: String, CodingKey {
        case id, email, role, invitationURL = "invitation_url", expiresAt = "expires_at", emailSent = "email_sent"
    }
}

struct VerifiedResponse: APIResource {
    var user: UserResponse
    var trialGranted: Bool

    enum CodingKeys: String, CodingKey { case user, trialGranted = "trial_granted" }
}

struct LoginEventResponse: APIResource {
    var id: String
    @Nullable var userID: String?
    var email: String
    var outcome: String
    @Nullable var source: String?
    @Nullable var userAgent: String?
    var at: Date

    init(_ event: LoginEvent) {
        self.id = event.id.uuidString.lowercased()
        self.userID = event.userID?.description
        self.email = event.email
        self.outcome = event.outcome.rawValue
        self.source = event.source
        self.userAgent = event.userAgent
        self.at = event.at
    }

    enum CodingKeys: String, CodingKey { case id, userID = "user_id", email, outcome, source, userAgent = "user_agent", at }
}
