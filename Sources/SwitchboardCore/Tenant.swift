public import Foundation

/// A business that uses Switchboard: the owner of every row scoped to its id.
public struct Tenant: Sendable, Hashable {
    public var id: TenantID
    public var name: String
    /// The trial grant set by the operator at creation; the credit ledger posts it.
    public var trialCredits: Credits
    public var createdAt: Date

    public init(id: TenantID, name: String, trialCredits: Credits, createdAt: Date) {
        self.id = id
        self.name = name
        self.trialCredits = trialCredits
        self.createdAt = createdAt
    }

    /// The longest tenant name accepted, in characters.
    public static let maximumNameLength = 200
}
