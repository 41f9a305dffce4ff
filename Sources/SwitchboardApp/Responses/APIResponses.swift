import Foundation
import SwitchboardCore

/// A tenant as the API shows it.
struct TenantResponse: Encodable, Sendable {
    var id: String
    var name: String
    var trialCreditsMicros: Int64
    var createdAt: Date
    /// The credit account, where the answer shows it (`GET /v1/tenant`, the operator's list).
    var balanceMicros: Int64?
    var heldMicros: Int64?
    var lowBalance: Bool?
    var lowBalanceThresholdMicros: Int64?

    init(_ tenant: Tenant, account: CreditAccount? = nil) {
        self.id = tenant.id.description
        self.name = tenant.name
        self.trialCreditsMicros = tenant.trialCredits.micros
        self.createdAt = tenant.createdAt
        self.balanceMicros = account?.balance.micros
        self.heldMicros = account?.held.micros
        self.lowBalance = account?.isLow
        self.lowBalanceThresholdMicros = account?.lowBalanceThreshold.micros
    }
}

/// An API key as the API shows it: never the secret, except `key` in the answer that
/// creates it.
struct APIKeyResponse: Encodable, Sendable {
    var id: String
    var name: String
    var prefix: String
    var createdAt: Date
    var lastUsedAt: Date?
    var revokedAt: Date?
    /// The secret, present only when the key is created.
    var key: String?

    init(_ key: APIKey, secret: String? = nil) {
        self.id = key.id.description
        self.name = key.name
        self.prefix = key.prefix
        self.createdAt = key.createdAt
        self.lastUsedAt = key.lastUsedAt
        self.revokedAt = key.revokedAt
        self.key = secret
    }

    enum CodingKeys: String, CodingKey { case id, name, prefix, createdAt, lastUsedAt, revokedAt, key }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(name, forKey: .name)
        try container.encode(prefix, forKey: .prefix)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(lastUsedAt, forKey: .lastUsedAt)
        try container.encode(revokedAt, forKey: .revokedAt)
        try container.encodeIfPresent(key, forKey: .key)
    }
}

/// The answer of `POST /admin/tenants`: the tenant and its first key, shown once.
struct CreatedTenantResponse: Encodable, Sendable {
    var tenant: TenantResponse
    var apiKey: String
}

/// Validation shared by request bodies.
enum Validate {
    /// A trimmed, non-empty name of at most `maximum` characters.
    static func name(_ value: String, field: String, maximum: Int = 200) throws -> String {
        let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw SwitchboardError.invalid("\(field) must not be empty", field: field) }
        guard trimmed.count <= maximum else {
            throw SwitchboardError.invalid("\(field) must be at most \(maximum) characters", field: field)
        }
        guard !trimmed.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw SwitchboardError.invalid("\(field) must not contain control characters", field: field)
        }
        return trimmed
    }

    /// A phone number: digits with an optional leading +, spaces, dashes and brackets.
    static func phone(_ value: String) throws -> String {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        let digits = trimmed.filter(\.isNumber)
        guard (5...20).contains(digits.count), trimmed.allSatisfy({ $0.isNumber || " +-()".contains($0) }) else {
            throw SwitchboardError.invalid("phone must be a phone number such as +77011234567", field: "phone")
        }
        return trimmed
    }

    /// An email address of reasonable shape (one @, a dot in the domain, no spaces).
    static func email(_ value: String) throws -> String {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        let parts = trimmed.split(separator: "@", omittingEmptySubsequences: false)
        guard trimmed.count <= 254, parts.count == 2, !parts[0].isEmpty, parts[1].contains("."),
              !trimmed.contains(where: \.isWhitespace)
        else {
            throw SwitchboardError.invalid("email must be an email address", field: "email")
        }
        return trimmed
    }

    /// Up to 50 distinct tags of 1 to 50 characters, sorted.
    static func tags(_ values: [String]) throws -> [String] {
        guard values.count <= 50 else { throw SwitchboardError.invalid("at most 50 tags", field: "tags") }
        let cleaned = try values.map { try name($0, field: "tags", maximum: 50) }
        return Array(Set(cleaned)).sorted()
    }
}
