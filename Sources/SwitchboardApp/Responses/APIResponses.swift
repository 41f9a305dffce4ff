import Foundation
import SwitchboardCore

/// A tenant as the API shows it.
struct TenantResponse: APIResource {
    var id: String
    var name: String
    var trialCreditsMicros: Int64
    var createdAt: Date
    /// The credit account, where the answer shows it (`GET /v1/tenant`, the operator's list).
    var balanceMicros: Int64?
    var heldMicros: Int64?
    var lowBalance: Bool?
    var lowBalanceThresholdMicros: Int64?
    /// Whether the team must use two-factor authentication (`GET`/`PATCH /v1/tenant`).
    var requireTwoFactor: Bool?

    init(_ tenant: Tenant, account: CreditAccount? = nil, requireTwoFactor: Bool? = nil) {
        self.requireTwoFactor = requireTwoFactor
        self.id = tenant.id.description
        self.name = tenant.name
        self.trialCreditsMicros = tenant.trialCredits.micros
        self.createdAt = tenant.createdAt
        self.balanceMicros = account?.balance.micros
        self.heldMicros = account?.held.micros
        self.lowBalance = account?.isLow
        self.lowBalanceThresholdMicros = account?.lowBalanceThreshold.micros
    }

    enum CodingKeys: String, CodingKey { case id, name, trialCreditsMicros = "trial_credits_micros", createdAt = "created_at", balanceMicros = "balance_micros", heldMicros = "held_micros", lowBalance = "low_balance", lowBalanceThresholdMicros = "low_balance_threshold_micros", requireTwoFactor = "require_two_factor" }
}

/// An API key as the API shows it: never the secret, except `key` in the answer that
/// creates it.
struct APIKeyResponse: APIResource {
    var id: String
    var name: String
    var prefix: String
    var createdAt: Date
    var lastUsedAt: Date?
    var revokedAt: Date?
    var scopes: [String]
    var expiresAt: Date?
    var rateLimitPerMinute: Int?
    /// The secret, present only when the key is created.
    var key: String?

    init(_ key: APIKey, secret: String? = nil) {
        self.scopes = key.scopes.map(\.rawValue).sorted()
        self.expiresAt = key.expiresAt
        self.rateLimitPerMinute = key.rateLimitPerMinute
        self.id = key.id.description
        self.name = key.name
        self.prefix = key.prefix
        self.createdAt = key.createdAt
        self.lastUsedAt = key.lastUsedAt
        self.revokedAt = key.revokedAt
        self.key = secret
    }

    enum CodingKeys: String, CodingKey {
        case id, name, prefix, createdAt = "created_at", lastUsedAt = "last_used_at", revokedAt = "revoked_at", key, scopes
        case expiresAt = "expires_at", rateLimitPerMinute = "rate_limit_per_minute"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(name, forKey: .name)
        try container.encode(prefix, forKey: .prefix)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(lastUsedAt, forKey: .lastUsedAt)
        try container.encode(revokedAt, forKey: .revokedAt)
        try container.encode(scopes, forKey: .scopes)
        try container.encode(expiresAt, forKey: .expiresAt)
        try container.encode(rateLimitPerMinute, forKey: .rateLimitPerMinute)
        try container.encodeIfPresent(key, forKey: .key)
    }
}

/// The answer of `POST /admin/tenants`: the tenant and its first key, shown once.
struct CreatedTenantResponse: APIResource {
    var tenant: TenantResponse
    var apiKey: String

    enum CodingKeys: String, CodingKey { case tenant, apiKey = "api_key" }
}

/// Validation shared by request bodies; each rule is a `FieldRule`, which the OpenAPI
/// document's schemas are written from.
enum Validate {
    /// A trimmed, non-empty name of at most `maximum` characters (code points, as sent).
    static func name(_ value: String, field: String, maximum: Int = 200) throws -> String {
        try FieldRule.name(maximum: maximum).check(value, field: field)
    }

    /// A phone number: ASCII digits with an optional leading +, spaces, dashes and brackets.
    static func phone(_ value: String) throws -> String {
        try FieldRule.phone.check(value, field: "phone")
    }

    /// An email address of reasonable shape (one @, a dot in the domain, no spaces).
    static func email(_ value: String) throws -> String {
        try FieldRule.email.check(value, field: "email")
    }

    /// Up to 50 distinct tags of 1 to 50 characters, sorted.
    static func tags(_ values: [String]) throws -> [String] {
        guard values.count <= maximumTags else { throw SwitchboardError.invalid("at most \(maximumTags) tags", field: "tags") }
        let cleaned = try values.map { try FieldRule.tag.check($0, field: "tags") }
        return Array(Set(cleaned)).sorted()
    }

    static let maximumTags = 50
}
