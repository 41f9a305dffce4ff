public import Foundation
import Logging
import PostgresNIO
public import SwitchboardCore

/// One entry of the audit journal.
public struct AuditEntry: Sendable, Hashable {
    public var sequence: Int64
    public var at: Date
    public var actor: String
    public var action: String
    public var subjectKind: String
    public var subjectID: String?
    /// The entry's SHA-256, hex.
    public var hash: String
}

/// The outcome of walking a tenant's hash chain.
public struct AuditVerification: Sendable, Hashable {
    /// The first entry that does not hold (edited, removed, reordered), or nil.
    public var brokenAt: Int64?
    public var checked: Int64
    public var isIntact: Bool { brokenAt == nil }
}

/// The audit journal: appended by `audit_append` (inside the audited transaction, see
/// `Audit`), read and verified here.
public struct PostgresAuditStore: Sendable {
    let database: Database

    public init(database: Database) {
        self.database = database
    }

    /// Writes an intent's entry in a transaction of its own, when the request it belongs
    /// to committed none that carried it.
    public func append(_ intent: AuditIntent) async throws {
        let logger = database.logger
        try await Audit.$intent.withValue(nil) {
            try await database.withTenant(intent.tenant) { connection in
                try await connection.perform(
                    """
                    SELECT audit_append(\(intent.tenant.uuid), \(intent.actor), \(intent.action), \(intent.subjectKind), \(intent.subjectID),
                                        '{}'::jsonb)
                    """,
                    logger: logger
                )
            }
        }
    }

    /// Newest first; optionally only the entries about one subject.
    public func entries(
        _ tenant: TenantID, page: PageRequest, subjectKind: String? = nil, subjectID: String? = nil, actor: String? = nil,
        from: Date? = nil, to: Date? = nil
    ) async throws -> Page<AuditEntry> {
        let before: Int64? = try page.cursor.map { cursor in
            guard let sequence = Int64(cursor.sortKey) else {
                throw SwitchboardError.invalid("cursor is not one this API issued", field: "cursor")
            }
            return sequence
        }
        let logger = database.logger
        return try await database.withTenant(tenant) { connection in
            let rows = try await connection.query(
                """
                SELECT seq, at, actor, action, subject_kind, subject_id, encode(hash, 'hex') FROM audit_log
                WHERE tenant_id = \(tenant.uuid) AND (\(before)::int8 IS NULL OR seq < \(before)::int8)
                  AND (\(subjectKind)::text IS NULL OR subject_kind = \(subjectKind)::text)
                  AND (\(subjectID)::text IS NULL OR subject_id = \(subjectID)::text)
                  AND (\(actor)::text IS NULL OR actor = \(actor)::text)
                  AND (\(from)::timestamptz IS NULL OR at >= \(from)::timestamptz)
                  AND (\(to)::timestamptz IS NULL OR at < \(to)::timestamptz)
                ORDER BY seq DESC LIMIT \(page.limit + 1)
                """,
                logger: logger
            )
            var entries: [AuditEntry] = []
            for try await (seq, at, actor, action, kind, subject, hash) in rows.decode(
                (Int64, Date, String, String, String, String?, String).self
            ) {
                entries.append(AuditEntry(sequence: seq, at: at, actor: actor, action: action, subjectKind: kind, subjectID: subject, hash: hash))
            }
            let kept = Array(entries.prefix(page.limit))
            let next = entries.count > page.limit ? kept.last.map { Cursor(sortKey: String($0.sequence), id: String($0.sequence)).encoded } : nil
            return Page(data: kept, nextCursor: next)
        }
    }

    public func verify(_ tenant: TenantID) async throws -> AuditVerification {
        let logger = database.logger
        return try await database.withTenant(tenant) { connection in
            for try await (broken, checked) in try await connection.query(
                "SELECT broken_seq, checked FROM audit_verify(\(tenant.uuid))", logger: logger
            ).decode((Int64?, Int64).self) {
                return AuditVerification(brokenAt: broken, checked: checked)
            }
            throw SwitchboardError(.internalError, "the journal was not verified")
        }
    }
}
