public import Foundation
import Crypto
import Logging
import PostgresNIO
public import SwitchboardCore

/// The team's workspace in PostgreSQL: people, their sessions, invitations, two-factor
/// state and the sign-in journal. Secrets never reach this store: it keeps hashes (of
/// session, invitation and recovery tokens), bcrypt hashes, and TOTP secrets sealed by the
/// caller.
public struct PostgresWorkspaceStore: Sendable {
    let database: Database

    public init(database: Database) {
        self.database = database
    }

    // MARK: Sign-in

    /// What a sign-in needs to know of an address, found before the tenant is known.
    public struct SignInRecord: Sendable {
        public var tenantID: TenantID
        public var userID: UserID
        public var email: String
        public var role: Role
        public var passwordHash: String?
        public var totpSecret: [UInt8]?
        public var requireTwoFactor: Bool
    }

    /// The person behind `email` (lower-cased by the caller), if any.
    public func signInRecord(email: String) async throws -> SignInRecord? {
        let logger = database.logger
        return try await database.withoutScope { connection in
            try await connection.query("SELECT set_config('app.user_email', \(email), true)", logger: logger)
            var found: (UUID, UUID)?
            for try await row in try await connection.query(
                "SELECT tenant_id, user_id FROM user_directory WHERE email = \(email)", logger: logger
            ).decode((UUID, UUID).self) { found = row }
            guard let (tenant, user) = found else { return nil }
            try await connection.query("SELECT set_config('app.tenant_id', \(tenant.uuidString.lowercased()), true)", logger: logger)
            let rows = try await connection.query(
                """
                SELECT u.email, u.role, u.password_hash, u.totp_secret, t.require_two_factor
                FROM users u JOIN tenants t ON t.id = u.tenant_id
                WHERE u.tenant_id = \(tenant) AND u.id = \(user)
                """,
                logger: logger
            )
            for try await (email, role, hash, secret, required) in rows.decode((String, String, String?, Data?, Bool).self) {
                return SignInRecord(
                    tenantID: TenantID(tenant), userID: UserID(user), email: email, role: Role(rawValue: role) ?? .analyst,
                    passwordHash: hash, totpSecret: secret.map { Array($0) }, requireTwoFactor: required
                )
            }
            return nil
        }
    }

    /// Failed attempts on `email` since `since`: the per-account limit counts these.
    public func recentFailures(_ tenant: TenantID, email: String, since: Date) async throws -> Int {
        let logger = database.logger
        return try await database.withTenant(tenant) { connection in
            try await connection.integer(
                """
                SELECT count(*)::int FROM login_events
                WHERE tenant_id = \(tenant.uuid) AND email = \(email) AND at > \(since)
                  AND outcome IN ('wrong_password', 'wrong_totp', 'reused_totp', 'wrong_recovery_code')
                """,
                logger: logger
            )
        }
    }

    /// Journals a sign-in attempt or a sign-out.
    public func recordLogin(_ tenant: TenantID, user: UserID?, email: String, outcome: LoginEvent.Outcome, source: String?, userAgent: String?)
        async throws
    {
        let logger = database.logger
        try await database.withTenant(tenant) { connection in
            try await connection.query(
                """
                INSERT INTO login_events (tenant_id, id, user_id, email, outcome, source, user_agent)
                VALUES (\(tenant.uuid), \(UUID()), \(user?.uuid), \(email), \(outcome.rawValue),
                        \(source.map { String($0.prefix(100)) }), \(userAgent.map { String($0.prefix(300)) }))
                """,
                logger: logger
            )
        }
    }

    /// Accepts a TOTP code's time step once: true when `step` is later than any accepted
    /// before (a code replayed within its window is refused).
    public func acceptTOTPStep(_ tenant: TenantID, user: UserID, step: Int64) async throws -> Bool {
        let logger = database.logger
        return try await database.withTenant(tenant) { connection in
            try await connection.integer(
                """
                WITH accepted AS (
                    UPDATE users SET totp_last_step = \(step)
                    WHERE tenant_id = \(tenant.uuid) AND id = \(user.uuid) AND (totp_last_step IS NULL OR totp_last_step < \(step))
                    RETURNING 1
                ) SELECT count(*)::int FROM accepted
                """,
                logger: logger
            ) == 1
        }
    }

    /// Spends a recovery code: true when it was one of the person's, unused.
    public func useRecoveryCode(_ tenant: TenantID, user: UserID, hash: [UInt8]) async throws -> Bool {
        let logger = database.logger
        return try await database.withTenant(tenant) { connection in
            try await connection.integer(
                """
                WITH used AS (
                    UPDATE user_recovery_codes SET used_at = now()
                    WHERE tenant_id = \(tenant.uuid) AND user_id = \(user.uuid) AND code_hash = \(Data(hash)) AND used_at IS NULL
                    RETURNING 1
                ) SELECT count(*)::int FROM used
                """,
                logger: logger
            ) == 1
        }
    }

    // MARK: Sessions

    public struct SessionRecord: Sendable {
        public var id: UUID
        public var userID: UserID
        public var role: Role
        public var csrfToken: String
        /// The team requires two-factor authentication and this person has not set it up.
        public var mustEnrollTwoFactor: Bool
    }

    public func createSession(
        _ tenant: TenantID, user: UserID, tokenHash: [UInt8], csrfToken: String, source: String?, userAgent: String?, expiresAt: Date
    ) async throws -> UUID {
        let id = UUID()
        let logger = database.logger
        try await database.withTenant(tenant) { connection in
            // A person's oldest sessions beyond fifty go: sessions cannot pile up without end.
            try await connection.query(
                """
                DELETE FROM user_sessions WHERE tenant_id = \(tenant.uuid) AND id IN (
                    SELECT id FROM user_sessions WHERE tenant_id = \(tenant.uuid) AND user_id = \(user.uuid)
                    ORDER BY created_at DESC OFFSET 49)
                """,
                logger: logger
            )
            try await connection.query(
                """
                INSERT INTO user_sessions (tenant_id, id, user_id, token_hash, csrf_token, source, user_agent, expires_at)
                VALUES (\(tenant.uuid), \(id), \(user.uuid), \(Data(tokenHash)), \(csrfToken),
                        \(source.map { String($0.prefix(100)) }), \(userAgent.map { String($0.prefix(300)) }), \(expiresAt))
                """,
                logger: logger
            )
        }
        return id
    }

    /// The live session of `tokenHash` in `tenant`; marks it seen at most once a minute.
    public func session(_ tenant: TenantID, tokenHash: [UInt8]) async throws -> SessionRecord? {
        let logger = database.logger
        return try await database.withTenant(tenant) { connection in
            let rows = try await connection.query(
                """
                SELECT s.id, s.user_id, u.role, s.csrf_token, t.require_two_factor AND u.totp_secret IS NULL,
                       s.last_seen_at < now() - interval '1 minute'
                FROM user_sessions s
                JOIN users u ON u.tenant_id = s.tenant_id AND u.id = s.user_id
                JOIN tenants t ON t.id = s.tenant_id
                WHERE s.tenant_id = \(tenant.uuid) AND s.token_hash = \(Data(tokenHash)) AND s.expires_at > now()
                """,
                logger: logger
            )
            var found: (SessionRecord, Bool)?
            for try await (id, user, role, csrf, enroll, stale) in rows.decode((UUID, UUID, String, String, Bool, Bool).self) {
                found = (
                    SessionRecord(id: id, userID: UserID(user), role: Role(rawValue: role) ?? .analyst, csrfToken: csrf, mustEnrollTwoFactor: enroll),
                    stale
                )
            }
            guard let (record, stale) = found else { return nil }
            if stale {
                try await connection.query(
                    "UPDATE user_sessions SET last_seen_at = now() WHERE tenant_id = \(tenant.uuid) AND id = \(record.id)", logger: logger
                )
            }
            return record
        }
    }

    public func deleteSession(_ tenant: TenantID, id: UUID) async throws {
        let logger = database.logger
        try await database.withTenant(tenant) { connection in
            try await connection.query("DELETE FROM user_sessions WHERE tenant_id = \(tenant.uuid) AND id = \(id)", logger: logger)
        }
    }

    /// Ends every session of a person (sign-out everywhere, a password or role change, removal).
    public func deleteSessions(_ tenant: TenantID, user: UserID) async throws {
        let logger = database.logger
        try await database.withTenant(tenant) { connection in
            try await connection.query(
                "DELETE FROM user_sessions WHERE tenant_id = \(tenant.uuid) AND user_id = \(user.uuid)", logger: logger
            )
        }
    }

    // MARK: Two-factor

    public func setPendingTOTP(_ tenant: TenantID, user: UserID, sealed: [UInt8]) async throws {
        let logger = database.logger
        try await database.withTenant(tenant) { connection in
            try await connection.query(
                "UPDATE users SET totp_pending_secret = \(Data(sealed)) WHERE tenant_id = \(tenant.uuid) AND id = \(user.uuid)",
                logger: logger
            )
        }
    }

    public func pendingTOTP(_ tenant: TenantID, user: UserID) async throws -> [UInt8]? {
        let logger = database.logger
        return try await database.withTenant(tenant) { connection in
            for try await secret in try await connection.query(
                "SELECT totp_pending_secret FROM users WHERE tenant_id = \(tenant.uuid) AND id = \(user.uuid)", logger: logger
            ).decode(Data?.self) {
                return secret.map { Array($0) }
            }
            return nil
        }
    }

    /// Turns the pending secret on, with the step its confirming code used and a fresh set
    /// of recovery codes (replacing any earlier set).
    public func confirmTOTP(_ tenant: TenantID, user: UserID, step: Int64, recoveryCodeHashes: [[UInt8]]) async throws {
        let logger = database.logger
        try await database.withTenant(tenant) { connection in
            let updated = try await connection.integer(
                """
                WITH turned AS (
                    UPDATE users SET totp_secret = totp_pending_secret, totp_pending_secret = NULL, totp_last_step = \(step)
                    WHERE tenant_id = \(tenant.uuid) AND id = \(user.uuid) AND totp_pending_secret IS NOT NULL
                    RETURNING 1
                ) SELECT count(*)::int FROM turned
                """,
                logger: logger
            )
            guard updated == 1 else { throw SwitchboardError(.conflict, "start two-factor set-up first: POST /v1/me/totp") }
            try await connection.query(
                "DELETE FROM user_recovery_codes WHERE tenant_id = \(tenant.uuid) AND user_id = \(user.uuid)", logger: logger
            )
            for hash in recoveryCodeHashes {
                try await connection.query(
                    "INSERT INTO user_recovery_codes (tenant_id, user_id, code_hash) VALUES (\(tenant.uuid), \(user.uuid), \(Data(hash)))",
                    logger: logger
                )
            }
        }
    }

    public func setRequireTwoFactor(_ tenant: TenantID, _ required: Bool) async throws {
        let logger = database.logger
        try await database.withTenant(tenant) { connection in
            try await connection.query("UPDATE tenants SET require_two_factor = \(required) WHERE id = \(tenant.uuid)", logger: logger)
        }
    }

    public func requiresTwoFactor(_ tenant: TenantID) async throws -> Bool {
        let logger = database.logger
        return try await database.withTenant(tenant) { connection in
            for try await required in try await connection.query(
                "SELECT require_two_factor FROM tenants WHERE id = \(tenant.uuid)", logger: logger
            ).decode(Bool.self) { return required }
            throw SwitchboardError.notFound("tenant")
        }
    }

    // MARK: People

    static let userColumns = "id, tenant_id, email, name, role, password_hash IS NOT NULL, totp_secret IS NOT NULL, created_at, "
        + Keyset.micros()
    typealias UserRow = (UUID, UUID, String, String?, String, Bool, Bool, Date, Int64)

    static func user(_ row: UserRow) -> User {
        User(
            id: UserID(row.0), tenantID: TenantID(row.1), email: row.2, name: row.3, role: Role(rawValue: row.4) ?? .analyst,
            hasPassword: row.5, twoFactorEnabled: row.6, createdAt: row.7
        )
    }

    public func user(_ tenant: TenantID, _ id: UserID) async throws -> User {
        let logger = database.logger
        return try await database.withTenant(tenant) { connection in
            try await Self.fetchUser(connection, tenant, id, logger: logger)
        }
    }

    static func fetchUser(_ connection: PostgresConnection, _ tenant: TenantID, _ id: UserID, logger: Logger) async throws -> User {
        for try await row in try await connection.query(
            "SELECT \(unescaped: userColumns) FROM users WHERE tenant_id = \(tenant.uuid) AND id = \(id.uuid)", logger: logger
        ).decode(UserRow.self) { return user(row) }
        throw SwitchboardError.notFound("user")
    }

    public func users(_ tenant: TenantID, page: PageRequest) async throws -> Page<User> {
        let after = try Keyset.after(page.cursor)
        let logger = database.logger
        return try await database.withTenant(tenant) { connection in
            var users: [(User, Int64, UUID)] = []
            for try await row in try await connection.query(
                """
                SELECT \(unescaped: Self.userColumns) FROM users WHERE tenant_id = \(tenant.uuid) AND \(after: after)
                ORDER BY created_at, id LIMIT \(page.limit + 1)
                """,
                logger: logger
            ).decode(UserRow.self) { users.append((Self.user(row), row.8, row.0)) }
            return Keyset.page(users, limit: page.limit)
        }
    }

    /// Changes a person's role or name. The last owner stays an owner.
    public func updateUser(_ tenant: TenantID, _ id: UserID, role: Role?, name: String??) async throws -> User {
        let logger = database.logger
        return try await database.withTenant(tenant) { connection in
            let current = try await Self.lockOwners(connection, tenant, id, logger: logger)
            if let role, current.role == .owner, role != .owner, current.owners <= 1 {
                throw SwitchboardError(.conflict, "this is the team's last owner; make another person owner first")
            }
            let setName = name != nil
            let newName: String? = name ?? nil
            try await connection.query(
                """
                UPDATE users SET role = coalesce(\(role?.rawValue), role),
                                 name = CASE WHEN \(setName) THEN \(newName) ELSE name END
                WHERE tenant_id = \(tenant.uuid) AND id = \(id.uuid)
                """,
                logger: logger
            )
            return try await Self.fetchUser(connection, tenant, id, logger: logger)
        }
    }

    /// Removes a person: their sessions end with them; the sign-in journal keeps their entries.
    public func deleteUser(_ tenant: TenantID, _ id: UserID) async throws -> User {
        let logger = database.logger
        return try await database.withTenant(tenant) { connection in
            let current = try await Self.lockOwners(connection, tenant, id, logger: logger)
            if current.role == .owner, current.owners <= 1 {
                throw SwitchboardError(.conflict, "this is the team's last owner; make another person owner first")
            }
            let user = try await Self.fetchUser(connection, tenant, id, logger: logger)
            try await connection.query("DELETE FROM users WHERE tenant_id = \(tenant.uuid) AND id = \(id.uuid)", logger: logger)
            return user
        }
    }

    /// Locks the tenant's owners (two removals cannot each leave the other as the last) and
    /// answers `id`'s role and how many owners there are.
    static func lockOwners(_ connection: PostgresConnection, _ tenant: TenantID, _ id: UserID, logger: Logger) async throws
        -> (role: Role, owners: Int)
    {
        var owners = 0
        for try await _ in try await connection.query(
            "SELECT id FROM users WHERE tenant_id = \(tenant.uuid) AND role = 'owner' FOR UPDATE", logger: logger
        ).decode(UUID.self) { owners += 1 }
        for try await role in try await connection.query(
            "SELECT role FROM users WHERE tenant_id = \(tenant.uuid) AND id = \(id.uuid) FOR UPDATE", logger: logger
        ).decode(String.self) {
            return (Role(rawValue: role) ?? .analyst, owners)
        }
        throw SwitchboardError.notFound("user")
    }

    // MARK: Invitations

    public func invite(
        _ tenant: TenantID, email: String, role: Role, tokenHash: [UInt8], invitedBy: String, expiresAt: Date
    ) async throws -> UUID {
        let id = UUID()
        let logger = database.logger
        try await database.withTenant(tenant) { connection in
            let taken = try await connection.integer(
                "SELECT count(*)::int FROM users WHERE tenant_id = \(tenant.uuid) AND email = \(email)", logger: logger
            )
            guard taken == 0 else { throw SwitchboardError(.conflict, "this person is already on the team") }
            try await connection.query(
                """
                INSERT INTO user_invitations (tenant_id, id, email, role, token_hash, invited_by, expires_at)
                VALUES (\(tenant.uuid), \(id), \(email), \(role.rawValue), \(Data(tokenHash)), \(invitedBy), \(expiresAt))
                """,
                logger: logger
            )
        }
        return id
    }

    /// Makes the invited person a user with the password given. An invitation is good once,
    /// until it expires; an address that already has an account anywhere is refused (409).
    public func acceptInvitation(_ tenant: TenantID, tokenHash: [UInt8], passwordHash: String) async throws -> User {
        let logger = database.logger
        return try await database.withTenant(tenant) { connection in
            var found: (UUID, String, String, Bool, Bool)?
            for try await row in try await connection.query(
                """
                SELECT id, email, role, accepted_at IS NOT NULL, expires_at <= now() FROM user_invitations
                WHERE tenant_id = \(tenant.uuid) AND token_hash = \(Data(tokenHash)) FOR UPDATE
                """,
                logger: logger
            ).decode((UUID, String, String, Bool, Bool).self) { found = row }
            guard let (invitation, email, role, accepted, expired) = found else {
                throw SwitchboardError.notFound("invitation")
            }
            guard !accepted else { throw SwitchboardError(.conflict, "this invitation has been used; sign in instead") }
            guard !expired else { throw SwitchboardError(.conflict, "this invitation has expired; ask for a new one") }
            let user = UserID()
            try await Self.insertUser(connection, tenant, user, email: email, role: Role(rawValue: role) ?? .operator,
                                      passwordHash: passwordHash, verified: true, logger: logger)
            try await connection.query(
                "UPDATE user_invitations SET accepted_at = now() WHERE tenant_id = \(tenant.uuid) AND id = \(invitation)", logger: logger
            )
            return try await Self.fetchUser(connection, tenant, user, logger: logger)
        }
    }

    static func insertUser(
        _ connection: PostgresConnection, _ tenant: TenantID, _ id: UserID, email: String, role: Role, passwordHash: String,
        verified: Bool, emailTokenHash: [UInt8]? = nil, logger: Logger
    ) async throws {
        do {
            try await connection.query(
                """
                INSERT INTO users (tenant_id, id, email, role, password_hash, email_verified_at, email_token_hash)
                VALUES (\(tenant.uuid), \(id.uuid), \(email), \(role.rawValue), \(passwordHash),
                        CASE WHEN \(verified) THEN now() END, \(emailTokenHash.map { Data($0) }))
                """,
                logger: logger
            )
            try await connection.query(
                "INSERT INTO user_directory (email, tenant_id, user_id) VALUES (\(email), \(tenant.uuid), \(id.uuid))", logger: logger
            )
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            throw SwitchboardError(.conflict, "an account with this email address exists already; sign in instead")
        }
    }

    // MARK: Sign-up

    /// A business's own tenant, with its owner. The trial is not granted here: it waits for
    /// the owner's address to be verified (`verifyEmail`).
    public func signUp(company: String, email: String, passwordHash: String, emailTokenHash: [UInt8]) async throws -> (Tenant, User) {
        let tenantID = TenantID()
        let userID = UserID()
        let logger = database.logger
        return try await database.withOperator { connection in
            var createdAt = Date()
            for try await value in try await connection.query(
                "INSERT INTO tenants (id, name, trial_credits_micros) VALUES (\(tenantID.uuid), \(company), 0) RETURNING created_at",
                logger: logger
            ).decode(Date.self) { createdAt = value }
            try await connection.query("SELECT set_config('app.tenant_id', \(tenantID.description), true)", logger: logger)
            try await connection.perform("SELECT credit_open_account(\(tenantID.uuid), 0)", logger: logger)
            try await Self.insertUser(
                connection, tenantID, userID, email: email, role: .owner, passwordHash: passwordHash, verified: false,
                emailTokenHash: emailTokenHash, logger: logger
            )
            let user = try await Self.fetchUser(connection, tenantID, userID, logger: logger)
            return (Tenant(id: tenantID, name: company, trialCredits: .zero, createdAt: createdAt), user)
        }
    }

    /// Marks the address of the person with this link's token verified; answers the person
    /// and whether the address had a trial before (then none is granted).
    public func verifyEmail(_ tenant: TenantID, tokenHash: [UInt8]?, user: UserID? = nil) async throws -> (User, firstTrial: Bool) {
        let logger = database.logger
        return try await database.withTenant(tenant) { connection in
            var found: (UUID, String)?
            for try await row in try await connection.query(
                """
                UPDATE users SET email_verified_at = coalesce(email_verified_at, now()), email_token_hash = NULL
                WHERE tenant_id = \(tenant.uuid) AND role = 'owner'
                  AND ((\(tokenHash.map { Data($0) })::bytea IS NOT NULL AND email_token_hash = \(tokenHash.map { Data($0) }))
                       OR (\(user?.uuid)::uuid IS NOT NULL AND id = \(user?.uuid)))
                RETURNING id, email
                """,
                logger: logger
            ).decode((UUID, String).self) { found = row }
            guard let (id, email) = found else { throw SwitchboardError.notFound("verification link") }
            let digest = Self.sha256Hex(email)
            try await connection.query("SELECT set_config('app.email_sha256', \(digest), true)", logger: logger)
            let inserted = try await connection.integer(
                """
                WITH recorded AS (
                    INSERT INTO trial_directory (email_sha256) VALUES (\(digest)) ON CONFLICT DO NOTHING RETURNING 1
                ) SELECT count(*)::int FROM recorded
                """,
                logger: logger
            )
            return (try await Self.fetchUser(connection, tenant, UserID(id), logger: logger), inserted == 1)
        }
    }

    static func sha256Hex(_ text: String) -> String {
        SHA256.hash(data: Array(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    // MARK: Journal

    public func loginEvents(_ tenant: TenantID, page: PageRequest) async throws -> Page<LoginEvent> {
        let before = try Keyset.after(page.cursor)
        let logger = database.logger
        return try await database.withTenant(tenant) { connection in
            var events: [(LoginEvent, Int64, UUID)] = []
            for try await (id, user, email, outcome, source, agent, at, micros) in try await connection.query(
                """
                SELECT id, user_id, email, outcome, source, user_agent, at, \(unescaped: Keyset.micros("at")) FROM login_events
                WHERE tenant_id = \(tenant.uuid)
                  AND (\(before.micros)::int8 IS NULL
                       OR (at, id) < (timestamptz 'epoch' + \(before.micros)::int8 * interval '1 microsecond', \(before.id)::uuid))
                ORDER BY at DESC, id DESC LIMIT \(page.limit + 1)
                """,
                logger: logger
            ).decode((UUID, UUID?, String, String, String?, String?, Date, Int64).self) {
                let event = LoginEvent(
                    id: id, userID: user.map(UserID.init), email: email, outcome: LoginEvent.Outcome(rawValue: outcome) ?? .signedIn,
                    source: source, userAgent: agent, at: at
                )
                events.append((event, micros, id))
            }
            return Keyset.page(events, limit: page.limit)
        }
    }
}
