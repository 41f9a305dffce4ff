public import Foundation
public import Logging
import PostgresNIO
public import SwitchboardCore

/// One `model_calls` entry as `store_answer` and `settle_reply_charged` read it.
struct ModelCallRow: Encodable {
    var record: ModelCallRecord

    enum CodingKeys: String, CodingKey {
        case providerID = "provider_id", providerKind = "provider_kind", model, attempt, errorCode = "error_code"
        case errorMessage = "error_message", input, cachedInput = "cached_input", output, reasoning, latency = "latency_ms"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(record.providerID, forKey: .providerID)
        try container.encodeIfPresent(record.providerKind, forKey: .providerKind)
        try container.encode(record.model, forKey: .model)
        try container.encode(record.attempt, forKey: .attempt)
        try container.encodeIfPresent(record.errorCode, forKey: .errorCode)
        try container.encodeIfPresent(record.errorMessage, forKey: .errorMessage)
        try container.encode(record.usage.input, forKey: .input)
        try container.encode(record.usage.cachedInput, forKey: .cachedInput)
        try container.encode(record.usage.output, forKey: .output)
        try container.encode(record.usage.reasoning, forKey: .reasoning)
        try container.encode(record.usage.latencyMilliseconds, forKey: .latency)
    }
}

extension TokenCounts {
    var json: String {
        #"{"input":\#(input),"cached_input":\#(cachedInput),"output":\#(output),"reasoning":\#(reasoning),"latency_ms":\#(latencyMilliseconds)}"#
    }
}

/// The database side of the reply and send workers: one statement per step (the SQL
/// functions of migration 0003), each ending its job fenced by the attempt that took it.
public struct PostgresReplyStore: ReplyStore {
    let database: Database

    public init(database: Database) {
        self.database = database
    }

    public func context(for job: ClaimedJob) async throws -> ReplyContext? {
        try await context(for: job, .unread, logger: database.logger)
    }

    /// The reply's context: decoded from `document` when it was read with the claim, else read now.
    public func context(for job: ClaimedJob, _ read: JobDocument, logger: Logger) async throws -> ReplyContext? {
        let database = self.database.logging(logger)
        let document: ReplyDocument?
        switch read {
        case .read(let text): document = try text.map { try JSONDecoder().decode(ReplyDocument.self, from: Data($0.utf8)) }
        case .unread:
            document = try await Self.json(
                database, "SELECT reply_context(\(job.tenantID.uuid), \(job.messageID.uuid))::text", as: ReplyDocument.self
            )
        }
        guard let document else { return nil }
        let privacy = document.privacy?.context ?? (PrivacyContext(), [:])
        var providers: [ProviderID: ReplyContext.ProviderEntry] = [:]
        for provider in document.providers {
            // A kind this build does not know (a newer build's) is an error, never the FAQ:
            // the reply is retried, and answered by a replica that knows it.
            guard let kind = ProviderKind(rawValue: provider.kind) else { throw DatabaseError.unknown("providers.kind", provider.kind) }
            providers[provider.id] = ReplyContext.ProviderEntry(
                id: provider.id, name: provider.name, kind: kind, baseURL: provider.baseURL,
                sealedAPIKey: provider.apiKey.flatMap { Data(base64Encoded: $0, options: .ignoreUnknownCharacters) }.map { Array($0) }
            )
        }
        var context = ReplyContext(
            inboundID: MessageID(document.inbound.id), inboundText: document.inbound.text,
            inboundExternalID: document.inbound.externalID,
            target: document.target, agent: document.agent.map { (AgentID($0.id), $0.settings) }, providers: providers,
            history: document.history.map {
                ReplyContext.Turn(
                    inbound: $0.direction == "inbound", text: $0.text, attachmentKinds: $0.attachments.map(\.kind), sender: $0.sender
                )
            },
            answered: document.answered, privacy: privacy.0, providerRegions: privacy.1, prices: PriceBook(document.prices.compactMap(\.price))
        )
        context.inboundWithdrawn = document.inbound.deleted ?? false
        return context
    }

    /// Stores the agent's answer with its usage and the calls made, marks the inbound
    /// message answered and finishes the reply job — one statement — and answers the send
    /// job it created already taken by `worker`, or `nil` when another attempt's answer
    /// already stands.
    ///
    /// In the same statement the ledger takes the answer's cost (`capture`), or releases
    /// its hold when another attempt's answer stands; `replyStatus` other than `answered`
    /// marks the inbound message (an out-of-credits reply).
    public func storeAnswer(
        _ job: ClaimedJob, context: ReplyContext, _ answer: StoredAnswer, worker: String, now: Date, lease: Duration, logger: Logger
    ) async throws -> ClaimedJob? {
        let database = self.database.logging(logger)
        let callsJSON = try Self.encode(answer.calls)
        let captureJSON = try answer.capture.map(PostgresCreditStore.encode)
        return try await database.withConnection { connection in
            let rows = try await connection.execute(
                StoreAnswerStatement(
                    tenant: job.tenantID.uuid, job: job.id.uuid, attempt: Int32(job.attempt), inbound: context.inboundID.uuid,
                    agent: context.agent?.id.uuid, provider: answer.providerID?.uuid, model: answer.model, text: answer.text,
                    usage: answer.usage.json, calls: callsJSON, worker: worker, now: now, leaseSeconds: lease.timeInterval,
                    capture: captureJSON, hold: answer.holdID, replyStatus: answer.replyStatus.rawValue
                ),
                logger: logger
            )
            for try await (answer, sendJob) in rows {
                return ClaimedJob(id: JobID(sendJob), tenantID: job.tenantID, kind: .send, messageID: MessageID(answer), attempt: 1)
            }
            return nil
        }
    }

    /// Ends a reply job without an answer: `done` (skipped, handed off), `failed`, or
    /// `queued` again at `runAfter`; records the calls made, the inbound message's reply
    /// status and error, and hands the conversation to a person when `handoffReason` is set.
    ///
    /// In the same statement the ledger takes what the calls cost (`capture`: a model that
    /// answered nothing usable was still paid) or releases the hold.
    public func settle(_ job: ClaimedJob, context: ReplyContext, _ settlement: ReplySettlement, logger: Logger) async throws {
        let database = self.database.logging(logger)
        let callsJSON = try Self.encode(settlement.calls)
        let captureJSON = try settlement.capture.map(PostgresCreditStore.encode)
        try await database.withConnection { connection in
            try await connection.perform(
                """
                SELECT settle_reply_charged(\(job.tenantID.uuid), \(job.id.uuid), \(Int32(job.attempt)), \(context.inboundID.uuid),
                    \(context.agent?.id.uuid), \(settlement.jobStatus.rawValue), \(settlement.runAfter),
                    \(settlement.replyStatus?.rawValue), \(settlement.error), \(settlement.handoffReason?.rawValue), \(callsJSON)::jsonb,
                    \(captureJSON)::jsonb, \(settlement.holdID))
                """,
                logger: logger
            )
        }
    }

    /// The inbound message's attachments (kinds and the platform's file references).
    public func inboundAttachments(_ job: ClaimedJob, logger: Logger) async throws -> [IngestEvent.Attachment] {
        let database = self.database.logging(logger)
        return try await database.withTenant(job.tenantID) { connection in
            for try await text in try await connection.query(
                "SELECT attachments::text FROM messages WHERE tenant_id = \(job.tenantID.uuid) AND id = \(job.messageID.uuid)", logger: logger
            ).decode(String.self) {
                return (try? JSONDecoder().decode([IngestEvent.Attachment].self, from: Data(text.utf8))) ?? []
            }
            return []
        }
    }

    /// Keeps a voice note's transcript as the message's text (the audio was never stored).
    public func storeTranscript(_ job: ClaimedJob, _ transcript: String, logger: Logger) async throws {
        let database = self.database.logging(logger)
        try await database.withTenant(job.tenantID) { connection in
            try await connection.query(
                """
                UPDATE messages SET text = \(transcript)
                WHERE tenant_id = \(job.tenantID.uuid) AND id = \(job.messageID.uuid) AND (text IS NULL OR text = '')
                """,
                logger: logger
            )
        }
    }

    /// Says on the inbound message why its voice note was not transcribed: the first voice
    /// or audio attachment gets `details.transcription_error` (a text of ours, never the
    /// platform's or a provider's).
    public func noteUntranscribed(_ job: ClaimedJob, reason: String, logger: Logger) async throws {
        let database = self.database.logging(logger)
        try await database.withTenant(job.tenantID) { connection in
            try await connection.query(
                """
                UPDATE messages m SET attachments = (
                    SELECT jsonb_agg(CASE WHEN x.n = (SELECT min(y.n) FROM jsonb_array_elements(m.attachments) WITH ORDINALITY y(a, n)
                                                      WHERE y.a->>'kind' IN ('voice', 'audio'))
                                          THEN x.a || jsonb_build_object('details', COALESCE(x.a->'details', '{}'::jsonb)
                                                                         || jsonb_build_object('transcription_error', \(reason)::text))
                                          ELSE x.a END ORDER BY x.n)
                    FROM jsonb_array_elements(m.attachments) WITH ORDINALITY x(a, n))
                WHERE m.tenant_id = \(job.tenantID.uuid) AND m.id = \(job.messageID.uuid) AND jsonb_array_length(m.attachments) > 0
                """,
                logger: logger
            )
        }
    }

    public func sendContext(for job: ClaimedJob, _ read: JobDocument, logger: Logger) async throws -> SendContext? {
        let database = self.database.logging(logger)
        let document: SendDocument?
        switch read {
        case .read(let text): document = try text.map { try JSONDecoder().decode(SendDocument.self, from: Data($0.utf8)) }
        case .unread:
            document = try await Self.json(
                database, "SELECT send_context(\(job.tenantID.uuid), \(job.messageID.uuid))::text", as: SendDocument.self
            )
        }
        guard let document else { return nil }
        return SendContext(
            messageID: MessageID(document.message.id), text: document.message.text,
            deliveryStatus: try document.message.deliveryStatus.map { status in
                guard let known = DeliveryStatus(rawValue: status) else { throw DatabaseError.unknown("messages.delivery_status", status) }
                return known
            },
            aiGenerated: document.message.aiGenerated, inReplyTo: document.message.inReplyTo.map { MessageID($0) },
            target: document.target, contactRestricted: document.restricted, replyToExternalID: document.message.replyToExternalID,
            tag: document.message.sendTag, template: document.message.template
        )
    }

    /// Records a send's outcome with its job: sent (the sent-marker), requeued for
    /// `retryAt`, or failed for good when `retryAt` is `nil`.
    public func recordSend(_ job: ClaimedJob, _ outcome: SendOutcome, logger: Logger) async throws {
        let database = self.database.logging(logger)
        try await database.withConnection { connection in
            // Read to the end: record_send's errors (a lost lease) come with its row.
            for try await _ in try await connection.execute(
                RecordSendStatement(
                    tenant: job.tenantID.uuid, job: job.id.uuid, attempt: Int32(job.attempt), message: job.messageID.uuid, sent: outcome.sent,
                    externalID: outcome.externalID, error: outcome.error, retryAt: outcome.retryAt, time: outcome.time,
                    errorCode: outcome.errorCode
                ),
                logger: logger
            ) {}
        }
    }

    // MARK: JSON documents

    static func json<Document: Decodable & Sendable>(
        _ database: Database, _ query: PostgresQuery, as type: Document.Type
    ) async throws -> Document? {
        let logger = database.logger
        let text = try await database.withConnection { connection -> String? in
            for try await value in try await connection.query(query, logger: logger).decode(String?.self) { return value }
            return nil
        }
        guard let text else { return nil }
        return try JSONDecoder().decode(Document.self, from: Data(text.utf8))
    }

    static func encode(_ calls: [ModelCallRecord]) throws -> String {
        String(decoding: try JSONEncoder().encode(calls.map(ModelCallRow.init)), as: UTF8.self)
    }
}

struct TargetDocument: Decodable {
    struct Conversation: Decodable {
        var id: UUID
        var channelID: UUID
        var contactID: UUID
        var chatExternalID: String
        var mode: String
        var title: String?
        var lastInboundAt: Double?
        enum CodingKeys: String, CodingKey {
            case id, channelID = "channel_id", contactID = "contact_id", chatExternalID = "chat_external_id", mode, title
            case lastInboundAt = "last_inbound_at"
        }
    }

    struct Channel: Decodable {
        var kind: String
        var live: Bool
        var credentials: String?
    }
}

extension SendTarget {
    init(_ conversation: TargetDocument.Conversation, _ channel: TargetDocument.Channel, contactExternalID: String?) {
        self.init(
            conversationID: ConversationID(conversation.id), channelID: ChannelID(conversation.channelID),
            contactID: ContactID(conversation.contactID), chatExternalID: conversation.chatExternalID,
            mode: Conversation.Mode(rawValue: conversation.mode) ?? .ai, channelKind: channel.kind, channelLive: channel.live,
            sealedCredentials: channel.credentials.flatMap { Data(base64Encoded: $0, options: .ignoreUnknownCharacters) }.map { Array($0) },
            contactExternalID: contactExternalID, chatTitle: conversation.title,
            lastInboundAt: conversation.lastInboundAt.map { Date(timeIntervalSince1970: $0) }
        )
    }
}

/// `reply_context(…)`'s answer.
struct ReplyDocument: Decodable, Sendable {
    struct Inbound: Decodable {
        var id: UUID
        var text: String?
        var externalID: String?
        var deleted: Bool?
        enum CodingKeys: String, CodingKey { case id, text, externalID = "external_id", deleted }
    }

    struct AgentDocument: Decodable {
        var id: UUID
        var settings: AgentSettings

        init(from decoder: any Decoder) throws {
            enum Keys: String, CodingKey { case id }
            id = try decoder.container(keyedBy: Keys.self).decode(UUID.self, forKey: .id)
            settings = try AgentSettings(from: decoder)
        }
    }

    struct ProviderDocument: Decodable {
        var id: ProviderID
        var name: String
        var kind: String
        var baseURL: String?
        var apiKey: String?
        enum CodingKeys: String, CodingKey { case id, name, kind, baseURL = "base_url", apiKey = "api_key" }
    }

    struct Turn: Decodable {
        struct Attachment: Decodable { var kind: String }
        var direction: String
        var text: String?
        var attachments: [Attachment]
        var sender: String?
    }

    var inbound: Inbound
    var target: SendTarget
    var answered: Bool
    /// One row of the price book.
    struct PriceDocument: Decodable {
        var providerKind: String
        var model: String
        var input: Int64
        var cachedInput: Int64
        var output: Int64
        var reasoning: Int64
        var messageFee: Int64
        var override: Bool
        enum CodingKeys: String, CodingKey {
            case providerKind = "provider_kind", model, input, cachedInput = "cached_input", output, reasoning
            case messageFee = "message_fee", override
        }

        var price: Price? {
            ProviderKind(rawValue: providerKind).map {
                Price(
                    providerKind: $0, model: model, inputPerMillion: input, cachedInputPerMillion: cachedInput, outputPerMillion: output,
                    reasoningPerMillion: reasoning, messageFee: Credits(micros: messageFee), isOverride: override
                )
            }
        }
    }

    var agent: AgentDocument?
    var providers: [ProviderDocument]
    var history: [Turn]
    var privacy: PostgresPrivacyStore.ContextDocument?
    var prices: [PriceDocument]

    enum CodingKeys: String, CodingKey {
        case inbound, conversation, channel, contactExternalID = "contact_external_id", answered, agent, providers, history
        case privacy, prices
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        inbound = try container.decode(Inbound.self, forKey: .inbound)
        target = SendTarget(
            try container.decode(TargetDocument.Conversation.self, forKey: .conversation),
            try container.decode(TargetDocument.Channel.self, forKey: .channel),
            contactExternalID: try container.decodeIfPresent(String.self, forKey: .contactExternalID)
        )
        answered = try container.decode(Bool.self, forKey: .answered)
        agent = try container.decodeIfPresent(AgentDocument.self, forKey: .agent)
        providers = try container.decode([ProviderDocument].self, forKey: .providers)
        history = try container.decode([Turn].self, forKey: .history)
        privacy = try container.decodeIfPresent(PostgresPrivacyStore.ContextDocument.self, forKey: .privacy)
        prices = try container.decode([PriceDocument].self, forKey: .prices)
    }
}

/// `send_context(…)`'s answer.
struct SendDocument: Decodable, Sendable {
    struct MessageDocument: Decodable {
        var id: UUID
        var text: String?
        var deliveryStatus: String?
        var aiGenerated: Bool
        var inReplyTo: UUID?
        var replyToExternalID: String?
        var sendTag: String?
        var template: SendTemplate?
        enum CodingKeys: String, CodingKey {
            case id, text, deliveryStatus = "delivery_status", aiGenerated = "ai_generated", inReplyTo = "in_reply_to"
            case replyToExternalID = "reply_to_external_id", sendTag = "send_tag", template
        }
    }

    var message: MessageDocument
    var target: SendTarget
    var restricted: Bool

    enum CodingKeys: String, CodingKey { case message, conversation, channel, contactExternalID = "contact_external_id", restricted }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        message = try container.decode(MessageDocument.self, forKey: .message)
        restricted = try container.decode(Bool.self, forKey: .restricted)
        target = SendTarget(
            try container.decode(TargetDocument.Conversation.self, forKey: .conversation),
            try container.decode(TargetDocument.Channel.self, forKey: .channel),
            contactExternalID: try container.decodeIfPresent(String.self, forKey: .contactExternalID)
        )
    }
}
