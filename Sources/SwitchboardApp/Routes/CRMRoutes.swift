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
            return try JSONBody.response(Self.list(page, Self.json))
        }
        group.get("/contacts/{id}") { _, context in
            try JSONBody.response(Self.json(try await contacts.get(context.tenantID, try Self.id(context, "contact"))))
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
            return try JSONBody.response(Self.json(contact))
        }
        group.post("/contacts/{id}/merge") { request, context in
            let target: ContactID = try Self.id(context, "contact")
            let body = try await JSONBody.decode(MergeBody.self, from: request, context: context)
            guard let source = ContactID(body.contactID) else {
                throw SwitchboardError(.notFound, "contact to merge not found", field: "contact_id")
            }
            let contact = try await contacts.merge(context.tenantID, into: target, from: source)
            context.logger.info("contacts merged", metadata: ["contact.id": "\(target)", "merged.contact.id": "\(source)"])
            return try JSONBody.response(Self.json(contact))
        }
        group.get("/contacts/{id}/notes") { request, context in
            let page = try await contacts.notes(context.tenantID, contact: try Self.id(context, "contact"), page: try request.pageRequest())
            return try JSONBody.response(Self.list(page, Self.json))
        }
        group.post("/contacts/{id}/notes") { request, context in
            let contact: ContactID = try Self.id(context, "contact")
            let body = try await JSONBody.decode(NoteBody.self, from: request, context: context)
            let text = try FieldRule.noteBody.check(body.body, field: "body")
            return try JSONBody.response(Self.json(try await contacts.addNote(context.tenantID, contact: contact, body: text)), status: .created)
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
            return try JSONBody.response(Self.list(page, Self.json))
        }
        group.get("/conversations/{id}") { _, context in
            try JSONBody.response(Self.json(try await conversations.get(context.tenantID, try Self.id(context, "conversation"))))
        }
        group.get("/conversations/{id}/messages") { request, context in
            let page = try await conversations.messages(
                context.tenantID, try Self.id(context, "conversation"), page: try request.pageRequest()
            )
            return try JSONBody.response(Self.list(page, Self.json))
        }
        group.post("/conversations/{id}/close") { _, context in
            let conversation = try await conversations.setStatus(context.tenantID, try Self.id(context, "conversation"), .closed)
            return try JSONBody.response(Self.json(conversation))
        }
        group.post("/conversations/{id}/reopen") { _, context in
            let conversation = try await conversations.setStatus(context.tenantID, try Self.id(context, "conversation"), .open)
            return try JSONBody.response(Self.json(conversation))
        }
        group.post("/conversations/{id}/handoff") { request, context in
            let body = try await JSONBody.decode(HandoffBody.self, from: request, context: context)
            let reason = try body.reason.map { try FieldRule.shortName.check($0, field: "reason") } ?? "api"
            let conversation = try await conversations.setMode(context.tenantID, try Self.id(context, "conversation"), .human, reason: reason)
            context.logger.info("conversation handed off", metadata: ["conversation.id": "\(conversation.id)"])
            return try JSONBody.response(Self.json(conversation))
        }
        group.post("/conversations/{id}/resume") { _, context in
            let conversation = try await conversations.setMode(context.tenantID, try Self.id(context, "conversation"), .ai, reason: nil)
            return try JSONBody.response(Self.json(conversation))
        }
        group.post("/conversations/{id}/messages") { request, context in
            let body = try await JSONBody.decode(PersonMessageBody.self, from: request, context: context)
            let text = try FieldRule.personMessage.check(body.text, field: "text")
            let message = try await conversations.postPersonMessage(context.tenantID, try Self.id(context, "conversation"), text: text)
            return try JSONBody.response(Self.json(message), status: .accepted)
        }
    }

    struct HandoffBody: RequestBody {
        var reason: String?
        enum CodingKeys: String, CodingKey, CaseIterable { case reason }
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
            return try JSONBody.response(Self.json(deal), status: .created)
        }
        group.get("/deals") { request, context in
            var contact: ContactID?
            if let text = request.uri.queryParameters["contact_id"].map(String.init) {
                guard let id = ContactID(text) else { throw SwitchboardError(.notFound, "contact not found", field: "contact_id") }
                _ = try await contacts.get(context.tenantID, id)
                contact = id
            }
            let page = try await deals.list(context.tenantID, contact: contact, page: try request.pageRequest())
            return try JSONBody.response(Self.list(page, Self.json))
        }
        group.get("/deals/{id}") { _, context in
            try JSONBody.response(Self.json(try await deals.get(context.tenantID, try Self.id(context, "deal"))))
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
            return try JSONBody.response(Self.json(try await deals.update(context.tenantID, id, changes)))
        }
        group.delete("/deals/{id}") { _, context in
            let id: DealID = try Self.id(context, "deal")
            try await deals.delete(context.tenantID, id)
            return try JSONBody.response(JSONValue.object(["id": .string(id.description), "deleted": true]))
        }
    }

    // MARK: Helpers

    static func id<Tag>(_ context: TenantRequestContext, _ what: String) throws -> Identifier<Tag> {
        guard let id = context.parameters.get("id").flatMap({ Identifier<Tag>($0) }) else { throw SwitchboardError.notFound(what) }
        return id
    }

    static func list<Element>(_ page: Page<Element>, _ render: (Element) -> JSONValue) -> JSONValue {
        .object(["data": .array(page.data.map(render)), "next_cursor": .string(page.nextCursor)])
    }

    static func json(_ contact: Contact) -> JSONValue {
        .object([
            "id": .string(contact.id.description),
            "display_name": .string(contact.displayName),
            "phone": .string(contact.phone),
            "email": .string(contact.email),
            "username": .string(contact.username),
            "language": .string(contact.language),
            "tags": .strings(contact.tags),
            "identities": .array(contact.identities.map {
                .object(["channel_kind": .string($0.channelKind), "external_id": .string($0.externalID), "created_at": .date($0.createdAt)])
            }),
            "created_at": .date(contact.createdAt),
            "updated_at": .date(contact.updatedAt),
            "last_seen_at": .date(contact.lastSeenAt),
        ])
    }

    static func json(_ conversation: Conversation) -> JSONValue {
        .object([
            "id": .string(conversation.id.description),
            "channel_id": .string(conversation.channelID.description),
            "contact_id": .string(conversation.contactID.description),
            "chat": .object([
                "external_id": .string(conversation.chatExternalID), "kind": .string(conversation.chatKind),
                "title": .string(conversation.title),
            ]),
            "status": .string(conversation.status.rawValue),
            "created_at": .date(conversation.createdAt),
            "last_message_at": .date(conversation.lastMessageAt),
            "closed_at": .date(conversation.closedAt),
            "mode": .string(conversation.mode.rawValue),
            "handoff_reason": .string(conversation.handoffReason),
            "handoff_at": .date(conversation.handoffAt),
        ])
    }

    static func json(_ message: Message) -> JSONValue {
        .object([
            "id": .string(message.id.description),
            "conversation_id": .string(message.conversationID.description),
            "contact_id": .id(message.contactID),
            "direction": .string(message.direction),
            "external_id": .string(message.externalID),
            "text": .string(message.text),
            "attachments": .array(message.attachments.map {
                .object([
                    "kind": .string($0.kind), "reference": .string($0.reference), "mime_type": .string($0.mimeType),
                    "name": .string($0.name), "details": .object($0.details.mapValues { .string($0) }),
                ])
            }),
            "ai_generated": .bool(message.aiGenerated),
            "delivery_status": .string(message.deliveryStatus?.rawValue),
            "delivery_error": .string(message.deliveryError),
            "sent_at": .date(message.sentAt),
            "created_at": .date(message.createdAt),
            "edited_at": .date(message.editedAt),
            "in_reply_to": .id(message.inReplyTo),
            "agent_id": .id(message.agentID),
            "provider_id": .id(message.providerID),
            "model": .string(message.model),
            "usage": message.usage.map {
                .object([
                    "input_tokens": .integer(Int64($0.input)), "cached_input_tokens": .integer(Int64($0.cachedInput)),
                    "output_tokens": .integer(Int64($0.output)), "reasoning_tokens": .integer(Int64($0.reasoning)),
                    "latency_ms": .integer(Int64($0.latencyMilliseconds)),
                ])
            } ?? .null,
            "reply_status": .string(message.replyStatus?.rawValue),
            "reply_error": .string(message.replyError),
        ])
    }

    static func json(_ note: Note) -> JSONValue {
        .object([
            "id": .string(note.id.description), "contact_id": .string(note.contactID.description), "body": .string(note.body),
            "created_at": .date(note.createdAt),
        ])
    }

    static func json(_ deal: Deal) -> JSONValue {
        .object([
            "id": .string(deal.id.description), "contact_id": .string(deal.contactID.description), "title": .string(deal.title),
            "stage": .string(deal.stage), "amount_minor": .integer(deal.amountMinor), "currency": .string(deal.currency),
            "created_at": .date(deal.createdAt), "updated_at": .date(deal.updatedAt),
        ])
    }
}
