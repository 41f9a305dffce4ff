public import Foundation

/// A tenant's API key as stored: never the secret, only its hash and a display prefix.
public struct APIKey: Sendable, Hashable {
    public var id: APIKeyID
    public var tenantID: TenantID
    public var name: String
    /// The first characters of the secret (`sb_live_abcd`), so a person can tell keys apart.
    public var prefix: String
    public var createdAt: Date
    public var lastUsedAt: Date?
    public var revokedAt: Date?
    public var scopes: Set<Scope>
    public var expiresAt: Date?
    /// Requests per minute, counted in the database (so across replicas); `nil`: only the
    /// process-wide limits apply.
    public var rateLimitPerMinute: Int?

    public init(
        id: APIKeyID, tenantID: TenantID, name: String, prefix: String,
        createdAt: Date, lastUsedAt: Date? = nil, revokedAt: Date? = nil,
        scopes: Set<Scope> = [.admin], expiresAt: Date? = nil, rateLimitPerMinute: Int? = nil
    ) {
        self.scopes = scopes
        self.expiresAt = expiresAt
        self.rateLimitPerMinute = rateLimitPerMinute
        self.id = id
        self.tenantID = tenantID
        self.name = name
        self.prefix = prefix
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt
        self.revokedAt = revokedAt
    }

    public var isActive: Bool { revokedAt == nil }
}

/// A key about to be stored: the store never sees the secret, only what it keeps.
public struct NewAPIKey: Sendable {
    public var id: APIKeyID
    public var name: String
    public var prefix: String
    /// SHA-256 of the whole secret.
    public var hash: [UInt8]
    public var scopes: Set<Scope>
    public var expiresAt: Date?
    public var rateLimitPerMinute: Int?

    public init(
        id: APIKeyID = APIKeyID(), name: String, prefix: String, hash: [UInt8], scopes: Set<Scope> = [.admin], expiresAt: Date? = nil,
        rateLimitPerMinute: Int? = nil
    ) {
        self.id = id
        self.scopes = scopes
        self.expiresAt = expiresAt
        self.rateLimitPerMinute = rateLimitPerMinute
        self.name = name
        self.prefix = prefix
        self.hash = hash
    }
}

/// Who is asking, once a tenant key or a person's session has been checked.
public struct TenantPrincipal: Sendable, Hashable {
    public var tenantID: TenantID
    public var actor: Actor
    public var scopes: Set<Scope>
    /// A key's count in its current minute, when the key has a per-minute limit.
    public var rate: KeyRate?
    /// A session's CSRF token (`nil` for a key): a state-changing call must present it.
    public var csrfToken: String?
    /// A session's id (`nil` for a key).
    public var sessionID: UUID?
    /// The team requires two-factor authentication and this person has not set it up:
    /// only their own profile and the set-up answer until they do.
    public var mustEnrollTwoFactor = false

    public init(tenantID: TenantID, apiKeyID: APIKeyID, scopes: Set<Scope> = [.admin], rate: KeyRate? = nil) {
        self.tenantID = tenantID
        self.actor = .apiKey(apiKeyID)
        self.scopes = scopes
        self.rate = rate
    }

    public init(tenantID: TenantID, userID: UserID, role: Role, sessionID: UUID, csrfToken: String) {
        self.tenantID = tenantID
        self.actor = .user(userID, role)
        self.scopes = role.scopes
        self.sessionID = sessionID
        self.csrfToken = csrfToken
    }

    public var apiKeyID: APIKeyID? {
        if case .apiKey(let id) = actor { return id }
        return nil
    }

    public var userID: UserID? {
        if case .user(let id, _) = actor { return id }
        return nil
    }

    public var role: Role? {
        if case .user(_, let role) = actor { return role }
        return nil
    }

    /// Whether the principal may act with `scope` (`admin` allows every scope).
    public func allows(_ scope: Scope) -> Bool { scopes.contains(.admin) || scopes.contains(scope) }

    /// Whether the principal may manage owners and the team's two-factor rule: an owner, or
    /// an `admin` key (the tenant's own code).
    public var isOwnerLevel: Bool {
        switch actor {
        case .apiKey: scopes.contains(.admin)
        case .user(_, let role): role == .owner
        }
    }
}

/// A limited key's use of its current one-minute window.
public struct KeyRate: Sendable, Hashable {
    public var limit: Int
    public var count: Int
    public var windowEnds: Date

    public init(limit: Int, count: Int, windowEnds: Date) {
        self.limit = limit
        self.count = count
        self.windowEnds = windowEnds
    }

    public var exceeded: Bool { count > limit }
    public var remaining: Int { max(limit - count, 0) }
}
