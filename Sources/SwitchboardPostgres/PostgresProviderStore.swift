public import Foundation
import Logging
import PostgresNIO
public import SwitchboardCore

/// Model providers in PostgreSQL: their settings and sealed API keys.
public struct PostgresProviderStore: Sendable {
    let database: Database

    public init(database: Database) {
        self.database = database
    }

    static let columns = "id, name, kind, base_url, region, api_key IS NOT NULL, created_at, updated_at, " + Keyset.micros()
    typealias Row = (UUID, String, String, String?, String, Bool, Date, Date, Int64)

    static func provider(_ row: Row) throws -> Provider {
        guard let kind = ProviderKind(rawValue: row.2) else { throw DatabaseError.unknown("providers.kind", row.2) }
        return Provider(
            id: ProviderID(row.0), name: row.1, kind: kind, baseURL: row.3, region: row.4,
            hasAPIKey: row.5, createdAt: row.6, updatedAt: row.7
        )
    }

    public func create(
        _ tenant: TenantID, id: ProviderID, name: String, kind: ProviderKind, baseURL: String?, region: String, sealedAPIKey: [UInt8]?
    ) async throws -> Provider {
        let logger = database.logger
        let key = sealedAPIKey.map { Data($0) }
        return try await database.withTenant(tenant) { connection in
            let rows = try await connection.query(
                """
                INSERT INTO providers (tenant_id, id, name, kind, base_url, region, api_key)
                VALUES (\(tenant.uuid), \(id.uuid), \(name), \(kind.rawValue), \(baseURL), \(region), \(key))
                RETURNING \(unescaped: Self.columns)
                """,
                logger: logger
            )
            for try await row in rows.decode(Row.self) { return try Self.provider(row) }
            throw SwitchboardError(.internalError, "the provider was not stored")
        }
    }

    public func list(_ tenant: TenantID, page: PageRequest) async throws -> Page<Provider> {
        let after = try Keyset.after(page.cursor)
        let logger = database.logger
        return try await database.withTenant(tenant) { connection in
            let rows = try await connection.query(
                """
                SELECT \(unescaped: Self.columns) FROM providers
                WHERE tenant_id = \(tenant.uuid) AND \(after: after) ORDER BY created_at, id LIMIT \(page.limit + 1)
                """,
                logger: logger
            )
            var providers: [(Provider, Int64, UUID)] = []
            for try await row in rows.decode(Row.self) { providers.append((try Self.provider(row), row.8, row.0)) }
            return Keyset.page(providers, limit: page.limit)
        }
    }

    public func get(_ tenant: TenantID, _ id: ProviderID) async throws -> Provider {
        let logger = database.logger
        return try await database.withTenant(tenant) { connection in
            try await Self.fetch(connection, tenant, id, logger: logger)
        }
    }

    static func fetch(_ connection: PostgresConnection, _ tenant: TenantID, _ id: ProviderID, logger: Logger) async throws -> Provider {
        let rows = try await connection.query(
            "SELECT \(unescaped: columns) FROM providers WHERE tenant_id = \(tenant.uuid) AND id = \(id.uuid)", logger: logger
        )
        for try await row in rows.decode(Row.self) { return try provider(row) }
        throw SwitchboardError.notFound("provider")
    }

    /// Providers with their sealed keys, for the reply worker to call.
    static func sealed(
        _ connection: PostgresConnection, _ tenant: TenantID, _ ids: [ProviderID], logger: Logger
    ) async throws -> [ProviderID: (Provider, [UInt8]?)] {
        let rows = try await connection.query(
            "SELECT \(unescaped: columns), api_key FROM providers WHERE tenant_id = \(tenant.uuid) AND id = ANY(\(ids.map(\.uuid)))",
            logger: logger
        )
        var found: [ProviderID: (Provider, [UInt8]?)] = [:]
        for try await row in rows.decode((UUID, String, String, String?, String, Bool, Date, Date, Int64, Data?).self) {
            let provider = try provider((row.0, row.1, row.2, row.3, row.4, row.5, row.6, row.7, row.8))
            found[provider.id] = (provider, row.9.map { Array($0) })
        }
        return found
    }

    public func update(_ tenant: TenantID, _ id: ProviderID, _ changes: ProviderChanges) async throws -> Provider {
        let logger = database.logger
        let setBaseURL = changes.baseURL != nil
        let baseURL: String? = changes.baseURL ?? nil
        let setKey = changes.sealedAPIKey != nil
        let key: Data? = (changes.sealedAPIKey ?? nil).map { Data($0) }
        return try await database.withTenant(tenant) { connection in
            let rows = try await connection.query(
                """
                UPDATE providers SET
                    name = COALESCE(\(changes.name), name),
                    base_url = CASE WHEN \(setBaseURL) THEN \(baseURL) ELSE base_url END,
                    region = COALESCE(\(changes.region), region),
                    api_key = CASE WHEN \(setKey) THEN \(key) ELSE api_key END,
                    updated_at = now()
                WHERE tenant_id = \(tenant.uuid) AND id = \(id.uuid)
                RETURNING \(unescaped: Self.columns)
                """,
                logger: logger
            )
            for try await row in rows.decode(Row.self) { return try Self.provider(row) }
            throw SwitchboardError.notFound("provider")
        }
    }

    /// Deletes a provider no agent uses, as its provider or a fallback; one in use is a
    /// conflict naming how many agents use it.
    public func delete(_ tenant: TenantID, _ id: ProviderID) async throws {
        let logger = database.logger
        try await database.withTenant(tenant) { connection in
            let rows = try await connection.query(
                "SELECT id FROM providers WHERE tenant_id = \(tenant.uuid) AND id = \(id.uuid) FOR UPDATE", logger: logger
            )
            var exists = false
            for try await _ in rows { exists = true }
            guard exists else { throw SwitchboardError.notFound("provider") }
            let users = try await connection.integer(
                """
                SELECT count(*)::int FROM agents
                WHERE tenant_id = \(tenant.uuid)
                  AND (provider_id = \(id.uuid) OR fallbacks @> jsonb_build_array(jsonb_build_object('provider_id', \(id.description))))
                """,
                logger: logger
            )
            guard users == 0 else {
                throw SwitchboardError(.conflict, "the provider is used by \(users) agent(s); point them elsewhere first")
            }
            try await connection.query("DELETE FROM providers WHERE tenant_id = \(tenant.uuid) AND id = \(id.uuid)", logger: logger)
        }
    }
}
