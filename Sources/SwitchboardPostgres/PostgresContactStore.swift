import Foundation
import Logging
import PostgresNIO
public import SwitchboardCore

/// Contacts, their identities, notes and merges in PostgreSQL.
public struct PostgresContactStore: Sendable {
    let database: Database

    public init(database: Database) {
        self.database = database
    }

    static let columns = """
        c.id, c.display_name, c.phone, c.email, c.username, c.language, c.tags, c.created_at, c.updated_at, c.last_seen_at,
        (SELECT coalesce(json_agg(json_build_object('channel_kind', i.channel_kind, 'external_id', i.external_id,
                 'created_at', (extract(epoch FROM i.created_at) * 1000000)::int8) ORDER BY i.created_at, i.external_id), '[]')
         FROM contact_identities i WHERE i.tenant_id = c.tenant_id AND i.contact_id = c.id)::text,
        \(Keyset.micros("c.created_at"))
        """
    typealias Row = (UUID, String?, String?, String?, String?, String?, [String], Date, Date, Date?, String, Int64)

    struct IdentityRow: Decodable {
        var channel_kind: String
        var external_id: String
        var created_at: Int64
    }

    static func contact(_ row: Row) -> Contact {
        let identities = (try? JSONDecoder().decode([IdentityRow].self, from: Data(row.10.utf8))) ?? []
        return Contact(
            id: ContactID(row.0), displayName: row.1, phone: row.2, email: row.3, username: row.4, language: row.5, tags: row.6,
            identities: identities.map {
                ContactIdentity(
                    channelKind: $0.channel_kind, externalID: $0.external_id,
                    createdAt: Date(timeIntervalSince1970: Double($0.created_at) / 1_000_000)
                )
            },
            createdAt: row.7, updatedAt: row.8, lastSeenAt: row.9
        )
    }

    /// Contacts, oldest first; `query` searches name, phone, email, username and identities.
    public func list(_ tenant: TenantID, query: String?, page: PageRequest) async throws -> Page<Contact> {
        let after = try Keyset.after(page.cursor)
        let pattern = query.map { "%" + Self.escapeLike($0) + "%" }
        let logger = database.logger
        return try await database.withTenant(tenant) { connection in
            let rows = try await connection.query(
                """
                SELECT \(unescaped: Self.columns) FROM contacts c
                WHERE c.tenant_id = \(tenant.uuid) AND \(after: after, column: "c.created_at")
                  AND (\(pattern)::text IS NULL
                       OR c.display_name ILIKE \(pattern) OR c.phone ILIKE \(pattern) OR c.email ILIKE \(pattern)
                       OR c.username ILIKE \(pattern)
                       OR EXISTS (SELECT 1 FROM contact_identities i WHERE i.tenant_id = c.tenant_id AND i.contact_id = c.id
                                  AND i.external_id ILIKE \(pattern)))
                ORDER BY c.created_at, c.id LIMIT \(page.limit + 1)
                """,
                logger: logger
            )
            var contacts: [(Contact, Int64, UUID)] = []
            for try await row in rows.decode(Row.self) { contacts.append((Self.contact(row), row.11, row.0)) }
            return Keyset.page(contacts, limit: page.limit)
        }
    }

    public func get(_ tenant: TenantID, _ id: ContactID) async throws -> Contact {
        let logger = database.logger
        return try await database.withTenant(tenant) { connection in
            try await Self.fetch(connection, tenant, id, logger: logger)
        }
    }

    static func fetch(_ connection: PostgresConnection, _ tenant: TenantID, _ id: ContactID, logger: Logger) async throws -> Contact {
        let rows = try await connection.query(
            "SELECT \(unescaped: columns) FROM contacts c WHERE c.tenant_id = \(tenant.uuid) AND c.id = \(id.uuid)", logger: logger
        )
        for try await row in rows.decode(Row.self) { return contact(row) }
        throw SwitchboardError.notFound("contact")
    }

    public func update(_ tenant: TenantID, _ id: ContactID, _ changes: ContactChanges) async throws -> Contact {
        let logger = database.logger
        return try await database.withTenant(tenant) { connection in
            let count = try await connection.integer(
                """
                WITH changed AS (
                    UPDATE contacts SET
                        display_name = CASE WHEN \(changes.displayName != nil) THEN \(changes.displayName ?? nil) ELSE display_name END,
                        phone = CASE WHEN \(changes.phone != nil) THEN \(changes.phone ?? nil) ELSE phone END,
                        email = CASE WHEN \(changes.email != nil) THEN \(changes.email ?? nil) ELSE email END,
                        language = CASE WHEN \(changes.language != nil) THEN \(changes.language ?? nil) ELSE language END,
                        tags = COALESCE(\(changes.tags), tags),
                        updated_at = now()
                    WHERE tenant_id = \(tenant.uuid) AND id = \(id.uuid) RETURNING 1)
                SELECT count(*)::int FROM changed
                """,
                logger: logger
            )
            guard count == 1 else { throw SwitchboardError.notFound("contact") }
            return try await Self.fetch(connection, tenant, id, logger: logger)
        }
    }

    /// Merges `source` into `target`: every identity, conversation, message, note and deal
    /// of the source moves to the target, the target keeps its own values and takes the
    /// source's where it has none, tags are united, the source is deleted, and the merge
    /// is recorded with what moved.
    public func merge(_ tenant: TenantID, into target: ContactID, from source: ContactID) async throws -> Contact {
        let logger = database.logger
        return try await database.withTenant(tenant) { connection in
            // Lock both, in id order so two opposite merges cannot deadlock.
            let locked = try await connection.query(
                """
                SELECT id FROM contacts WHERE tenant_id = \(tenant.uuid) AND id IN (\(target.uuid), \(source.uuid))
                ORDER BY id FOR UPDATE
                """,
                logger: logger
            )
            var found: Set<UUID> = []
            for try await id in locked.decode(UUID.self) { found.insert(id) }
            guard found.contains(target.uuid) else { throw SwitchboardError.notFound("contact") }
            guard target != source else {
                throw SwitchboardError.invalid("a contact cannot be merged into itself", field: "contact_id")
            }
            guard found.contains(source.uuid) else {
                throw SwitchboardError(.notFound, "contact to merge not found", field: "contact_id")
            }
            var moved: [String: Int] = [:]
            // Consents move with the person (the latest record per purpose stays in force).
            for table in ["contact_identities", "conversations", "messages", "notes", "deals", "consents"] {
                let rows = try await connection.query(
                    PostgresQuery(
                        unsafeSQL: """
                            WITH m AS (UPDATE \(table) SET contact_id = $1 WHERE tenant_id = $2 AND contact_id = $3 RETURNING 1)
                            SELECT count(*)::int FROM m
                            """,
                        binds: Self.binds(target.uuid, tenant.uuid, source.uuid)
                    ),
                    logger: logger
                )
                for try await count in rows.decode(Int.self) { moved[table] = count }
            }
            try await connection.query(
                """
                UPDATE contacts t SET
                    display_name = COALESCE(t.display_name, s.display_name), phone = COALESCE(t.phone, s.phone),
                    email = COALESCE(t.email, s.email), username = COALESCE(t.username, s.username),
                    language = COALESCE(t.language, s.language),
                    tags = ARRAY(SELECT DISTINCT unnest(t.tags || s.tags) ORDER BY 1),
                    last_seen_at = GREATEST(t.last_seen_at, s.last_seen_at),
                    -- A restriction of either stays: the merged contact is not processed.
                    restricted_at = LEAST(t.restricted_at, s.restricted_at), updated_at = now()
                FROM contacts s
                WHERE t.tenant_id = \(tenant.uuid) AND t.id = \(target.uuid) AND s.tenant_id = \(tenant.uuid) AND s.id = \(source.uuid)
                """,
                logger: logger
            )
            try await connection.query("DELETE FROM contacts WHERE tenant_id = \(tenant.uuid) AND id = \(source.uuid)", logger: logger)
            let movedJSON = String(decoding: try JSONEncoder().encode(moved), as: UTF8.self)
            try await connection.query(
                """
                INSERT INTO contact_merges (tenant_id, id, target_contact_id, source_contact_id, moved)
                VALUES (\(tenant.uuid), \(UUID()), \(target.uuid), \(source.uuid), \(movedJSON)::jsonb)
                """,
                logger: logger
            )
            return try await Self.fetch(connection, tenant, target, logger: logger)
        }
    }

    static func binds(_ values: UUID...) -> PostgresBindings {
        var bindings = PostgresBindings()
        for value in values { bindings.append(value) }
        return bindings
    }

    // MARK: Notes

    public func addNote(_ tenant: TenantID, contact: ContactID, body: String) async throws -> Note {
        let logger = database.logger
        return try await database.withTenant(tenant) { connection in
            _ = try await Self.fetch(connection, tenant, contact, logger: logger)
            let id = NoteID()
            let rows = try await connection.query(
                """
                INSERT INTO notes (tenant_id, id, contact_id, body) VALUES (\(tenant.uuid), \(id.uuid), \(contact.uuid), \(body))
                RETURNING created_at
                """,
                logger: logger
            )
            for try await createdAt in rows.decode(Date.self) { return Note(id: id, contactID: contact, body: body, createdAt: createdAt) }
            throw SwitchboardError(.internalError, "the note was not stored")
        }
    }

    public func notes(_ tenant: TenantID, contact: ContactID, page: PageRequest) async throws -> Page<Note> {
        let after = try Keyset.after(page.cursor)
        let logger = database.logger
        return try await database.withTenant(tenant) { connection in
            _ = try await Self.fetch(connection, tenant, contact, logger: logger)
            let rows = try await connection.query(
                """
                SELECT id, body, created_at, \(unescaped: Keyset.micros()) FROM notes
                WHERE tenant_id = \(tenant.uuid) AND contact_id = \(contact.uuid) AND \(after: after)
                ORDER BY created_at, id LIMIT \(page.limit + 1)
                """,
                logger: logger
            )
            var notes: [(Note, Int64, UUID)] = []
            for try await (id, body, createdAt, micros) in rows.decode((UUID, String, Date, Int64).self) {
                notes.append((Note(id: NoteID(id), contactID: contact, body: body, createdAt: createdAt), micros, id))
            }
            return Keyset.page(notes, limit: page.limit)
        }
    }

    static func escapeLike(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_")
    }
}
