public import Foundation
import Logging
import PostgresNIO
public import SwitchboardCore

/// Conversations and their messages in PostgreSQL.
public struct PostgresConversationStore: Sendable {
    let database: Database

    public init(database: Database) {
        self.database = database
    }

    static let columns = """
        id, channel_id, contact_id, chat_external_id, chat_kind, title, status, created_at, last_message_at, closed_at,
        \(Keyset.micros("last_message_at"))
        """
    typealias Row = (UUID, UUID, UUID, String, String, String?, String, Date, Date, Date?, Int64)

    static func conversation(_ row: Row) -> Conversation {
        Conversation(
            id: ConversationID(row.0), channelID: ChannelID(row.1), contactID: ContactID(row.2), chatExternalID: row.3,
            chatKind: row.4, title: row.5, status: Conversation.Status(rawValue: row.6) ?? .open, createdAt: row.7,
            lastMessageAt: row.8, closedAt: row.9
        )
    }

    /// Conversations, most recently active first.
    public func list(_ tenant: TenantID, filter: ConversationFilter, page: PageRequest) async throws -> Page<Conversation> {
        let after = try Keyset.after(page.cursor)
        let logger = database.logger
        return try await database.withTenant(tenant) { connection in
            let rows = try await connection.query(
                """
                SELECT \(unescaped: Self.columns) FROM conversations
                WHERE tenant_id = \(tenant.uuid)
                  AND (\(filter.status?.rawValue)::text IS NULL OR status = \(filter.status?.rawValue))
                  AND (\(filter.channelID?.uuid)::uuid IS NULL OR channel_id = \(filter.channelID?.uuid))
                  AND (\(filter.contactID?.uuid)::uuid IS NULL OR contact_id = \(filter.contactID?.uuid))
                  AND (\(after.micros)::int8 IS NULL OR (last_message_at, id) <
                       (timestamptz 'epoch' + \(after.micros)::int8 * interval '1 microsecond', \(after.id)::uuid))
                ORDER BY last_message_at DESC, id DESC LIMIT \(page.limit + 1)
                """,
                logger: logger
            )
            var conversations: [(Conversation, Int64, UUID)] = []
            for try await row in rows.decode(Row.self) { conversations.append((Self.conversation(row), row.10, row.0)) }
            return Keyset.page(conversations, limit: page.limit)
        }
    }

    public func get(_ tenant: TenantID, _ id: ConversationID) async throws -> Conversation {
        let logger = database.logger
        return try await database.withTenant(tenant) { connection in
            try await Self.fetch(connection, tenant, id, logger: logger)
        }
    }

    static func fetch(_ connection: PostgresConnection, _ tenant: TenantID, _ id: ConversationID, logger: Logger) async throws -> Conversation {
        let rows = try await connection.query(
            "SELECT \(unescaped: columns) FROM conversations WHERE tenant_id = \(tenant.uuid) AND id = \(id.uuid)", logger: logger
        )
        for try await row in rows.decode(Row.self) { return conversation(row) }
        throw SwitchboardError.notFound("conversation")
    }

    /// Closes an open conversation, or reopens a closed one. Reopening while the same chat
    /// has another open conversation is a conflict.
    public func setStatus(_ tenant: TenantID, _ id: ConversationID, _ status: Conversation.Status) async throws -> Conversation {
        let logger = database.logger
        return try await database.withTenant(tenant) { connection in
            let current = try await Self.fetch(connection, tenant, id, logger: logger)
            guard current.status != status else { return current }
            try await connection.query(
                """
                UPDATE conversations SET status = \(status.rawValue),
                    closed_at = CASE WHEN \(status.rawValue) = 'closed' THEN now() ELSE NULL END
                WHERE tenant_id = \(tenant.uuid) AND id = \(id.uuid)
                """,
                logger: logger
            )
            return try await Self.fetch(connection, tenant, id, logger: logger)
        }
    }

    /// A conversation's messages in the order they were stored.
    public func messages(_ tenant: TenantID, _ id: ConversationID, page: PageRequest) async throws -> Page<Message> {
        let afterSeq: Int64? = try page.cursor.map {
            guard let seq = Int64($0.sortKey) else { throw SwitchboardError.invalid("cursor is not one this API issued", field: "cursor") }
            return seq
        }
        let logger = database.logger
        return try await database.withTenant(tenant) { connection in
            _ = try await Self.fetch(connection, tenant, id, logger: logger)
            let rows = try await connection.query(
                """
                SELECT id, contact_id, direction, external_id, text, attachments::text, ai_generated, delivery_status, sent_at,
                       created_at, edited_at, seq
                FROM messages
                WHERE tenant_id = \(tenant.uuid) AND conversation_id = \(id.uuid) AND (\(afterSeq)::int8 IS NULL OR seq > \(afterSeq))
                ORDER BY seq LIMIT \(page.limit + 1)
                """,
                logger: logger
            )
            var messages: [(Message, Int64, UUID)] = []
            typealias Row = (UUID, UUID?, String, String?, String?, String, Bool, String?, Date?, Date, Date?, Int64)
            for try await row in rows.decode(Row.self) {
                let attachments = (try? JSONDecoder().decode([IngestEvent.Attachment].self, from: Data(row.5.utf8))) ?? []
                let message = Message(
                    id: MessageID(row.0), conversationID: id, contactID: row.1.map { ContactID($0) }, direction: row.2,
                    externalID: row.3, text: row.4, attachments: attachments, aiGenerated: row.6, deliveryStatus: row.7,
                    sentAt: row.8, createdAt: row.9, editedAt: row.10
                )
                messages.append((message, row.11, row.0))
            }
            return Keyset.page(messages, limit: page.limit)
        }
    }

    /// The earlier texts of an edited message, oldest first.
    func edits(_ tenant: TenantID, message: MessageID) async throws -> [(previousText: String?, editedAt: Date)] {
        let logger = database.logger
        return try await database.withTenant(tenant) { connection in
            let rows = try await connection.query(
                "SELECT previous_text, edited_at FROM message_edits WHERE tenant_id = \(tenant.uuid) AND message_id = \(message.uuid) ORDER BY edited_at, id",
                logger: logger
            )
            var edits: [(String?, Date)] = []
            for try await row in rows.decode((String?, Date).self) { edits.append(row) }
            return edits.map { (previousText: $0.0, editedAt: $0.1) }
        }
    }
}
