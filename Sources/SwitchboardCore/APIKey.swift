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

    public init(
        id: APIKeyID, tenantID: TenantID, name: String, prefix: String,
        createdAt: Date, lastUsedAt: Date? = nil, revokedAt: Date? = nil
    ) {
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

    public init(id: APIKeyID = APIKeyID(), name: String, prefix: String, hash: [UInt8]) {
        self.id = id
        self.name = name
        self.prefix = prefix
        self.hash = hash
    }
}

/// Who is asking, once a tenant key has been checked.
public struct TenantPrincipal: Sendable, Hashable {
    public var tenantID: TenantID
    public var apiKeyID: APIKeyID

    public init(tenantID: TenantID, apiKeyID: APIKeyID) {
        self.tenantID = tenantID
        self.apiKeyID = apiKeyID
    }
}
