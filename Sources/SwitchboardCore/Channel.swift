public import Foundation

/// A tenant's connection to a messenger or webhook, through which messages arrive and
/// replies leave. Its credentials are never part of this value: they are sealed at rest
/// and opened only where a connector needs them.
public struct Channel: Sendable, Hashable {
    public var id: ChannelID
    public var tenantID: TenantID
    public var kind: String
    public var name: String
    public var agentID: UUID?
    public var enabled: Bool
    /// The names of the stored credential fields (never their values).
    public var credentialFields: [String]
    public var createdAt: Date
    public var updatedAt: Date
    /// For a channel the server fetches: how its fetching last went (`nil` before the first
    /// replica took it) and where it stands.
    public var pullState: PullState?
    public var pullCursor: String?
    /// Why the platform refused the channel's credentials (Graph 190: the token expired),
    /// and when: the channel needs new ones. Cleared by new credentials or a send that works.
    public var credentialsError: String?
    public var credentialsErrorAt: Date?
    /// When a verified delivery last arrived, to the minute.
    public var lastEventAt: Date?

    public init(
        id: ChannelID, tenantID: TenantID, kind: String, name: String, agentID: UUID?, enabled: Bool,
        credentialFields: [String], createdAt: Date, updatedAt: Date, pullState: PullState? = nil, pullCursor: String? = nil
    ) {
        self.pullState = pullState
        self.pullCursor = pullCursor
        self.id = id
        self.tenantID = tenantID
        self.kind = kind
        self.name = name
        self.agentID = agentID
        self.enabled = enabled
        self.credentialFields = credentialFields
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// What ingest needs to know of a channel before it knows the tenant: found by the
/// channel id of a webhook URL.
public struct ChannelRoute: Sendable, Hashable {
    public var channelID: ChannelID
    public var tenantID: TenantID
    public var kind: String
    public var enabled: Bool
    /// The sealed credentials; opened by the App with the master key.
    public var sealedCredentials: [UInt8]

    public init(channelID: ChannelID, tenantID: TenantID, kind: String, enabled: Bool, sealedCredentials: [UInt8]) {
        self.channelID = channelID
        self.tenantID = tenantID
        self.kind = kind
        self.enabled = enabled
        self.sealedCredentials = sealedCredentials
    }
}

/// Changes to a channel; `nil` leaves a field as it is.
public struct ChannelChanges: Sendable {
    public var name: String?
    public var agentID: UUID??
    public var enabled: Bool?
    public var sealedCredentials: [UInt8]?
    public var credentialFields: [String]?

    public init(
        name: String? = nil, agentID: UUID?? = nil, enabled: Bool? = nil, sealedCredentials: [UInt8]? = nil,
        credentialFields: [String]? = nil
    ) {
        self.name = name
        self.agentID = agentID
        self.enabled = enabled
        self.sealedCredentials = sealedCredentials
        self.credentialFields = credentialFields
    }
}
