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
        \(Keyset.micros("last_message_at")), mode, handoff_reason, handoff_at, assignee_user_id
        """
    typealias Row = (UUID, UUID, UUID, String, String, String?, String, Date, Date, Date?, Int64, String, String?, Date?, UUID?)

    static func conversation(_ row: Row) -> Conversation {
        Conversation(
            id: ConversationID(row.0), channelID: ChannelID(row.1), contactID: ContactID(row.2), chatExternalID: row.3,
            chatKind: row.4, title: row.5, status: Conversation.Status(rawValue: row.6) ?? .open, createdAt: row.7,
            lastMessageAt: row.8, closedAt: row.9, mode: Conversation.Mode(rawValue: row.11) ?? .ai, handoffReason: row.12,
            handoffAt: row.13, assigneeUserID: row.14.map { UserID($0) }
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
                  AND (\(filter.mode?.rawValue)::text IS NULL OR mode = \(filter.mode?.rawValue))
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

    /// Hands a conversation to a person (`human`) or back to the agent (`ai`).
    public func setMode(_ tenant: TenantID, _ id: ConversationID, _ mode: Conversation.Mode, reason: String?) async throws -> Conversation {
        let logger = database.logger
        return try await database.withTenant(tenant) { connection in
            try await Self.setMode(connection, tenant, id, mode, reason: reason, logger: logger)
            return try await Self.fetch(connection, tenant, id, logger: logger)
        }
    }

    static func setMode(
        _ connection: PostgresConnection, _ tenant: TenantID, _ id: ConversationID, _ mode: Conversation.Mode, reason: String?,
        logger: Logger
    ) async throws {
        let human = mode == .human
        try await connection.query(
            """
            UPDATE conversations SET mode = \(mode.rawValue),
                handoff_reason = CASE WHEN \(human) THEN \(reason) ELSE NULL END,
                handoff_at = CASE WHEN \(human) THEN now() ELSE NULL END
            WHERE tenant_id = \(tenant.uuid) AND id = \(id.uuid) AND mode <> \(mode.rawValue)
            """,
            logger: logger
        )
    }

    /// A person's answer: stored as an outbound message with a send job, and the
    /// conversation goes to `human` so the agent does not talk over the person.
    public func postPersonMessage(_ tenant: TenantID, _ id: ConversationID, text: String, sentBy: UserID? = nil) async throws -> Message {
        let logger = database.logger
        return try await database.withTenant(tenant) { connection in
            let conversation = try await Self.fetch(connection, tenant, id, logger: logger)
            guard conversation.status == .open else {
                throw SwitchboardError(.conflict, "the conversation is closed; reopen it before answering")
            }
            let live = try await connection.integer(
                """
                SELECT count(*)::int FROM channels
                WHERE tenant_id = \(tenant.uuid) AND id = \(conversation.channelID.uuid) AND deleted_at IS NULL AND enabled
                """,
                logger: logger
            )
            guard live == 1 else { throw SwitchboardError(.conflict, "the conversation's channel is deleted or disabled") }
            let messageID = MessageID()
            try await connection.query(
                """
                INSERT INTO messages (tenant_id, id, conversation_id, channel_id, direction, text, delivery_status, sent_by_user_id)
                VALUES (\(tenant.uuid), \(messageID.uuid), \(id.uuid), \(conversation.channelID.uuid), 'outbound', \(text), 'pending',
                        \(sentBy?.uuid))
                """,
                logger: logger
            )
            try await connection.query(
                "INSERT INTO jobs (tenant_id, id, kind, message_id) VALUES (\(tenant.uuid), gen_random_uuid(), 'send', \(messageID.uuid))",
                logger: logger
            )
            try await connection.query(
                "UPDATE conversations SET last_message_at = now() WHERE tenant_id = \(tenant.uuid) AND id = \(id.uuid)",
                logger: logger
            )
            if conversation.mode == .ai {
                try await Self.setMode(connection, tenant, id, .human, reason: "person_replied", logger: logger)
            }
            return try await MessageRow.fetch(connection, tenant, messageID, logger: logger)
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
                SELECT \(unescaped: MessageRow.columns) FROM messages
                WHERE tenant_id = \(tenant.uuid) AND conversation_id = \(id.uuid) AND (\(afterSeq)::int8 IS NULL OR seq > \(afterSeq))
                ORDER BY seq LIMIT \(page.limit + 1)
                """,
                logger: logger
            )
            var messages: [(Message, Int64, UUID)] = []
            for try await row in rows {
                let (message, seq) = try MessageRow.decode(row)
                messages.append((message, seq, message.id.uuid))
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
