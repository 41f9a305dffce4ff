public import Foundation
import Logging
import PostgresNIO
public import SwitchboardCore

/// The inbox's views of a person's work.
public enum InboxView: String, CaseIterable, Sendable, Hashable {
    /// Open and assigned to the viewer.
    case mine
    /// Open, assigned to no one.
    case unassigned
    /// Open and answered by a person (`mode = human`).
    case handedOff = "handed_off"
    /// Open and answered by the agent.
    case ai
    case closed
    case all

    /// The view's predicate on `conversations c`; constant SQL, so each view's statement
    /// reads along its own partial index (0020). `mine` compares with the viewer's id.
    var predicate: String {
        switch self {
        case .mine: "c.status = 'open' AND c.assignee_user_id IS NOT NULL"
        case .unassigned: "c.status = 'open' AND c.assignee_user_id IS NULL"
        case .handedOff: "c.status = 'open' AND c.mode = 'human'"
        case .ai: "c.status = 'open' AND c.mode = 'ai'"
        case .closed: "c.status = 'closed'"
        case .all: "true"
        }
    }
}

/// What an inbox list shows.
public struct InboxFilter: Sendable, Hashable {
    /// The longest search text taken; longer is cut.
    public static let maximumSearch = 200

    public var view: InboxView
    public var channelID: ChannelID?
    /// Matched case-insensitively against the contact's name, phone, email, username and
    /// identities, and the text of the conversation's latest messages.
    public var search: String?

    public init(view: InboxView = .all, channelID: ChannelID? = nil, search: String? = nil) {
        self.view = view
        self.channelID = channelID
        let trimmed = search?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        self.search = trimmed.isEmpty ? nil : String(trimmed.prefix(Self.maximumSearch))
    }
}

/// One line of the inbox list.
public struct InboxRow: Sendable, Hashable {
    public var id: ConversationID
    public var channelID: ChannelID
    public var channelName: String
    public var channelKind: String
    public var contactID: ContactID
    public var contactName: String?
    public var title: String?
    public var status: String
    public var mode: String
    public var assigneeID: UserID?
    public var assigneeName: String?
    public var lastMessageAt: Date
    /// The last message's first 140 characters (or what it attached), and its direction.
    public var preview: String?
    public var previewDirection: String?
    /// Inbound messages after what the viewer has read, at most ``PostgresInboxStore/unreadCap``.
    public var unread: Int
}

/// One message as the conversation page shows it.
public struct InboxMessage: Sendable, Hashable {
    public struct Edit: Sendable, Hashable, Decodable {
        public var previousText: String?
        public var editedAt: String
        enum CodingKeys: String, CodingKey { case previousText = "previous_text", editedAt = "edited_at" }
    }

    public var id: MessageID
    public var seq: Int64
    public var direction: String
    public var text: String?
    /// The stored JSON array of attachments (kind, reference, mime_type, name, details).
    public var attachmentsJSON: String
    public var aiGenerated: Bool
    public var deliveryStatus: String?
    public var deliveryError: String?
    public var replyStatus: String?
    public var replyError: String?
    public var sentByUserID: UserID?
    public var sentByName: String?
    public var sentByEmail: String?
    public var createdAt: Date
    public var editedAt: Date?
    /// The text before each edit, oldest first (at most 20).
    public var edits: [Edit]
    /// When the contact withdrew it; the platform tag a person's answer went with.
    public var deletedAt: Date?
    public var sendTag: String?
}

/// The conversation page: its header, latest messages and the contact's side panel.
public struct InboxConversation: Sendable {
    public struct Identity: Sendable, Hashable { public var channelKind: String; public var externalID: String }
    public struct Consent: Sendable, Hashable { public var purpose: String; public var granted: Bool; public var recordedAt: Date }
    public struct Deal: Sendable, Hashable {
        public var id: DealID; public var title: String; public var stage: String; public var amountMinor: Int64?; public var currency: String?
    }
    public struct Note: Sendable, Hashable { public var id: UUID; public var body: String; public var createdAt: Date }

    public var id: ConversationID
    public var channelID: ChannelID
    public var channelName: String
    public var channelKind: String
    public var title: String?
    public var status: String
    public var mode: String
    public var handoffReason: String?
    public var assigneeID: UserID?
    public var assigneeName: String?
    public var contactID: ContactID
    public var contactName: String?
    public var contactPhone: String?
    public var contactEmail: String?
    public var contactUsername: String?
    public var contactLanguage: String?
    public var contactTags: [String]
    public var contactRestricted: Bool
    public var messages: [InboxMessage]
    public var identities: [Identity]
    public var consents: [Consent]
    public var deals: [Deal]
    public var notes: [Note]
}

/// A person of the tenant who may be assigned a conversation.
public struct Teammate: Sendable, Hashable {
    public var id: UserID
    public var name: String?
    public var email: String
    public var role: String
}

/// The inbox read model: lists by view with unread counts, the conversation page, and
/// assignment. Every statement runs in the tenant's scope (row-level security backs it).
public struct PostgresInboxStore: Sendable {
    let database: Database

    /// Unread counts stop here (the badge shows `99+`): counting is bounded.
    public static let unreadCap = 99
    /// View counts stop here (`999+`).
    public static let countCap = 999
    /// A search looks through this many of the view's most recently active conversations
    /// after the cursor (no trigram index: see 0020), and in each at its latest
    /// ``searchMessages`` messages.
    public static let searchWindow = 1000
    public static let searchMessages = 5
    /// The most messages a conversation page shows.
    public static let maximumMessages = 200

    public init(database: Database) {
        self.database = database
    }

    /// Turns JIT off for the transaction. The inbox's statements run in a few milliseconds,
    /// but their laterals' estimates (a search branch that a one-time filter skips) pass
    /// `jit_above_cost`, and compiling them cost ~35 ms a call (measured: the list went from
    /// 39 ms to a few at p50 without it).
    static func withoutJIT(_ connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("SELECT set_config('jit', 'off', true)", logger: logger)
    }

    /// `%text%` for ILIKE, with the pattern's own characters escaped.
    static func pattern(_ search: String) -> String {
        var escaped = ""
        for character in search {
            if character == "\\" || character == "%" || character == "_" { escaped.append("\\") }
            escaped.append(character)
        }
        return "%\(escaped)%"
    }

    public func list(_ tenant: TenantID, viewer: UserID?, filter: InboxFilter, page: PageRequest) async throws -> Page<InboxRow> {
        let after = try Keyset.after(page.cursor)
        let logger = database.logger
        let viewerID = viewer?.uuid
        let channel = filter.channelID?.uuid
        let limit = page.limit
        let pattern = filter.search.map(Self.pattern)
        return try await database.withTenant(tenant) { connection in
            try await Self.withoutJIT(connection, logger: logger)
            let notMine = filter.view != .mine
            let query: PostgresQuery = """
                SELECT c.id, c.channel_id, ch.name, ch.kind, c.contact_id, ct.display_name, c.title, c.status, c.mode,
                       c.assignee_user_id, COALESCE(u.name, u.email), c.last_message_at, \(unescaped: Keyset.micros("c.last_message_at")),
                       lm.direction,
                       COALESCE(left(lm.text, 140),
                                CASE WHEN jsonb_array_length(lm.attachments) > 0 THEN '[' || COALESCE(lm.attachments->0->>'kind', 'attachment') || ']' END),
                       (SELECT count(*)::int FROM (
                           SELECT 1 FROM messages m
                           WHERE m.tenant_id = c.tenant_id AND m.conversation_id = c.id AND m.direction = 'inbound'
                             AND m.seq > COALESCE((SELECT r.read_seq FROM conversation_reads r
                                                   WHERE r.tenant_id = c.tenant_id AND r.user_id = \(viewerID)::uuid
                                                     AND r.conversation_id = c.id), 0)
                           LIMIT \(Self.unreadCap)) unread)
                FROM (
                    SELECT c.* FROM (
                        SELECT c.* FROM conversations c
                        WHERE c.tenant_id = \(tenant.uuid) AND \(unescaped: filter.view.predicate)
                          AND (\(notMine) OR c.assignee_user_id = \(viewerID)::uuid)
                          AND (\(channel)::uuid IS NULL OR c.channel_id = \(channel))
                          AND (\(after.micros)::int8 IS NULL OR (c.last_message_at, c.id) <
                               (timestamptz 'epoch' + \(after.micros)::int8 * interval '1 microsecond', \(after.id)::uuid))
                        ORDER BY c.last_message_at DESC, c.id DESC
                        LIMIT \(pattern == nil ? limit + 1 : Self.searchWindow)
                    ) c
                    -- Each window row is checked by its own lookups (laterals, never a scan of
                    -- the tenant's contacts or identities); none run without a search.
                    JOIN contacts k ON k.tenant_id = c.tenant_id AND k.id = c.contact_id
                    LEFT JOIN LATERAL (
                        SELECT true AS hit FROM contact_identities i
                        WHERE \(pattern)::text IS NOT NULL AND i.tenant_id = c.tenant_id AND i.contact_id = c.contact_id
                          AND i.external_id ILIKE \(pattern)
                        LIMIT 1
                    ) ih ON true
                    LEFT JOIN LATERAL (
                        SELECT true AS hit FROM (
                            SELECT m.text FROM messages m
                            WHERE \(pattern)::text IS NOT NULL AND m.tenant_id = c.tenant_id AND m.conversation_id = c.id
                            ORDER BY m.seq DESC LIMIT \(Self.searchMessages)
                        ) mm
                        WHERE mm.text ILIKE \(pattern)
                        LIMIT 1
                    ) mh ON true
                    WHERE \(pattern)::text IS NULL
                       OR k.display_name ILIKE \(pattern) OR k.phone ILIKE \(pattern) OR k.email ILIKE \(pattern)
                       OR k.username ILIKE \(pattern) OR ih.hit OR mh.hit
                    ORDER BY c.last_message_at DESC, c.id DESC
                    LIMIT \(limit + 1)
                ) c
                JOIN channels ch ON ch.tenant_id = c.tenant_id AND ch.id = c.channel_id
                JOIN contacts ct ON ct.tenant_id = c.tenant_id AND ct.id = c.contact_id
                LEFT JOIN users u ON u.tenant_id = c.tenant_id AND u.id = c.assignee_user_id
                LEFT JOIN LATERAL (
                    SELECT m.direction, m.text, m.attachments FROM messages m
                    WHERE m.tenant_id = c.tenant_id AND m.conversation_id = c.id ORDER BY m.seq DESC LIMIT 1
                ) lm ON true
                ORDER BY c.last_message_at DESC, c.id DESC
                """
            var rows: [(InboxRow, Int64, UUID)] = []
            for try await row in try await connection.query(query, logger: logger) {
                let r = row.makeRandomAccess()
                let id = try r[0].decode(UUID.self)
                let micros = try r[12].decode(Int64.self)
                let inbox = InboxRow(
                    id: ConversationID(id), channelID: ChannelID(try r[1].decode(UUID.self)), channelName: try r[2].decode(String.self),
                    channelKind: try r[3].decode(String.self), contactID: ContactID(try r[4].decode(UUID.self)),
                    contactName: try r[5].decode(String?.self), title: try r[6].decode(String?.self), status: try r[7].decode(String.self),
                    mode: try r[8].decode(String.self), assigneeID: try r[9].decode(UUID?.self).map { UserID($0) },
                    assigneeName: try r[10].decode(String?.self), lastMessageAt: try r[11].decode(Date.self),
                    preview: try r[14].decode(String?.self), previewDirection: try r[13].decode(String?.self),
                    unread: Int(try r[15].decode(Int32.self))
                )
                rows.append((inbox, micros, id))
            }
            return Keyset.page(rows, limit: limit)
        }
    }

    /// How many conversations each view holds, each counted up to ``countCap`` + 1 along its
    /// own index (a count past the cap shows as `999+`).
    public func counts(_ tenant: TenantID, viewer: UserID?, channelID: ChannelID?) async throws -> [InboxView: Int] {
        let logger = database.logger
        let viewerID = viewer?.uuid
        let channel = channelID?.uuid
        return try await database.withTenant(tenant) { connection in
            try await Self.withoutJIT(connection, logger: logger)
            func count(_ view: InboxView) -> String {
                "(SELECT count(*)::int FROM (SELECT 1 FROM conversations c WHERE c.tenant_id = $1 AND \(view.predicate)"
                    + (view == .mine ? " AND c.assignee_user_id = $3::uuid" : "")
                    + " AND ($2::uuid IS NULL OR c.channel_id = $2::uuid) LIMIT \(Self.countCap + 1)) s)"
            }
            let sql = "SELECT " + InboxView.allCases.map(count).joined(separator: ",\n")
            var bindings = PostgresBindings()
            bindings.append(tenant.uuid)
            if let channel { bindings.append(channel) } else { bindings.appendNull() }
            if let viewerID { bindings.append(viewerID) } else { bindings.appendNull() }
            let counted = PostgresQuery(unsafeSQL: sql, binds: bindings)
            var counts: [InboxView: Int] = [:]
            for try await row in try await connection.query(counted, logger: logger) {
                let r = row.makeRandomAccess()
                for (index, view) in InboxView.allCases.enumerated() { counts[view] = Int(try r[index].decode(Int32.self)) }
            }
            return counts
        }
    }

    /// The conversation page; marks it read for the viewer (when the viewer is a person) in
    /// the same transaction.
    public func conversation(_ tenant: TenantID, _ id: ConversationID, viewer: UserID?, limit: Int = 100) async throws -> InboxConversation {
        let logger = database.logger
        let limit = max(1, min(limit, Self.maximumMessages))
        return try await database.withTenant(tenant) { connection in
            try await Self.withoutJIT(connection, logger: logger)
            var header: InboxConversation?
            for try await row in try await connection.query(
                """
                SELECT c.channel_id, ch.name, ch.kind, c.title, c.status, c.mode, c.handoff_reason, c.assignee_user_id,
                       COALESCE(u.name, u.email), c.contact_id, k.display_name, k.phone, k.email, k.username, k.language, k.tags,
                       k.restricted_at IS NOT NULL
                FROM conversations c
                JOIN channels ch ON ch.tenant_id = c.tenant_id AND ch.id = c.channel_id
                JOIN contacts k ON k.tenant_id = c.tenant_id AND k.id = c.contact_id
                LEFT JOIN users u ON u.tenant_id = c.tenant_id AND u.id = c.assignee_user_id
                WHERE c.tenant_id = \(tenant.uuid) AND c.id = \(id.uuid)
                """,
                logger: logger
            ) {
                let r = row.makeRandomAccess()
                header = InboxConversation(
                    id: id, channelID: ChannelID(try r[0].decode(UUID.self)), channelName: try r[1].decode(String.self),
                    channelKind: try r[2].decode(String.self), title: try r[3].decode(String?.self), status: try r[4].decode(String.self),
                    mode: try r[5].decode(String.self), handoffReason: try r[6].decode(String?.self),
                    assigneeID: try r[7].decode(UUID?.self).map { UserID($0) }, assigneeName: try r[8].decode(String?.self),
                    contactID: ContactID(try r[9].decode(UUID.self)), contactName: try r[10].decode(String?.self),
                    contactPhone: try r[11].decode(String?.self), contactEmail: try r[12].decode(String?.self),
                    contactUsername: try r[13].decode(String?.self), contactLanguage: try r[14].decode(String?.self),
                    contactTags: try r[15].decode([String].self), contactRestricted: try r[16].decode(Bool.self),
                    messages: [], identities: [], consents: [], deals: [], notes: []
                )
            }
            guard var page = header else { throw SwitchboardError.notFound("conversation") }
            let contact = page.contactID.uuid
            page.messages = try await Self.messages(connection, tenant, id, limit: limit, logger: logger)
            for try await (kind, external) in try await connection.query(
                """
                SELECT channel_kind, external_id FROM contact_identities
                WHERE tenant_id = \(tenant.uuid) AND contact_id = \(contact) ORDER BY created_at, id LIMIT 50
                """,
                logger: logger
            ).decode((String, String).self) {
                page.identities.append(.init(channelKind: kind, externalID: external))
            }
            for try await (purpose, granted, at) in try await connection.query(
                """
                SELECT DISTINCT ON (purpose) purpose, granted, recorded_at FROM consents
                WHERE tenant_id = \(tenant.uuid) AND contact_id = \(contact) ORDER BY purpose, recorded_at DESC
                """,
                logger: logger
            ).decode((String, Bool, Date).self) {
                page.consents.append(.init(purpose: purpose, granted: granted, recordedAt: at))
            }
            for try await (dealID, title, stage, amount, currency) in try await connection.query(
                """
                SELECT id, title, stage, amount_minor, currency FROM deals
                WHERE tenant_id = \(tenant.uuid) AND contact_id = \(contact) ORDER BY created_at DESC LIMIT 20
                """,
                logger: logger
            ).decode((UUID, String, String, Int64?, String?).self) {
                page.deals.append(.init(id: DealID(dealID), title: title, stage: stage, amountMinor: amount, currency: currency))
            }
            for try await (noteID, body, at) in try await connection.query(
                """
                SELECT id, body, created_at FROM notes
                WHERE tenant_id = \(tenant.uuid) AND contact_id = \(contact) ORDER BY created_at DESC, id DESC LIMIT 20
                """,
                logger: logger
            ).decode((UUID, String, Date).self) {
                page.notes.append(.init(id: noteID, body: body, createdAt: at))
            }
            if let viewer, let last = page.messages.last?.seq {
                try await Self.markRead(connection, tenant, id, viewer: viewer, seq: last, logger: logger)
            }
            return page
        }
    }

    /// The conversation's latest `limit` messages, oldest first (the live fragment); marks
    /// them read for the viewer in the same transaction.
    public func messages(_ tenant: TenantID, _ id: ConversationID, viewer: UserID?, limit: Int = 100) async throws -> [InboxMessage] {
        let logger = database.logger
        let limit = max(1, min(limit, Self.maximumMessages))
        return try await database.withTenant(tenant) { connection in
            guard try await connection.integer(
                "SELECT count(*)::int FROM conversations WHERE tenant_id = \(tenant.uuid) AND id = \(id.uuid)", logger: logger
            ) == 1 else { throw SwitchboardError.notFound("conversation") }
            let messages = try await Self.messages(connection, tenant, id, limit: limit, logger: logger)
            if let viewer, let last = messages.last?.seq {
                try await Self.markRead(connection, tenant, id, viewer: viewer, seq: last, logger: logger)
            }
            return messages
        }
    }

    static func markRead(
        _ connection: PostgresConnection, _ tenant: TenantID, _ id: ConversationID, viewer: UserID, seq: Int64, logger: Logger
    ) async throws {
        try await connection.query(
            """
            INSERT INTO conversation_reads AS r (tenant_id, conversation_id, user_id, read_seq)
            VALUES (\(tenant.uuid), \(id.uuid), \(viewer.uuid), \(seq))
            ON CONFLICT (tenant_id, user_id, conversation_id) DO UPDATE SET read_seq = GREATEST(r.read_seq, EXCLUDED.read_seq)
            WHERE r.read_seq < EXCLUDED.read_seq
            """,
            logger: logger
        )
    }

    static func messages(
        _ connection: PostgresConnection, _ tenant: TenantID, _ id: ConversationID, limit: Int, logger: Logger
    ) async throws -> [InboxMessage] {
        var messages: [InboxMessage] = []
        let decoder = JSONDecoder()
        for try await row in try await connection.query(
            """
            SELECT m.id, m.seq, m.direction, m.text, m.attachments::text, m.ai_generated, m.delivery_status, m.delivery_error,
                   m.reply_status, m.reply_error, m.sent_by_user_id, u.name, u.email, m.created_at, m.edited_at,
                   CASE WHEN m.edited_at IS NOT NULL THEN (
                       SELECT jsonb_agg(jsonb_build_object('previous_text', e.previous_text, 'edited_at', e.edited_at) ORDER BY e.edited_at)::text
                       FROM (SELECT * FROM message_edits e WHERE e.tenant_id = m.tenant_id AND e.message_id = m.id
                             ORDER BY e.edited_at DESC LIMIT 20) e)
                   END,
                   m.deleted_at, m.send_tag
            FROM (SELECT * FROM messages m WHERE m.tenant_id = \(tenant.uuid) AND m.conversation_id = \(id.uuid)
                  ORDER BY m.seq DESC LIMIT \(limit)) m
            LEFT JOIN users u ON u.tenant_id = m.tenant_id AND u.id = m.sent_by_user_id
            ORDER BY m.seq
            """,
            logger: logger
        ) {
            let r = row.makeRandomAccess()
            let editsJSON = try r[15].decode(String?.self)
            let edits = editsJSON.flatMap { try? decoder.decode([InboxMessage.Edit].self, from: Data($0.utf8)) } ?? []
            messages.append(InboxMessage(
                id: MessageID(try r[0].decode(UUID.self)), seq: try r[1].decode(Int64.self), direction: try r[2].decode(String.self),
                text: try r[3].decode(String?.self), attachmentsJSON: try r[4].decode(String.self), aiGenerated: try r[5].decode(Bool.self),
                deliveryStatus: try r[6].decode(String?.self), deliveryError: try r[7].decode(String?.self),
                replyStatus: try r[8].decode(String?.self), replyError: try r[9].decode(String?.self),
                sentByUserID: try r[10].decode(UUID?.self).map { UserID($0) }, sentByName: try r[11].decode(String?.self),
                sentByEmail: try r[12].decode(String?.self), createdAt: try r[13].decode(Date.self),
                editedAt: try r[14].decode(Date?.self), edits: edits,
                deletedAt: try r[16].decode(Date?.self), sendTag: try r[17].decode(String?.self)
            ))
        }
        return messages
    }

    /// Assigns the conversation to a person of the tenant, or to no one (`nil`). An unknown
    /// person (another tenant's included: row-level security hides them) is not found.
    public func assign(_ tenant: TenantID, _ id: ConversationID, to user: UserID?) async throws {
        let logger = database.logger
        try await database.withTenant(tenant) { connection in
            if let user {
                guard try await connection.integer(
                    "SELECT count(*)::int FROM users WHERE tenant_id = \(tenant.uuid) AND id = \(user.uuid)", logger: logger
                ) == 1 else { throw SwitchboardError.notFound("user") }
            }
            let found = try await connection.integer(
                "SELECT count(*)::int FROM conversations WHERE tenant_id = \(tenant.uuid) AND id = \(id.uuid)", logger: logger
            )
            guard found == 1 else { throw SwitchboardError.notFound("conversation") }
            try await connection.query(
                """
                UPDATE conversations SET assignee_user_id = \(user?.uuid)
                WHERE tenant_id = \(tenant.uuid) AND id = \(id.uuid) AND assignee_user_id IS DISTINCT FROM \(user?.uuid)::uuid
                """,
                logger: logger
            )
        }
    }

    /// The tenant's people, by name (at most 500).
    public func teammates(_ tenant: TenantID) async throws -> [Teammate] {
        let logger = database.logger
        return try await database.withTenant(tenant) { connection in
            var people: [Teammate] = []
            for try await (id, name, email, role) in try await connection.query(
                """
                SELECT id, name, email, role FROM users WHERE tenant_id = \(tenant.uuid)
                ORDER BY lower(COALESCE(name, email)), id LIMIT 500
                """,
                logger: logger
            ).decode((UUID, String?, String, String).self) {
                people.append(Teammate(id: UserID(id), name: name, email: email, role: role))
            }
            return people
        }
    }
}
