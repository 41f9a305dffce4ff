import Foundation
import Logging
import PostgresNIO
public import SwitchboardCore

/// Deals with contacts in PostgreSQL.
public struct PostgresDealStore: Sendable {
    let database: Database

    public init(database: Database) {
        self.database = database
    }

    static let columns = "id, contact_id, title, stage, amount_minor, currency, created_at, updated_at, " + Keyset.micros()
    typealias Row = (UUID, UUID, String, String, Int64?, String?, Date, Date, Int64)

    static func deal(_ row: Row) -> Deal {
        Deal(
            id: DealID(row.0), contactID: ContactID(row.1), title: row.2, stage: row.3, amountMinor: row.4, currency: row.5,
            createdAt: row.6, updatedAt: row.7
        )
    }

    public func create(
        _ tenant: TenantID, contact: ContactID, title: String, stage: String, amountMinor: Int64?, currency: String?
    ) async throws -> Deal {
        let logger = database.logger
        return try await database.withTenant(tenant) { connection in
            try await Self.requireContact(connection, tenant, contact, logger: logger)
            let rows = try await connection.query(
                """
                INSERT INTO deals (tenant_id, id, contact_id, title, stage, amount_minor, currency)
                VALUES (\(tenant.uuid), \(UUID()), \(contact.uuid), \(title), \(stage), \(amountMinor), \(currency))
                RETURNING \(unescaped: Self.columns)
                """,
                logger: logger
            )
            for try await row in rows.decode(Row.self) { return Self.deal(row) }
            throw SwitchboardError(.internalError, "the deal was not stored")
        }
    }

    public func list(_ tenant: TenantID, contact: ContactID?, page: PageRequest) async throws -> Page<Deal> {
        let after = try Keyset.after(page.cursor)
        let logger = database.logger
        return try await database.withTenant(tenant) { connection in
            let rows = try await connection.query(
                """
                SELECT \(unescaped: Self.columns) FROM deals
                WHERE tenant_id = \(tenant.uuid) AND (\(contact?.uuid)::uuid IS NULL OR contact_id = \(contact?.uuid)) AND \(after: after)
                ORDER BY created_at, id LIMIT \(page.limit + 1)
                """,
                logger: logger
            )
            var deals: [(Deal, Int64, UUID)] = []
            for try await row in rows.decode(Row.self) { deals.append((Self.deal(row), row.8, row.0)) }
            return Keyset.page(deals, limit: page.limit)
        }
    }

    public func get(_ tenant: TenantID, _ id: DealID) async throws -> Deal {
        let logger = database.logger
        return try await database.withTenant(tenant) { connection in
            let rows = try await connection.query(
                "SELECT \(unescaped: Self.columns) FROM deals WHERE tenant_id = \(tenant.uuid) AND id = \(id.uuid)", logger: logger
            )
            for try await row in rows.decode(Row.self) { return Self.deal(row) }
            throw SwitchboardError.notFound("deal")
        }
    }

    public func update(_ tenant: TenantID, _ id: DealID, _ changes: DealChanges) async throws -> Deal {
        let logger = database.logger
        let setAmount = changes.amount != nil
        let amount = changes.amount ?? nil
        return try await database.withTenant(tenant) { connection in
            if let contact = changes.contactID { try await Self.requireContact(connection, tenant, contact, logger: logger) }
            let rows = try await connection.query(
                """
                UPDATE deals SET
                    title = COALESCE(\(changes.title), title), stage = COALESCE(\(changes.stage), stage),
                    contact_id = COALESCE(\(changes.contactID?.uuid), contact_id),
                    amount_minor = CASE WHEN \(setAmount) THEN \(amount?.minor) ELSE amount_minor END,
                    currency = CASE WHEN \(setAmount) THEN \(amount?.currency) ELSE currency END,
                    updated_at = now()
                WHERE tenant_id = \(tenant.uuid) AND id = \(id.uuid)
                RETURNING \(unescaped: Self.columns)
                """,
                logger: logger
            )
            for try await row in rows.decode(Row.self) { return Self.deal(row) }
            throw SwitchboardError.notFound("deal")
        }
    }

    public func delete(_ tenant: TenantID, _ id: DealID) async throws {
        let logger = database.logger
        try await database.withTenant(tenant) { connection in
            let count = try await connection.integer(
                "WITH d AS (DELETE FROM deals WHERE tenant_id = \(tenant.uuid) AND id = \(id.uuid) RETURNING 1) SELECT count(*)::int FROM d",
                logger: logger
            )
            guard count == 1 else { throw SwitchboardError.notFound("deal") }
        }
    }

    static func requireContact(_ connection: PostgresConnection, _ tenant: TenantID, _ contact: ContactID, logger: Logger) async throws {
        let rows = try await connection.query(
            "SELECT 1 FROM contacts WHERE tenant_id = \(tenant.uuid) AND id = \(contact.uuid)", logger: logger
        )
        for try await _ in rows { return }
        throw SwitchboardError(.notFound, "contact not found", field: "contact_id")
    }
}
