public import Foundation
public import Logging
import PostgresNIO
public import SwitchboardCore

/// The contacts whose profiles are looked up once (`ProfileLookups`), across tenants
/// through `profiles_due` (SECURITY DEFINER), each answer kept under its tenant's scope.
public struct PostgresProfileStore: ProfileStore {
    let database: Database

    public init(database: Database) { self.database = database }

    public func dueProfiles(now: Date, limit: Int, lease: Duration, logger: Logger) async throws -> [DueProfile] {
        let database = self.database.logging(logger)
        let seconds = Double(lease.components.seconds)
        return try await database.withoutScope { connection in
            var due: [DueProfile] = []
            let rows = try await connection.query(
                """
                SELECT tenant_id, contact_id, channel_id, kind, credentials, external_id, attempts
                FROM profiles_due(\(now), \(Int32(min(max(limit, 1), 100))), make_interval(secs => \(seconds)))
                """,
                logger: logger
            )
            for try await (tenant, contact, channel, kind, sealed, external, attempts) in rows.decode(
                (UUID, UUID, UUID, String, Data, String?, Int32).self
            ) {
                due.append(DueProfile(
                    tenantID: TenantID(tenant), contactID: ContactID(contact), channelID: ChannelID(channel), channelKind: kind,
                    sealedCredentials: Array(sealed), externalID: external, attempts: Int(attempts)
                ))
            }
            return due
        }
    }

    public func recordProfile(_ due: DueProfile, name: String?, username: String?, retryAt: Date?, logger: Logger) async throws {
        let database = self.database.logging(logger)
        try await database.withTenant(due.tenantID) { connection in
            if let retryAt {
                try await connection.query(
                    """
                    UPDATE contacts SET profile_retry_at = \(retryAt), profile_attempts = profile_attempts + 1
                    WHERE tenant_id = \(due.tenantID.uuid) AND id = \(due.contactID.uuid)
                    """,
                    logger: logger
                )
            } else {
                try await connection.query(
                    """
                    UPDATE contacts SET profile_retry_at = NULL, profile_attempts = profile_attempts + 1,
                        display_name = COALESCE(display_name, left(\(name), 200)), username = COALESCE(username, left(\(username), 200))
                    WHERE tenant_id = \(due.tenantID.uuid) AND id = \(due.contactID.uuid)
                    """,
                    logger: logger
                )
            }
        }
    }
}
