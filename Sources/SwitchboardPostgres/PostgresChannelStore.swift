public import Foundation
public import Logging
import PostgresNIO
public import SwitchboardCore

/// Channels in PostgreSQL: their settings and sealed credentials.
public struct PostgresChannelStore: Sendable {
    let database: Database

    public init(database: Database) {
        self.database = database
    }

    static let columns = "id, tenant_id, kind, name, agent_id, enabled, credential_fields, created_at, updated_at, " + Keyset.micros()
        + ", pull_state, pull_error, pull_retry_at, pull_checked_at, pull_cursor, credentials_error, credentials_error_at, last_event_at"
    typealias Row = (
        UUID, UUID, String, String, UUID?, Bool, [String], Date, Date, Int64, String?, String?, Date?, Date?, String?, String?, Date?,
        Date?
    )

    static func channel(_ row: Row) -> SwitchboardCore.Channel {
        var channel = SwitchboardCore.Channel(
            id: ChannelID(row.0), tenantID: TenantID(row.1), kind: row.2, name: row.3, agentID: row.4, enabled: row.5,
            credentialFields: row.6, createdAt: row.7, updatedAt: row.8,
            pullState: row.10.flatMap(PullState.Phase.init(rawValue:)).map {
                PullState(phase: $0, error: row.11, retryAt: row.12, checkedAt: row.13 ?? row.8)
            },
            pullCursor: row.14
        )
        channel.credentialsError = row.15
        channel.credentialsErrorAt = row.16
        channel.lastEventAt = row.17
        return channel
    }

    public func create(
        _ tenant: TenantID, id: ChannelID, kind: String, name: String, agentID: UUID?, sealedCredentials: [UInt8],
        credentialFields: [String]
    ) async throws -> SwitchboardCore.Channel {
        let logger = database.logger
        return try await database.withTenant(tenant) { connection in
            let rows = try await connection.query(
                """
                INSERT INTO channels (tenant_id, id, kind, name, agent_id, credentials, credential_fields)
                VALUES (\(tenant.uuid), \(id.uuid), \(kind), \(name), \(agentID), \(Data(sealedCredentials)), \(credentialFields))
                RETURNING \(unescaped: Self.columns)
                """,
                logger: logger
            )
            for try await row in rows.decode(Row.self) { return Self.channel(row) }
            throw SwitchboardError(.internalError, "the channel was not stored")
        }
    }

    public func list(_ tenant: TenantID, page: PageRequest) async throws -> Page<SwitchboardCore.Channel> {
        let after = try Keyset.after(page.cursor)
        let logger = database.logger
        return try await database.withTenant(tenant) { connection in
            let rows = try await connection.query(
                """
                SELECT \(unescaped: Self.columns) FROM channels
                WHERE tenant_id = \(tenant.uuid) AND deleted_at IS NULL AND \(after: after)
                ORDER BY created_at, id LIMIT \(page.limit + 1)
                """,
                logger: logger
            )
            var channels: [(SwitchboardCore.Channel, Int64, UUID)] = []
            for try await row in rows.decode(Row.self) { channels.append((Self.channel(row), row.9, row.0)) }
            return Keyset.page(channels, limit: page.limit)
        }
    }

    public func get(_ tenant: TenantID, _ id: ChannelID) async throws -> SwitchboardCore.Channel {
        let logger = database.logger
        return try await database.withTenant(tenant) { connection in
            let rows = try await connection.query(
                "SELECT \(unescaped: Self.columns) FROM channels WHERE tenant_id = \(tenant.uuid) AND id = \(id.uuid) AND deleted_at IS NULL",
                logger: logger
            )
            for try await row in rows.decode(Row.self) { return Self.channel(row) }
            throw SwitchboardError.notFound("channel")
        }
    }

    /// The sealed credentials of a live channel, for the App to open.
    public func sealedCredentials(_ tenant: TenantID, _ id: ChannelID) async throws -> [UInt8] {
        let logger = database.logger
        return try await database.withTenant(tenant) { connection in
            let rows = try await connection.query(
                "SELECT credentials FROM channels WHERE tenant_id = \(tenant.uuid) AND id = \(id.uuid) AND deleted_at IS NULL",
                logger: logger
            )
            for try await sealed in rows.decode(Data?.self) {
                if let sealed { return Array(sealed) }
            }
            throw SwitchboardError.notFound("channel")
        }
    }

    public func update(_ tenant: TenantID, _ id: ChannelID, _ changes: ChannelChanges) async throws -> SwitchboardCore.Channel {
        let logger = database.logger
        let setAgent = changes.agentID != nil
        let agent: UUID? = changes.agentID ?? nil
        let sealed = changes.sealedCredentials.map { Data($0) }
        return try await database.withTenant(tenant) { connection in
            let rows = try await connection.query(
                """
                UPDATE channels SET
                    name = COALESCE(\(changes.name), name),
                    agent_id = CASE WHEN \(setAgent) THEN \(agent) ELSE agent_id END,
                    enabled = COALESCE(\(changes.enabled), enabled),
                    credentials = COALESCE(\(sealed), credentials),
                    credential_fields = COALESCE(\(changes.credentialFields), credential_fields),
                    credentials_error = CASE WHEN \(sealed)::bytea IS NULL THEN credentials_error END,
                    credentials_error_at = CASE WHEN \(sealed)::bytea IS NULL THEN credentials_error_at END,
                    updated_at = now()
                WHERE tenant_id = \(tenant.uuid) AND id = \(id.uuid) AND deleted_at IS NULL
                RETURNING \(unescaped: Self.columns)
                """,
                logger: logger
            )
            for try await row in rows.decode(Row.self) { return Self.channel(row) }
            throw SwitchboardError.notFound("channel")
        }
    }

    /// Deletes a channel: deliveries to it answer 404 from now on, and its credentials are
    /// wiped. The conversations it brought stay (the data-protection issue lets the tenant
    /// choose to remove them).
    public func delete(_ tenant: TenantID, _ id: ChannelID) async throws {
        let logger = database.logger
        try await database.withTenant(tenant) { connection in
            let count = try await connection.integer(
                """
                WITH gone AS (
                    UPDATE channels SET deleted_at = now(), enabled = false, credentials = NULL, updated_at = now()
                    WHERE tenant_id = \(tenant.uuid) AND id = \(id.uuid) AND deleted_at IS NULL RETURNING 1)
                SELECT count(*)::int FROM gone
                """,
                logger: logger
            )
            guard count == 1 else { throw SwitchboardError.notFound("channel") }
        }
    }

    /// Deletes a channel with the data it brought (see `delete_channel_data`); answers the
    /// counts of what went.
    public func deleteWithData(_ tenant: TenantID, _ id: ChannelID) async throws -> [String: Int] {
        guard let removed = try await database.document(
            tenant, "SELECT delete_channel_data(\(tenant.uuid), \(id.uuid))::text", as: [String: Int].self
        ) else { throw SwitchboardError.notFound("channel") }
        return removed
    }

    /// The channel of a webhook URL, before the tenant is known: the transaction may read
    /// that one channel row (policy `channel_lookup`) and nothing else.
    public func route(_ id: ChannelID) async throws -> ChannelRoute? {
        try await route(id, logger: database.logger)
    }

    public func route(_ id: ChannelID, logger: Logger) async throws -> ChannelRoute? {
        let database = self.database.logging(logger)
        return try await database.withoutScope { connection in
            try await connection.query("SELECT set_config('app.channel_id', \(id.description), true)", logger: logger)
            let rows = try await connection.query(
                "SELECT tenant_id, kind, enabled, credentials FROM channels WHERE id = \(id.uuid) AND deleted_at IS NULL",
                logger: logger
            )
            for try await (tenant, kind, enabled, sealed) in rows.decode((UUID, String, Bool, Data?).self) {
                guard let sealed else { return nil }
                return ChannelRoute(channelID: id, tenantID: TenantID(tenant), kind: kind, enabled: enabled, sealedCredentials: Array(sealed))
            }
            return nil
        }
    }
}

extension PostgresChannelStore: ChannelDirectory {}

extension PostgresChannelStore: PulledChannelDirectory {
    public func pulledChannels(kinds: [String], logger: Logger) async throws -> [PulledChannel] {
        let database = self.database.logging(logger)
        return try await database.withoutScope { connection in
            var found: [PulledChannel] = []
            let rows = try await connection.query(
                "SELECT tenant_id, id, kind, enabled, credentials, pull_cursor, pull_owner, pull_lease_until FROM pulled_channels(\(kinds))",
                logger: logger
            )
            for try await (tenant, id, kind, enabled, sealed, cursor, owner, until) in rows.decode(
                (UUID, UUID, String, Bool, Data, String?, String?, Date?).self
            ) {
                let route = ChannelRoute(
                    channelID: ChannelID(id), tenantID: TenantID(tenant), kind: kind, enabled: enabled, sealedCredentials: Array(sealed)
                )
                found.append(PulledChannel(route: route, cursor: cursor, owner: owner, leaseUntil: until))
            }
            return found
        }
    }

    public func claimPulledChannel(_ route: ChannelRoute, owner: String, now: Date, until: Date, logger: Logger) async throws -> PullClaim? {
        let database = self.database.logging(logger)
        return try await database.withTenant(route.tenantID) { connection in
            let rows = try await connection.query(
                "SELECT pull_cursor FROM claim_pulled_channel(\(route.tenantID.uuid), \(route.channelID.uuid), \(owner), \(now), \(until))",
                logger: logger
            )
            for try await cursor in rows.decode(String?.self) { return PullClaim(cursor: cursor) }
            return nil
        }
    }

    public func releasePulledChannel(_ route: ChannelRoute, owner: String, logger: Logger) async throws {
        let database = self.database.logging(logger)
        try await database.withTenant(route.tenantID) { connection in
            try await connection.perform(
                """
                UPDATE channels SET pull_lease_until = NULL
                WHERE tenant_id = \(route.tenantID.uuid) AND id = \(route.channelID.uuid) AND pull_owner = \(owner)
                """,
                logger: logger
            )
        }
    }

    public func savePullCursor(_ route: ChannelRoute, cursor: String, owner: String, logger: Logger) async throws {
        let database = self.database.logging(logger)
        try await database.withTenant(route.tenantID) { connection in
            try await connection.perform(
                """
                UPDATE channels SET pull_cursor = \(cursor)
                WHERE tenant_id = \(route.tenantID.uuid) AND id = \(route.channelID.uuid) AND pull_owner = \(owner)
                """,
                logger: logger
            )
        }
    }

    public func recordPullState(_ route: ChannelRoute, _ state: PullState, owner: String, logger: Logger) async throws {
        let database = self.database.logging(logger)
        let reason = state.error.map { String($0.prefix(1000)) }
        try await database.withTenant(route.tenantID) { connection in
            try await connection.perform(
                """
                UPDATE channels SET pull_state = \(state.phase.rawValue), pull_error = \(reason), pull_retry_at = \(state.retryAt),
                    pull_checked_at = \(state.checkedAt)
                WHERE tenant_id = \(route.tenantID.uuid) AND id = \(route.channelID.uuid) AND pull_owner = \(owner)
                """,
                logger: logger
            )
        }
    }
}
