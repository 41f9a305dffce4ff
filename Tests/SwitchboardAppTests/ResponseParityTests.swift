// TEMPORARY: the old hand-built converters against the resource types that replace them.
import Foundation
@testable import SwitchboardApp
import SwitchboardCore
import Testing

enum Old {
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
    static func json(_ agent: Agent) -> JSONValue {
        .object([
            "id": .string(agent.id.description),
            "name": .string(agent.name),
            "provider_id": .string(agent.providerID.description),
            "model": .string(agent.model),
            "system_prompt": .string(agent.systemPrompt),
            "temperature": .number(agent.temperature),
            "max_output_tokens": .integer(agent.maxOutputTokens.map(Int64.init)),
            "history_messages": .integer(Int64(agent.historyMessages)),
            "fallbacks": .array(agent.fallbacks.map {
                .object(["provider_id": .string($0.providerID.description), "model": .string($0.model)])
            }),
            "handoff_keywords": .strings(agent.handoffKeywords),
            "faq": .array(agent.faq.map { .object(["question": .string($0.question), "answer": .string($0.answer)]) }),
            "out_of_credits_reply": .string(agent.outOfCreditsReply),
            "speech_to_text_model": .string(agent.speechToTextModel),
            "created_at": .date(agent.createdAt),
            "updated_at": .date(agent.updatedAt),
        ])
    }
    static func json(_ provider: Provider) -> JSONValue {
        .object([
            "id": .string(provider.id.description),
            "name": .string(provider.name),
            "kind": .string(provider.kind.rawValue),
            "base_url": .string(provider.baseURL ?? provider.kind.defaultBaseURL),
            "region": .string(provider.region),
            "has_api_key": .bool(provider.hasAPIKey),
            "created_at": .date(provider.createdAt),
            "updated_at": .date(provider.updatedAt),
        ])
    }
    static func json(_ channel: SwitchboardCore.Channel, revealed: [String: String] = [:]) -> JSONValue {
        var object: [String: JSONValue] = [
            "id": .string(channel.id.description),
            "kind": .string(channel.kind),
            "name": .string(channel.name),
            "agent_id": .id(channel.agentID.map { $0.uuidString.lowercased() }),
            "enabled": .bool(channel.enabled),
            "credential_fields": .strings(channel.credentialFields),
            "webhook_url": .string("https://example.test/hooks/\(channel.id)"),
            "created_at": .date(channel.createdAt),
            "updated_at": .date(channel.updatedAt),
        ]
        if !revealed.isEmpty { object["credentials"] = .object(revealed.mapValues { .string($0) }) }
        return .object(object)
    }
    static func render(_ policy: PrivacyPolicy) -> JSONValue {
        .object([
            "retention": .object([
                "conversation_days": .integer(policy.conversationDays.map(Int64.init)),
                "log_days": .integer(Int64(policy.logDays)), "ledger_years": .integer(Int64(policy.ledgerYears)),
                "keep_contacts": .bool(policy.keepContacts),
            ]),
            "redact_pii": .bool(policy.redactPII),
            "allowed_regions": policy.allowedRegions.map(JSONValue.strings) ?? .null,
            "home_region": .string(policy.homeRegion),
            "ai_label": .string(policy.aiLabel),
        ])
    }

    static func render(_ consent: Consent) -> JSONValue {
        .object([
            "id": .string(consent.id.uuidString.lowercased()), "contact_id": .string(consent.contactID.description),
            "purpose": .string(consent.purpose.rawValue), "granted": .bool(consent.granted), "source": .string(consent.source),
            "recorded_at": .date(consent.recordedAt),
        ])
    }

}

@Suite struct ResponseParityTests {
    func parsed(_ value: some Encodable) throws -> NSObject {
        try JSONSerialization.jsonObject(with: JSONBody.encoder.encode(value), options: [.fragmentsAllowed]) as! NSObject
    }

    func same(_ old: JSONValue, _ new: some Encodable) throws {
        let a = try parsed(old), b = try parsed(new)
        let oldText = String(decoding: try JSONBody.encoder.encode(old), as: UTF8.self)
        let newText = String(decoding: try JSONBody.encoder.encode(new), as: UTF8.self)
        #expect(a == b, "\(oldText)\n\(newText)")
        // Same bytes, too (sorted keys).
        #expect(oldText == newText)
    }

    let now = Date(timeIntervalSince1970: 1_796_664_533.987)
    let earlier = Date(timeIntervalSince1970: 1_700_000_000)

    @Test func crm() throws {
        let contact = Contact(
            id: ContactID(), displayName: "Ақерке 🌷", phone: nil, email: "a@b.kz", username: nil, language: "kk", tags: ["vip", "ü"],
            identities: [ContactIdentity(channelKind: "telegram", externalID: "123", createdAt: earlier)], createdAt: earlier, updatedAt: now,
            lastSeenAt: nil
        )
        try same(Old.json(contact), CRMRoutes.ContactResponse(contact))
        let bare = Contact(id: ContactID(), displayName: nil, phone: "+7 777", email: nil, username: "u/x", language: nil, tags: [], identities: [], createdAt: now, updatedAt: now, lastSeenAt: now)
        try same(Old.json(bare), CRMRoutes.ContactResponse(bare))
        for (title, closed, reason) in [(String?.none, Date?.none, String?.none), ("Чат \"q\"", now, "api")] {
            let conversation = Conversation(
                id: ConversationID(), channelID: ChannelID(), contactID: ContactID(), chatExternalID: "-100", chatKind: "group", title: title,
                status: closed == nil ? .open : .closed, createdAt: earlier, lastMessageAt: now, closedAt: closed, mode: reason == nil ? .ai : .human,
                handoffReason: reason, handoffAt: closed
            )
            try same(Old.json(conversation), CRMRoutes.ConversationResponse(conversation))
        }
        var message = Message(
            id: MessageID(), conversationID: ConversationID(), contactID: nil, direction: "inbound", externalID: nil, text: nil,
            attachments: [], aiGenerated: false, deliveryStatus: nil, sentAt: nil, createdAt: now, editedAt: nil
        )
        try same(Old.json(message), CRMRoutes.MessageResponse(message))
        message.contactID = ContactID()
        message.text = "Сәлем 👋 <b>&</b> \\ / \u{0}"
        message.attachments = [
            .init(kind: "photo", reference: "file/ABC", mimeType: "image/jpeg", name: "ф.jpg", details: ["fileUniqueId": "X", "Width": "800", "caption_entities": "[]", "ключ": "ü"]),
            .init(kind: "voice"),
        ]
        message.aiGenerated = true
        message.deliveryStatus = .sent
        message.sentAt = now
        message.editedAt = earlier
        message.deliveryError = "boom"
        message.inReplyTo = MessageID()
        message.agentID = AgentID()
        message.providerID = ProviderID()
        message.model = "gpt-4o-mini"
        message.usage = TokenCounts(input: 120, cachedInput: 0, output: 45, reasoning: 3, latencyMilliseconds: 812)
        message.replyStatus = ReplyStatus.allCases.first
        message.replyError = "x"
        try same(Old.json(message), CRMRoutes.MessageResponse(message))
        let note = Note(id: NoteID(), contactID: ContactID(), body: "жазба\nline", createdAt: now)
        try same(Old.json(note), CRMRoutes.NoteResponse(note))
        for (minor, currency) in [(Int64?.none, String?.none), (Int64.max, "KZT")] {
            let deal = Deal(id: DealID(), contactID: ContactID(), title: "Deal ✓", stage: "new", amountMinor: minor, currency: currency, createdAt: earlier, updatedAt: now)
            try same(Old.json(deal), CRMRoutes.DealResponse(deal))
        }
        let page = Page(data: [note, note], nextCursor: "abc/=")
        try same(Old.list(page, Old.json), ListResponse(page, CRMRoutes.NoteResponse.init))
        let empty = Page<Note>(data: [], nextCursor: nil)
        try same(Old.list(empty, Old.json), ListResponse(empty, CRMRoutes.NoteResponse.init))
    }

    @Test func agentsProvidersChannels() throws {
        let bare = Agent(id: AgentID(), settings: AgentSettings(name: "A", providerID: ProviderID(), model: "m", systemPrompt: "p"), createdAt: earlier, updatedAt: now)
        try same(Old.json(bare), AgentRoutes.AgentResponse(bare))
        let full = Agent(
            id: AgentID(),
            settings: AgentSettings(
                name: "Агент", providerID: ProviderID(), model: "m", systemPrompt: "Be kind.\n", temperature: 0.7, maxOutputTokens: 512,
                historyMessages: 7, fallbacks: [AgentFallback(providerID: ProviderID(), model: "f")], handoffKeywords: ["оператор", "human"],
                faq: [FAQEntry(question: "Q?", answer: "A!")], outOfCreditsReply: "later", speechToTextModel: "whisper-1"
            ),
            createdAt: earlier, updatedAt: now
        )
        try same(Old.json(full), AgentRoutes.AgentResponse(full))
        for kind in ProviderKind.allCases {
            for baseURL in [String?.none, "https://llm.example/v1"] {
                let provider = Provider(id: ProviderID(), name: "P", kind: kind, baseURL: baseURL, region: "eu", hasAPIKey: baseURL == nil, createdAt: earlier, updatedAt: now)
                try same(Old.json(provider), ProviderRoutes.ProviderResponse(provider))
            }
        }
        for agent in [UUID?.none, UUID()] {
            let channel = SwitchboardCore.Channel(
                id: ChannelID(), tenantID: TenantID(), kind: "telegram", name: "Bot", agentID: agent, enabled: agent != nil,
                credentialFields: ["bot_token", "secret_token"], createdAt: earlier, updatedAt: now
            )
            for revealed in [[:], ["secret_token": "s3cr3t", "WebhookSecret": "Ü/x"]] {
                try same(
                    Old.json(channel, revealed: revealed),
                    ChannelRoutes.ChannelResponse(channel, webhookURL: "https://example.test/hooks/\(channel.id)", revealed: revealed)
                )
            }
        }
    }

    @Test func privacy() throws {
        for policy in [PrivacyPolicy(), PrivacyPolicy(conversationDays: 30, redactPII: true, allowedRegions: ["eu", "kz"], homeRegion: "eu", aiLabel: "🤖 AI", keepContacts: true), PrivacyPolicy(allowedRegions: [])] {
            try same(Old.render(policy), PrivacyRoutes.PolicyResponse(policy))
        }
        let consent = Consent(id: UUID(), contactID: ContactID(), purpose: ConsentPurpose.allCases.last!, granted: false, source: "форма", recordedAt: now)
        try same(Old.render(consent), PrivacyRoutes.ConsentResponse(consent))
    }
}
