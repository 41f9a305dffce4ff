public import Foundation

/// A job taken from the outbox: what to do, for which tenant and message, and which
/// attempt this is. The attempt number fences the job: a worker finishes it only while
/// no later attempt has taken it over.
public struct ClaimedJob: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// Generate the agent's answer to an inbound message.
        case reply
        /// Deliver a stored outbound message through its channel.
        case send
    }

    public var id: JobID
    public var tenantID: TenantID
    public var kind: Kind
    public var messageID: MessageID
    public var attempt: Int

    public init(id: JobID, tenantID: TenantID, kind: Kind, messageID: MessageID, attempt: Int) {
        self.id = id
        self.tenantID = tenantID
        self.kind = kind
        self.messageID = messageID
        self.attempt = attempt
    }
}

extension Duration {
    /// The duration in seconds, fractions kept (leases and deadlines handed to SQL and `Date`).
    public var timeInterval: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
