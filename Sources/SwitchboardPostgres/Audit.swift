public import SwitchboardCore
import Synchronization

/// An operation on personal data that the audit journal must record: set for the extent of
/// an API request (`Audit.$intent.withValue`), and written by the first tenant-scoped
/// transaction of that request to commit — in that transaction, so the entry and the
/// operation commit or roll back together.
public final class AuditIntent: Sendable {
    public let tenant: TenantID
    public let actor: String
    public let action: String
    public let subjectKind: String
    public let subjectID: String?
    private let written = Mutex(false)

    public init(tenant: TenantID, actor: String, action: String, subjectKind: String, subjectID: String?) {
        self.tenant = tenant
        self.actor = actor
        self.action = action
        self.subjectKind = subjectKind
        self.subjectID = subjectID
    }

    /// Whether an entry for this intent has committed.
    public var isWritten: Bool { written.withLock { $0 } }
    func markWritten() { written.withLock { $0 = true } }
}

public enum Audit {
    /// The operation the current task performs on personal data, if any.
    @TaskLocal public static var intent: AuditIntent?
}
