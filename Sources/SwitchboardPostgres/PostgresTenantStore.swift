import Foundation
import Logging
import PostgresNIO
public import SwitchboardCore

/// Tenants and API keys in PostgreSQL.
public struct PostgresTenantStore: TenantStore {
    let database: Database

    public init(database: Database) {
        self.database = database
    }

    public func createTenant(name: String, trialCredits: Credits, firstKey: NewAPIKey) async throws -> (Tenant, APIKey) {
        let tenantID = TenantID()
        let logger = database.logger
        return try await database.withOperator { connection in
            let rows = try await connection.query(
                """
                INSERT INTO tenants (id, name, trial_credits_micros) VALUES (\(tenantID.uuid), \(name), \(trialCredits.micros))
                RETURNING created_at
                """,
                logger: logger
            )
            var createdAt = Date()
            for try await value in rows.decode(Date.self) { createdAt = value }
            let tenant = Tenant(id: tenantID, name: name, trialCredits: trialCredits, createdAt: createdAt)
            // The key belongs to the new tenant: scope the rest of the transaction to it.
            try await connection.query("SELECT set_config('app.tenant_id', \(tenantID.description), true)", logger: logger)
            // Its credit account opens with it, with the trial grant posted to the ledger.
            try await connection.perform("SELECT credit_open_account(\(tenantID.uuid), \(trialCredits.micros))", logger: logger)
            let key = try await Self.insertKey(connection, tenantID, firstKey, logger: database.logger)
            return (tenant, key)
        }
    }

    public func tenants(page: PageRequest) async throws -> Page<Tenant> {
        let after = try Keyset.after(page.cursor)
        let logger = database.logger
        return try await database.withOperator { connection in
            let rows = try await connection.query(
                """
                SELECT id, name, trial_credits_micros, created_at, \(unescaped: Keyset.micros()) FROM tenants
                WHERE \(after: after)
                ORDER BY created_at, id LIMIT \(page.limit + 1)
                """,
                logger: logger
            )
            var tenants: [(Tenant, Int64, UUID)] = []
            for try await (id, name, trial, createdAt, micros) in rows.decode((UUID, String, Int64, Date, Int64).self) {
                tenants.append((Tenant(id: TenantID(id), name: name, trialCredits: Credits(micros: trial), createdAt: createdAt), micros, id))
            }
            return Keyset.page(tenants, limit: page.limit)
        }
    }

    public func tenant(_ tenant: TenantID) async throws -> Tenant {
        let logger = database.logger
        return try await database.withTenant(tenant) { connection in
            let rows = try await connection.query(
                "SELECT name, trial_credits_micros, created_at FROM tenants WHERE id = \(tenant.uuid)", logger: logger
            )
            for try await (name, trial, createdAt) in rows.decode((String, Int64, Date).self) {
                return Tenant(id: tenant, name: name, trialCredits: Credits(micros: trial), createdAt: createdAt)
            }
            throw SwitchboardError.notFound("tenant")
        }
    }

    /// Deletes the tenant row — its foreign keys cascade to every table that has one — and
    /// the rows of the tables that hold a tenant's id without a foreign key (the job queue,
    /// idempotency keys), all in one transaction.
    public func deleteTenant(_ tenant: TenantID) async throws {
        let logger = database.logger
        try await database.withOperator { connection in
            try await connection.query("SELECT set_config('app.tenant_id', \(tenant.description), true)", logger: logger)
            try await connection.query("DELETE FROM jobs WHERE tenant_id = \(tenant.uuid)", logger: logger)
            try await connection.query("DELETE FROM idempotency_keys WHERE scope = \(tenant.uuid)", logger: logger)
            let deleted = try await connection.integer(
                "WITH gone AS (DELETE FROM tenants WHERE id = \(tenant.uuid) RETURNING 1) SELECT count(*)::int FROM gone", logger: logger
            )
            guard deleted == 1 else { throw SwitchboardError.notFound("tenant") }
        }
    }

    public func createAPIKey(_ tenant: TenantID, _ key: NewAPIKey) async throws -> APIKey {
        let logger = database.logger
        return try await database.withTenant(tenant) { connection in
            try await Self.insertKey(connection, tenant, key, logger: logger)
        }
    }

    public func apiKeys(_ tenant: TenantID, page: PageRequest) async throws -> Page<APIKey> {
        let after = try Keyset.after(page.cursor)
        let logger = database.logger
        return try await database.withTenant(tenant) { connection in
            let rows = try await connection.query(
                """
                SELECT \(unescaped: Self.keyColumns) FROM api_keys
                WHERE tenant_id = \(tenant.uuid)
                  AND \(after: after)
                ORDER BY created_at, id LIMIT \(page.limit + 1)
                """,
                logger: logger
            )
            var keys: [(APIKey, Int64, UUID)] = []
            for try await row in rows.decode(KeyRow.self) { keys.append((Self.key(row), row.7, row.0)) }
            return Keyset.page(keys, limit: page.limit)
        }
    }

    public func revokeAPIKey(_ tenant: TenantID, _ id: APIKeyID) async throws -> APIKey {
        let logger = database.logger
        return try await database.withTenant(tenant) { connection in
            // Lock the tenant's keys so two revocations cannot each leave the other as the last.
            let rows = try await connection.query(
                """
                SELECT \(unescaped: Self.keyColumns) FROM api_keys WHERE tenant_id = \(tenant.uuid)
                ORDER BY created_at, id FOR UPDATE
                """,
                logger: logger
            )
            var keys: [APIKey] = []
            for try await row in rows.decode(KeyRow.self) { keys.append(Self.key(row)) }
            guard let key = keys.first(where: { $0.id == id }) else { throw SwitchboardError.notFound("API key") }
            guard key.isActive else { return key }
            guard keys.contains(where: { $0.isActive && $0.id != id }) else {
                throw SwitchboardError(.conflict, "this is the tenant's last active API key; create another before revoking it")
            }
            let updated = try await connection.query(
                """
                UPDATE api_keys SET revoked_at = now() WHERE tenant_id = \(tenant.uuid) AND id = \(id.uuid)
                RETURNING \(unescaped: Self.keyColumns)
                """,
                logger: logger
            )
            for try await row in updated.decode(KeyRow.self) { return Self.key(row) }
            throw SwitchboardError.notFound("API key")
        }
    }

    public func authenticate(keyHash: [UInt8]) async throws -> TenantPrincipal? {
        let hex = keyHash.map { String(format: "%02x", $0) }.joined()
        let logger = database.logger
        return try await database.withoutScope { connection in
            try await connection.query("SELECT set_config('app.api_key_hash', \(hex), true)", logger: logger)
            let rows = try await connection.query(
                """
                SELECT tenant_id, id, last_used_at, scopes, expires_at <= now(), rate_limit_per_minute FROM api_keys
                WHERE key_hash = \(Data(keyHash)) AND revoked_at IS NULL
                """,
                logger: logger
            )
            var found: (UUID, UUID, Date?, [String], Bool?, Int32?)?
            for try await row in rows.decode((UUID, UUID, Date?, [String], Bool?, Int32?).self) { found = row }
            guard let (tenantID, keyID, lastUsed, scopeNames, expired, limit) = found else { return nil }
            if expired == true { throw SwitchboardError(.unauthorized, "the API key has expired") }
            // Record use at most once a minute per key: a write per request would cost more
            // than the request.
            let needsTenant = lastUsed.map({ Date().timeIntervalSince($0) > 60 }) ?? true || limit != nil
            if needsTenant {
                try await connection.query("SELECT set_config('app.tenant_id', \(tenantID.uuidString.lowercased()), true)", logger: logger)
            }
            if lastUsed.map({ Date().timeIntervalSince($0) > 60 }) ?? true {
                try await connection.query(
                    "UPDATE api_keys SET last_used_at = now() WHERE tenant_id = \(tenantID) AND id = \(keyID)", logger: logger
                )
            }
            var rate: KeyRate?
            if let limit {
                // A fixed one-minute window, one row per key: the request that opens a new
                // minute starts the count again.
                let counted = try await connection.query(
                    """
                    INSERT INTO api_key_rate AS r (tenant_id, key_id, window_start, count)
                    VALUES (\(tenantID), \(keyID), date_trunc('minute', now()), 1)
                    ON CONFLICT (tenant_id, key_id) DO UPDATE
                    SET count = CASE WHEN r.window_start = EXCLUDED.window_start THEN r.count + 1 ELSE 1 END,
                        window_start = EXCLUDED.window_start
                    RETURNING count, window_start + interval '1 minute'
                    """,
                    logger: logger
                )
                for try await (count, ends) in counted.decode((Int32, Date).self) {
                    rate = KeyRate(limit: Int(limit), count: Int(count), windowEnds: ends)
                }
            }
            return TenantPrincipal(
                tenantID: TenantID(tenantID), apiKeyID: APIKeyID(keyID), scopes: Set(scopeNames.compactMap(Scope.init(rawValue:))), rate: rate
            )
        }
    }

    // MARK: Rows

    static let keyColumns = "id, tenant_id, name, prefix, created_at, last_used_at, revoked_at, " + Keyset.micros()
        + ", scopes, expires_at, rate_limit_per_minute"
    typealias KeyRow = (UUID, UUID, String, String, Date, Date?, Date?, Int64, [String], Date?, Int32?)

    static func key(_ row: KeyRow) -> APIKey {
        APIKey(
            id: APIKeyID(row.0), tenantID: TenantID(row.1), name: row.2, prefix: row.3,
            createdAt: row.4, lastUsedAt: row.5, revokedAt: row.6,
            scopes: Set(row.8.compactMap(Scope.init(rawValue:))), expiresAt: row.9, rateLimitPerMinute: row.10.map(Int.init)
        )
    }

    static func insertKey(_ connection: PostgresConnection, _ tenant: TenantID, _ key: NewAPIKey, logger: Logger) async throws -> APIKey {
        let rows = try await connection.query(
            """
            INSERT INTO api_keys (tenant_id, id, name, prefix, key_hash, scopes, expires_at, rate_limit_per_minute)
            VALUES (\(tenant.uuid), \(key.id.uuid), \(key.name), \(key.prefix), \(Data(key.hash)),
                    \(key.scopes.map(\.rawValue).sorted()), \(key.expiresAt), \(key.rateLimitPerMinute.map(Int32.init)))
            RETURNING \(unescaped: keyColumns)
            """,
            logger: logger
        )
        for try await row in rows.decode(KeyRow.self) { return Self.key(row) }
        throw SwitchboardError(.internalError, "the key was not stored")
    }
}
