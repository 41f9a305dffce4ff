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
    /// Stores a person's message (or, with `template`, an approved template whose rendered
    /// body is `text`) and queues its send. `admit` sees the channel's kind and the platform
    /// time of the contact's last inbound message, inside the transaction: it throws when
    /// the messaging window forbids the message, and answers the platform tag it needs.
    public func postPersonMessage(
        _ tenant: TenantID, _ id: ConversationID, text: String, sentBy: UserID? = nil, template: SendTemplate? = nil,
        admit: @escaping @Sendable (_ channelKind: String, _ lastInboundAt: Date?) throws -> String? = { _, _ in nil }
    ) async throws -> Message {
        let logger = database.logger
        return try await database.withTenant(tenant) { connection in
            let conversation = try await Self.fetch(connection, tenant, id, logger: logger)
            return try await Self.insertPersonMessage(
                connection, tenant, conversation, text: text, sentBy: sentBy, template: template, handOver: true, admit: admit,
                logger: logger
            )
        }
    }

    /// Starts a conversation from the business with a template (`POST
    /// /v1/channels/{id}/outbound`): the contact of `externalID` on the channel's platform
    /// (made, with `phone`, when new), its open conversation on the channel (made when there
    /// is none) and the template message queued, in one transaction. The conversation stays
    /// with the agent: the contact's answer is the agent's to take.
    public func startConversation(
        _ tenant: TenantID, channel: ChannelID, externalID: String, phone: String?, text: String, template: SendTemplate,
        sentBy: UserID?
    ) async throws -> (conversation: Conversation, message: Message) {
        let logger = database.logger
        return try await database.withTenant(tenant) { connection in
            var kind: String?
            for try await value in try await connection.query(
                """
                SELECT kind FROM channels
                WHERE tenant_id = \(tenant.uuid) AND id = \(channel.uuid) AND deleted_at IS NULL AND enabled
                """,
                logger: logger
            ).decode(String.self) {
                kind = value
            }
            guard let kind else { throw SwitchboardError(.conflict, "the channel is deleted or disabled") }
            let candidate = UUID()
            try await connection.query(
                """
                INSERT INTO contact_identities (tenant_id, id, contact_id, channel_kind, external_id)
                VALUES (\(tenant.uuid), gen_random_uuid(), \(candidate), \(kind), \(externalID))
                ON CONFLICT (tenant_id, channel_kind, external_id) DO NOTHING
                """,
                logger: logger
            )
            var contact = candidate
            for try await found in try await connection.query(
                """
                SELECT contact_id FROM contact_identities
                WHERE tenant_id = \(tenant.uuid) AND channel_kind = \(kind) AND external_id = \(externalID)
                """,
                logger: logger
            ).decode(UUID.self) {
                contact = found
            }
            if contact == candidate {
                try await connection.query(
                    "INSERT INTO contacts (tenant_id, id, phone) VALUES (\(tenant.uuid), \(candidate), \(phone))", logger: logger
                )
            }
            try await connection.query(
                """
                INSERT INTO conversations (tenant_id, id, channel_id, contact_id, chat_external_id, chat_kind, last_message_at)
                VALUES (\(tenant.uuid), gen_random_uuid(), \(channel.uuid), \(contact), \(externalID), 'direct', now())
                ON CONFLICT (tenant_id, channel_id, chat_external_id) WHERE status = 'open' DO NOTHING
                """,
                logger: logger
            )
            var conversationID: UUID?
            for try await id in try await connection.query(
                """
                SELECT id FROM conversations
                WHERE tenant_id = \(tenant.uuid) AND channel_id = \(channel.uuid) AND chat_external_id = \(externalID) AND status = 'open'
                """,
                logger: logger
            ).decode(UUID.self) {
                conversationID = id
            }
            guard let conversationID else { throw SwitchboardError(.internalError, "the conversation could not be opened") }
            let conversation = try await Self.fetch(connection, tenant, ConversationID(conversationID), logger: logger)
            let message = try await Self.insertPersonMessage(
                connection, tenant, conversation, text: text, sentBy: sentBy, template: template, handOver: false,
                admit: { _, _ in nil }, logger: logger
            )
            return (try await Self.fetch(connection, tenant, conversation.id, logger: logger), message)
        }
    }

    /// A person's message into an open conversation, its send job, and (`handOver`) the
    /// conversation taken from the agent, in the caller's transaction.
    static func insertPersonMessage(
        _ connection: PostgresConnection, _ tenant: TenantID, _ conversation: Conversation, text: String, sentBy: UserID?,
        template: SendTemplate?, handOver: Bool, admit: @Sendable (_ channelKind: String, _ lastInboundAt: Date?) throws -> String?,
        logger: Logger
    ) async throws -> Message {
        let id = conversation.id
        guard conversation.status == .open else {
            throw SwitchboardError(.conflict, "the conversation is closed; reopen it before answering")
        }
        var channel: (kind: String, lastInboundAt: Date?)?
        for try await (kind, lastInbound) in try await connection.query(
            """
            SELECT ch.kind, cv.last_inbound_at FROM channels ch
            JOIN conversations cv ON cv.tenant_id = ch.tenant_id AND cv.channel_id = ch.id AND cv.id = \(id.uuid)
            WHERE ch.tenant_id = \(tenant.uuid) AND ch.id = \(conversation.channelID.uuid) AND ch.deleted_at IS NULL AND ch.enabled
            """,
            logger: logger
        ).decode((String, Date?).self) {
            channel = (kind, lastInbound)
        }
        guard let channel else { throw SwitchboardError(.conflict, "the conversation's channel is deleted or disabled") }
        let tag = try admit(channel.kind, channel.lastInboundAt)
        let templateJSON = try template.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }
        let messageID = MessageID()
        try await connection.query(
            """
            INSERT INTO messages (tenant_id, id, conversation_id, channel_id, direction, text, delivery_status, sent_by_user_id,
                                  send_tag, template)
            VALUES (\(tenant.uuid), \(messageID.uuid), \(id.uuid), \(conversation.channelID.uuid), 'outbound', \(text), 'pending',
                    \(sentBy?.uuid), \(tag), \(templateJSON)::jsonb)
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
        if handOver, conversation.mode == .ai {
            try await Self.setMode(connection, tenant, id, .human, reason: "person_replied", logger: logger)
        }
        return try await MessageRow.fetch(connection, tenant, messageID, logger: logger)
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
