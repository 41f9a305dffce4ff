public import Foundation

/// What a person of a tenant's team may do.
public enum Role: String, Sendable, Hashable, CaseIterable, Codable {
    /// Everything, including the other owners and the team's two-factor rule.
    case owner
    /// Everything but the owners.
    case admin
    /// Works conversations and contacts.
    case `operator`
    /// Reads analytics, and nothing else.
    case analyst

    /// The scopes a person of this role acts with, on the pages and the API alike.
    public var scopes: Set<Scope> {
        switch self {
        case .owner, .admin: [.admin]
        case .operator: [.crmRead, .crmWrite]
        case .analyst: [.analyticsRead]
        }
    }
}

/// What an API key (or a person's role) allows. `admin` allows everything.
public enum Scope: String, Sendable, Hashable, CaseIterable, Codable {
    case crmRead = "crm:read"
    case crmWrite = "crm:write"
    case agentsWrite = "agents:write"
    case channelsWrite = "channels:write"
    case analyticsRead = "analytics:read"
    case privacyWrite = "privacy:write"
    case modelsInvoke = "models:invoke"
    case admin
}

/// Who is acting: an API key or a signed-in person.
public enum Actor: Sendable, Hashable {
    case apiKey(APIKeyID)
    case user(UserID, Role)

    /// How the audit journal names the actor: `api_key:<id>` or `user:<id>`.
    public var journalName: String {
        switch self {
        case .apiKey(let id): "api_key:\(id)"
        case .user(let id, _): "user:\(id)"
        }
    }
}

/// A person of a tenant's team, as the API shows it (never the password or TOTP secret).
public struct User: Sendable, Hashable {
    public var id: UserID
    public var tenantID: TenantID
    public var email: String
    public var name: String?
    public var role: Role
    /// Whether the person has set a password (an invited person has not, until accepting).
    public var hasPassword: Bool
    public var twoFactorEnabled: Bool
    public var createdAt: Date

    public init(
        id: UserID, tenantID: TenantID, email: String, name: String?, role: Role, hasPassword: Bool, twoFactorEnabled: Bool,
        createdAt: Date
    ) {
        self.id = id
        self.tenantID = tenantID
        self.email = email
        self.name = name
        self.role = role
        self.hasPassword = hasPassword
        self.twoFactorEnabled = twoFactorEnabled
        self.createdAt = createdAt
    }
}

/// One entry of the sign-in journal: an attempt on a known address, or a sign-out.
public struct LoginEvent: Sendable, Hashable {
    public enum Outcome: String, Sendable, CaseIterable {
        case signedIn = "signed_in"
        case wrongPassword = "wrong_password"
        case totpRequired = "totp_required"
        case wrongTOTP = "wrong_totp"
        case reusedTOTP = "reused_totp"
        case wrongRecoveryCode = "wrong_recovery_code"
        case recoveryCodeUsed = "recovery_code_used"
        case rateLimited = "rate_limited"
        case twoFactorNotSetUp = "two_factor_not_set_up"
        case signedOut = "signed_out"
        case signedOutEverywhere = "signed_out_everywhere"
    }

    public var id: UUID
    public var userID: UserID?
    public var email: String
    public var outcome: Outcome
    public var source: String?
    public var userAgent: String?
    public var at: Date

    public init(id: UUID, userID: UserID?, email: String, outcome: Outcome, source: String?, userAgent: String?, at: Date) {
        self.id = id
        self.userID = userID
        self.email = email
        self.outcome = outcome
        self.source = source
        self.userAgent = userAgent
        self.at = at
    }
}
