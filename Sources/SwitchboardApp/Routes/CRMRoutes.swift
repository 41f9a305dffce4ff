import ConnectorKit
import Foundation
import Hummingbird
import Logging
import SwitchboardCore
import SwitchboardPostgres

/// The CRM: contacts (with identities, tags, notes, merges), conversations and their
/// messages, and deals. Every route is scoped to the asking tenant; another tenant's id
/// is `not_found`.
struct CRMRoutes: Sendable {
    let contacts: PostgresContactStore
    let conversations: PostgresConversationStore
    let deals: PostgresDealStore
    let channels: PostgresChannelStore
    let inbox: PostgresInboxStore
    /// The channels' messaging windows, checked before a person's message is stored.
    let connectors: ConnectorRegistry
    let now: @Sendable () -> Date

    func add(to group: RouterGroup<TenantRequestContext>) {
        addContactRoutes(to: group)
        addConversationRoutes(to: group)
        addDealRoutes(to: group)
    }

    // MARK: Contacts

    struct ContactPatch: RequestBody {
        var displayName: String??
        var phone: String??
        var email: String??
        var language: String??
        var tags: [String]?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case displayName = "display_name", phone, email, language, tags
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            func nullable(_ key: CodingKeys) throws -> String?? {
                container.contains(key) ? .some(try container.decodeIfPresent(String.self, forKey: key)) : nil
            }
            displayName = try nullable(.displayName)
            phone = try nullable(.phone)
            email = try nullable(.email)
            language = try nullable(.language)
            tags = try container.decodeIfPresent([String].self, forKey: .tags)
        }
    }

    struct MergeBody: RequestBody {
        var contactID: String
        enum CodingKeys: String, CodingKey, CaseIterable { case contactID = "contact_id" }
    }

    struct NoteBody: RequestBody {
        var body: String
        enum CodingKeys: String, CodingKey, CaseIterable { case body }
    }

    func addContactRoutes(to group: RouterGroup<TenantRequestContext>) {
        group.get("/contacts") { request, context in
            let query = request.uri.queryParameters["q"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
            if let query { _ = try FieldRule.contactSearch.check(query, field: "q") }
            let page = try await contacts.list(context.tenantID, query: query, page: try request.pageRequest())
            return try JSONBody.response(ListResponse(page, ContactResponse.init))
        }
        group.get("/contacts/{id}") { _, context in
            try JSONBody.response(ContactResponse(try await contacts.get(context.tenantID, try Self.id(context, "contact"))))
        }
        group.patch("/contacts/{id}") { request, context in
            let id: ContactID = try Self.id(context, "contact")
            let body = try await JSONBody.decode(ContactPatch.self, from: request, context: context)
            var changes = ContactChanges()
            if let name = body.displayName { changes.displayName = .some(try name.map { try FieldRule.shortName.check($0, field: "display_name") }) }
            if let phone = body.phone { changes.phone = .some(try phone.map { try Validate.phone($0) }) }
            if let email = body.email { changes.email = .some(try email.map { try Validate.email($0) }) }
            if let language = body.language { changes.language = .some(try language.map { try FieldRule.language.check($0, field: "language") }) }
            if let tags = body.tags { changes.tags = try Validate.tags(tags) }
            let contact = try await contacts.update(context.tenantID, id, changes)
            context.logger.info("contact updated", metadata: ["contact.id": "\(id)"])
            return try JSONBody.response(ContactResponse(contact))
        }
        group.post("/contacts/{id}/merge") { request, context in
            let target: ContactID = try Self.id(context, "contact")
            let body = try await JSONBody.decode(MergeBody.self, from: request, context: context)
            guard let source = ContactID(body.contactID) else {
                throw SwitchboardError(.notFound, "contact to merge not found", field: "contact_id")
            }
            let contact = try await contacts.merge(context.tenantID, into: target, from: source)
            context.logger.info("contacts merged", metadata: ["contact.id": "\(target)", "merged.contact.id": "\(source)"])
            return try JSONBody.response(ContactResponse(contact))
        }
        group.get("/contacts/{id}/notes") { request, context in
            let page = try await contacts.notes(context.tenantID, contact: try Self.id(context, "contact"), page: try request.pageRequest())
            return try JSONBody.response(ListResponse(page, NoteResponse.init))
        }
        group.post("/contacts/{id}/notes") { request, context in
            let contact: ContactID = try Self.id(context, "contact")
            let body = try await JSONBody.decode(NoteBody.self, from: request, context: context)
            let text = try FieldRule.noteBody.check(body.body, field: "body")
            return try JSONBody.response(NoteResponse(try await contacts.addNote(context.tenantID, contact: contact, body: text)), status: .created)
        }
    }

    // MARK: Conversations

    func addConversationRoutes(to group: RouterGroup<TenantRequestContext>) {
        group.get("/conversations") { request, context in
            let query = request.uri.queryParameters
            var filter = ConversationFilter()
            if let status = query["status"].map(String.init) {
                guard let value = Conversation.Status(rawValue: status) else {
                    throw SwitchboardError.invalid("status must be open or closed", field: "status")
                }
                filter.status = value
            }
            if let mode = query["mode"].map(String.init) {
                guard let value = Conversation.Mode(rawValue: mode) else {
                    throw SwitchboardError.invalid("mode must be ai or human", field: "mode")
                }
                filter.mode = value
            }
            if let channel = query["channel_id"].map(String.init) {
                // Another tenant's channel is not found, not an empty list.
                guard let id = ChannelID(channel) else { throw SwitchboardError(.notFound, "channel not found", field: "channel_id") }
                _ = try await channels.get(context.tenantID, id)
                filter.channelID = id
            }
            if let contact = query["contact_id"].map(String.init) {
                guard let id = ContactID(contact) else { throw SwitchboardError(.notFound, "contact not found", field: "contact_id") }
                _ = try await contacts.get(context.tenantID, id)
                filter.contactID = id
            }
            let page = try await conversations.list(context.tenantID, filter: filter, page: try request.pageRequest())
            return try JSONBody.response(ListResponse(page, ConversationResponse.init))
        }
        group.get("/conversations/{id}") { _, context in
            try JSONBody.response(ConversationResponse(try await conversations.get(context.tenantID, try Self.id(context, "conversation"))))
        }
        group.get("/conversations/{id}/messages") { request, context in
            let page = try await conversations.messages(
                context.tenantID, try Self.id(context, "conversation"), page: try request.pageRequest()
            )
            return try JSONBody.response(ListResponse(page, MessageResponse.init))
        }
        group.post("/conversations/{id}/close") { _, context in
            let conversation = try await conversations.setStatus(context.tenantID, try Self.id(context, "conversation"), .closed)
            return try JSONBody.response(ConversationResponse(conversation))
        }
        group.post("/conversations/{id}/reopen") { _, context in
            let conversation = try await conversations.setStatus(context.tenantID, try Self.id(context, "conversation"), .open)
            return try JSONBody.response(ConversationResponse(conversation))
        }
        group.post("/conversations/{id}/handoff") { request, context in
            let body = try await JSONBody.decode(HandoffBody.self, from: request, context: context)
            let reason = try body.reason.map { try FieldRule.shortName.check($0, field: "reason") } ?? "api"
            let conversation = try await conversations.setMode(context.tenantID, try Self.id(context, "conversation"), .human, reason: reason)
            context.logger.info("conversation handed off", metadata: ["conversation.id": "\(conversation.id)"])
            return try JSONBody.response(ConversationResponse(conversation))
        }
        group.post("/conversations/{id}/resume") { _, context in
            let conversation = try await conversations.setMode(context.tenantID, try Self.id(context, "conversation"), .ai, reason: nil)
            return try JSONBody.response(ConversationResponse(conversation))
        }
        group.post("/conversations/{id}/assign") { request, context in
            let body = try await JSONBody.decode(AssignBody.self, from: request, context: context)
            let id = try Self.id(context, "conversation") as ConversationID
            var user: UserID?
            if let raw = body.userID {
                // Not a UUID is no one of this tenant: not found, like another tenant's person.
                guard let parsed = UserID(raw) else { throw SwitchboardError(.notFound, "user not found", field: "user_id") }
                user = parsed
            }
            try await inbox.assign(context.tenantID, id, to: user)
            context.logger.info("conversation assigned", metadata: ["conversation.id": "\(id)", "user.id": "\(user.map(\.description) ?? "none")"])
            return try JSONBody.response(ConversationResponse(try await conversations.get(context.tenantID, id)))
        }
        group.post("/conversations/{id}/messages") { request, context in
            let body = try await JSONBody.decode(PersonMessageBody.self, from: request, context: context)
            let text = try FieldRule.personMessage.check(body.text, field: "text")
            let (connectors, now) = (connectors, now)
            let message = try await conversations.postPersonMessage(
                context.tenantID, try Self.id(context, "conversation"), text: text, sentBy: context.principal.userID
            ) { kind, lastInbound in
                try MessagingWindowCheck.admit(connectors[kind]?.messagingWindow, kind: kind, lastInboundAt: lastInbound, now: now())
            }
            return try JSONBody.response(MessageResponse(message), status: .accepted)
        }
    }

    struct HandoffBody: RequestBody {
        var reason: String?
        enum CodingKeys: String, CodingKey, CaseIterable { case reason }
    }

    struct AssignBody: RequestBody {
        var userID: String?
        enum CodingKeys: String, CodingKey, CaseIterable { case userID = "user_id" }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            // `user_id` is required: a UUID, or null to unassign.
            guard container.contains(.userID) else {
                throw SwitchboardError.invalid("user_id is required (null unassigns)", field: "user_id")
            }
            userID = try container.decodeIfPresent(String.self, forKey: .userID)
        }
    }

    struct PersonMessageBody: RequestBody {
        var text: String
        enum CodingKeys: String, CodingKey, CaseIterable { case text }
    }

    // MARK: Deals

    struct DealBody: RequestBody {
        var contactID: String?
        var title: String?
        var stage: String?
        var amountMinor: Int64??
        var currency: String??

        enum CodingKeys: String, CodingKey, CaseIterable {
            case contactID = "contact_id", title, stage, amountMinor = "amount_minor", currency
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            contactID = try container.decodeIfPresent(String.self, forKey: .contactID)
            title = try container.decodeIfPresent(String.self, forKey: .title)
            stage = try container.decodeIfPresent(String.self, forKey: .stage)
            if container.contains(.amountMinor) { amountMinor = .some(try container.decodeIfPresent(Int64.self, forKey: .amountMinor)) }
            if container.contains(.currency) { currency = .some(try container.decodeIfPresent(String.self, forKey: .currency)) }
        }

        /// Amount and currency come together, or neither: `.some(nil)` clears both.
        func amount() throws -> (minor: Int64, currency: String)?? {
            switch (amountMinor, currency) {
            case (nil, nil): return nil
            case (.some(nil), .some(nil)), (.some(nil), nil), (nil, .some(nil)): return .some(nil)
            case (.some(.some(let minor)), .some(.some(let code))):
                guard minor >= 0 else { throw SwitchboardError.invalid("amount_minor must be zero or more", field: "amount_minor") }
                guard code.count == 3, code.allSatisfy({ $0.isASCII && $0.isUppercase }) else {
                    throw SwitchboardError.invalid("currency must be an ISO 4217 code such as KZT", field: "currency")
                }
                return .some((minor, code))
            case (.some(.some), _):
                throw SwitchboardError.invalid("currency is required with amount_minor", field: "currency")
            case (_, .some(.some)):
                throw SwitchboardError.invalid("amount_minor is required with currency", field: "amount_minor")
            }
        }
    }

    func addDealRoutes(to group: RouterGroup<TenantRequestContext>) {
        group.post("/deals") { request, context in
            let body = try await JSONBody.decode(DealBody.self, from: request, context: context)
            guard let contactText = body.contactID else { throw SwitchboardError.invalid("contact_id is required", field: "contact_id") }
            guard let contact = ContactID(contactText) else { throw SwitchboardError(.notFound, "contact not found", field: "contact_id") }
            guard let title = body.title else { throw SwitchboardError.invalid("title is required", field: "title") }
            let stage = try FieldRule.dealStage.check(body.stage ?? "new", field: "stage")
            let amount = try body.amount() ?? nil
            let deal = try await deals.create(
                context.tenantID, contact: contact, title: try FieldRule.shortName.check(title, field: "title"), stage: stage,
                amountMinor: amount?.minor, currency: amount?.currency
            )
            return try JSONBody.response(DealResponse(deal), status: .created)
        }
        group.get("/deals") { request, context in
            var contact: ContactID?
            if let text = request.uri.queryParameters["contact_id"].map(String.init) {
                guard let id = ContactID(text) else { throw SwitchboardError(.notFound, "contact not found", field: "contact_id") }
                _ = try await contacts.get(context.tenantID, id)
                contact = id
            }
            let page = try await deals.list(context.tenantID, contact: contact, page: try request.pageRequest())
            return try JSONBody.response(ListResponse(page, DealResponse.init))
        }
        group.get("/deals/{id}") { _, context in
            try JSONBody.response(DealResponse(try await deals.get(context.tenantID, try Self.id(context, "deal"))))
        }
        group.patch("/deals/{id}") { request, context in
            let id: DealID = try Self.id(context, "deal")
            let body = try await JSONBody.decode(DealBody.self, from: request, context: context)
            var changes = DealChanges()
            if let title = body.title { changes.title = try FieldRule.shortName.check(title, field: "title") }
            if let stage = body.stage { changes.stage = try FieldRule.dealStage.check(stage, field: "stage") }
            if let text = body.contactID {
                guard let contact = ContactID(text) else { throw SwitchboardError(.notFound, "contact not found", field: "contact_id") }
                changes.contactID = contact
            }
            changes.amount = try body.amount()
            return try JSONBody.response(DealResponse(try await deals.update(context.tenantID, id, changes)))
        }
        group.delete("/deals/{id}") { _, context in
            let id: DealID = try Self.id(context, "deal")
            try await deals.delete(context.tenantID, id)
            return try JSONBody.response(DeletedResponse(id))
        }
    }

    // MARK: Helpers

    static func id<Tag>(_ context: TenantRequestContext, _ what: String) throws -> Identifier<Tag> {
        guard let id = context.parameters.get("id").flatMap({ Identifier<Tag>($0) }) else { throw SwitchboardError.notFound(what) }
        return id
    }

}

// MARK: Resources

extension CRMRoutes {
    /// A contact as the API shows it.
    struct ContactResponse: APIResource {
        var id: String
        @Nullable var displayName: String?
        @Nullable var phone: String?
        @Nullable var email: String?
        @Nullable var username: String?
        @Nullable var language: String?
        var tags: [String]
        var identities: [Identity]
        var createdAt: Date
        var updatedAt: Date
        @Nullable var lastSeenAt: Date?

        /// Where the contact is known: a messenger's kind and its id there.
        struct Identity: Encodable, Sendable {
            var channelKind: String
            var externalID: String
            var createdAt: Date

            enum CodingKeys: String, CodingKey { case channelKind = "channel_kind", externalID = "external_id", createdAt = "created_at" }
        }

        init(_ contact: Contact) {
            id = contact.id.description
            displayName = contact.displayName
            phone = contact.phone
            email = contact.email
            username = contact.username
            language = contact.language
            tags = contact.tags
            identities = contact.identities.map { Identity(channelKind: $0.channelKind, externalID: $0.externalID, createdAt: $0.createdAt) }
            createdAt = contact.createdAt
            updatedAt = contact.updatedAt
            lastSeenAt = contact.lastSeenAt
        }

        enum CodingKeys: String, CodingKey {
            case id, displayName = "display_name", phone, email, username, language, tags, identities
            case createdAt = "created_at", updatedAt = "updated_at", lastSeenAt = "last_seen_at"
        }
    }

    /// A conversation as the API shows it: the chat it happens in, its status and who
    /// answers (`mode`).
    struct ConversationResponse: APIResource {
        var id: String
        var channelID: String
        var contactID: String
        var chat: Chat
        var status: String
        var createdAt: Date
        @Nullable var lastMessageAt: Date?
        @Nullable var closedAt: Date?
        var mode: String
        @Nullable var handoffReason: String?
        @Nullable var handoffAt: Date?
        @Nullable var assigneeUserID: String?

        struct Chat: Encodable, Sendable {
            var externalID: String
            var kind: String
            @Nullable var title: String?

            enum CodingKeys: String, CodingKey { case externalID = "external_id", kind, title }
        }

        init(_ conversation: Conversation) {
            id = conversation.id.description
            channelID = conversation.channelID.description
            contactID = conversation.contactID.description
            chat = Chat(externalID: conversation.chatExternalID, kind: conversation.chatKind, title: conversation.title)
            status = conversation.status.rawValue
            createdAt = conversation.createdAt
            lastMessageAt = conversation.lastMessageAt
            closedAt = conversation.closedAt
            mode = conversation.mode.rawValue
            handoffReason = conversation.handoffReason
            handoffAt = conversation.handoffAt
            assigneeUserID = conversation.assigneeUserID?.description
        }

        enum CodingKeys: String, CodingKey {
            case id, channelID = "channel_id", contactID = "contact_id", chat, status, createdAt = "created_at"
            case lastMessageAt = "last_message_at", closedAt = "closed_at", mode, handoffReason = "handoff_reason", handoffAt = "handoff_at"
            case assigneeUserID = "assignee_user_id"
        }
    }

    /// A message as the API shows it: what was said, and for an answer the model's
    /// account of it (agent, provider, model, usage) and how it went out.
    struct MessageResponse: APIResource {
        var id: String
        var conversationID: String
        @Nullable var contactID: String?
        var direction: String
        @Nullable var externalID: String?
        @Nullable var text: String?
        var attachments: [Attachment]
        var aiGenerated: Bool
        @Nullable var deliveryStatus: String?
        @Nullable var deliveryError: String?
        @Nullable var sentAt: Date?
        var createdAt: Date
        @Nullable var editedAt: Date?
        @Nullable var inReplyTo: String?
        @Nullable var agentID: String?
        @Nullable var providerID: String?
        @Nullable var model: String?
        @Nullable var usage: Usage?
        @Nullable var replyStatus: String?
        @Nullable var replyError: String?
        @Nullable var deletedAt: Date?
        @Nullable var deliveryErrorCode: String?
        @Nullable var sendTag: String?
        @Nullable var template: SendTemplate?
        /// On an inbound message: the tools the agent called answering it, in order.
        var toolCalls: [MessageToolCall]

        /// `details` holds the platform's own keys, as it wrote them.
        struct Attachment: Encodable, Sendable {
            var kind: String
            @Nullable var reference: String?
            @Nullable var mimeType: String?
            @Nullable var name: String?
            var details: [String: String]

            enum CodingKeys: String, CodingKey { case kind, reference, mimeType = "mime_type", name, details }
        }

        struct Usage: Encodable, Sendable {
            var inputTokens: Int
            var cachedInputTokens: Int
            var outputTokens: Int
            var reasoningTokens: Int
            var latencyMs: Int

            enum CodingKeys: String, CodingKey {
                case inputTokens = "input_tokens", cachedInputTokens = "cached_input_tokens", outputTokens = "output_tokens"
                case reasoningTokens = "reasoning_tokens", latencyMs = "latency_ms"
            }
        }

        init(_ message: Message) {
            id = message.id.description
            conversationID = message.conversationID.description
            contactID = message.contactID?.description
            direction = message.direction
            externalID = message.externalID
            text = message.text
            attachments = message.attachments.map {
                Attachment(kind: $0.kind, reference: $0.reference, mimeType: $0.mimeType, name: $0.name, details: $0.details)
            }
            aiGenerated = message.aiGenerated
            deliveryStatus = message.deliveryStatus?.rawValue
            deliveryError = message.deliveryError
            sentAt = message.sentAt
            createdAt = message.createdAt
            editedAt = message.editedAt
            inReplyTo = message.inReplyTo?.description
            agentID = message.agentID?.description
            providerID = message.providerID?.description
            model = message.model
            usage = message.usage.map {
                Usage(
                    inputTokens: $0.input, cachedInputTokens: $0.cachedInput, outputTokens: $0.output, reasoningTokens: $0.reasoning,
                    latencyMs: $0.latencyMilliseconds
                )
            }
            replyStatus = message.replyStatus?.rawValue
            replyError = message.replyError
            deletedAt = message.deletedAt
            deliveryErrorCode = message.deliveryErrorCode
            sendTag = message.sendTag
            template = message.template
            toolCalls = message.toolCalls
        }

        enum CodingKeys: String, CodingKey {
            case id, conversationID = "conversation_id", contactID = "contact_id", direction, externalID = "external_id", text
            case attachments, aiGenerated = "ai_generated", deliveryStatus = "delivery_status", deliveryError = "delivery_error"
            case sentAt = "sent_at", createdAt = "created_at", editedAt = "edited_at", inReplyTo = "in_reply_to"
            case agentID = "agent_id", providerID = "provider_id", model, usage, replyStatus = "reply_status", replyError = "reply_error"
            case deletedAt = "deleted_at", deliveryErrorCode = "delivery_error_code", sendTag = "send_tag", template
            case toolCalls = "tool_calls"
        }
    }

    /// A note on a contact.
    struct NoteResponse: APIResource {
        var id: String
        var contactID: String
        var body: String
        var createdAt: Date

        init(_ note: Note) {
            id = note.id.description
            contactID = note.contactID.description
            body = note.body
            createdAt = note.createdAt
        }

        enum CodingKeys: String, CodingKey { case id, contactID = "contact_id", body, createdAt = "created_at" }
    }

    /// A deal: amount and currency are both set or both `null`.
    struct DealResponse: APIResource {
        var id: String
        var contactID: String
        var title: String
        var stage: String
        @Nullable var amountMinor: Int64?
        @Nullable var currency: String?
        var createdAt: Date
        var updatedAt: Date

        init(_ deal: Deal) {
            id = deal.id.description
            contactID = deal.contactID.description
            title = deal.title
            stage = deal.stage
            amountMinor = deal.amountMinor
            currency = deal.currency
            createdAt = deal.createdAt
            updatedAt = deal.updatedAt
        }

        enum CodingKeys: String, CodingKey {
            case id, contactID = "contact_id", title, stage, amountMinor = "amount_minor", currency
            case createdAt = "created_at", updatedAt = "updated_at"
        }
    }
}
