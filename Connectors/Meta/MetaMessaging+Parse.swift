public import ConnectorKit
import Foundation

extension MetaMessaging {
    /// The shortest mid a delivery receipt's `mids` is read for.
    static let minimumReceiptMIDLength = 16

    /// Why events of the `standby` channel are kept but never answered.
    static let standbyNoReply = "another app holds the thread (handover protocol)"

    /// Reads every entry of a delivery, and every `messaging` and `standby` item in it,
    /// into one event each (a delivery receipt naming several messages: one per message).
    func parse(_ delivery: WebhookDelivery, credentials: ChannelCredentials) throws(ConnectorError) -> [InboundEvent] {
        let webhook: MetaWebhook
        do {
            let decoder = JSONDecoder()
            decoder.userInfo[MetaWebhook.expectedObjectKey] = platform.object
            webhook = try decoder.decode(MetaWebhook.self, from: Data(delivery.body))
        } catch let error as DecodingError {
            guard let field = error.fieldPath else {
                throw ConnectorError(.malformed, "the delivery is not a JSON object, or a number in it is out of range")
            }
            throw ConnectorError(.malformed, "the delivery's \(field) \(error.problem)", field: field)
        } catch {
            throw ConnectorError(.malformed, "the delivery could not be read")
        }

        guard webhook.object == platform.object else {
            // Signed by the app, but for another product: acknowledged, not read.
            let digest = Signature.hmacSHA256Hex(message: delivery.body, key: []).prefix(32)
            return [
                InboundEvent(kind: .ignored, eventID: "ignored:object:\(digest)", ignoredReason: "object:\(webhook.object)")
            ]
        }

        let accounts = Set(platform.accountIDFields.compactMap { credentials[$0] }.filter { !$0.isEmpty })
        var events: [InboundEvent] = []
        for (entryIndex, entry) in webhook.entry.enumerated() {
            guard accounts.contains(entry.id.value) else {
                // An entry with nothing in it reports nothing: only one with items is recorded.
                guard entry.messaging != nil || entry.standby != nil || entry.changes != nil else { continue }
                events.append(
                    InboundEvent(
                        kind: .ignored, eventID: "ignored:\(entry.id.value):other_account:\(entryIndex)",
                        ignoredReason: "entry for another account"))
                continue
            }
            let before = events.count
            for (index, item) in (entry.messaging ?? []).enumerated() {
                events += try Self.events(item, path: "entry[\(entryIndex)].messaging[\(index)]")
            }
            for (index, item) in (entry.standby ?? []).enumerated() {
                for var event in try Self.events(item, path: "entry[\(entryIndex)].standby[\(index)]") {
                    event.noReply = Self.standbyNoReply
                    events.append(event)
                }
            }
            // Fields delivered as changes (comments, mentions): one event per entry naming
            // them, so that a list of tiny changes cannot make an event each.
            var fields: [String] = []
            for change in entry.changes ?? [] where !fields.contains(change.field) { fields.append(change.field) }
            if !fields.isEmpty {
                let named = fields.joined(separator: ",")
                events.append(
                    InboundEvent(
                        kind: .ignored, eventID: "ignored:\(entry.id.value):changes:\(entryIndex)", ignoredReason: "field:\(named)"))
            }
            if events.count == before {
                events.append(
                    InboundEvent(kind: .ignored, eventID: "ignored:\(entry.id.value):empty:\(entryIndex)", ignoredReason: "empty"))
            }
        }
        return events
    }

    /// The events of one item: exactly one, except a delivery receipt naming several mids.
    private static func events(_ item: MetaWebhook.Item, path: String) throws(ConnectorError) -> [InboundEvent] {
        func malformed(_ field: String, _ problem: String) -> ConnectorError {
            ConnectorError(.malformed, "the delivery's \(path).\(field) \(problem)", field: "\(path).\(field)")
        }
        let senderID = item.sender?.id?.value ?? ""
        let timestamp = item.timestamp?.value
        // Meta's items always say who and when; one with neither is no event (and a few
        // bytes of `{}` must not make an event each).
        guard !senderID.isEmpty || timestamp != nil else { throw malformed("sender", "is missing") }
        let stamp = timestamp.map(String.init) ?? "-"
        let sentAt = item.timestamp?.date
        // Every event but an ignored one is about a person: their id is required.
        func contact(_ id: String, field: String) throws(ConnectorError) -> String {
            guard !id.isEmpty else { throw malformed(field, "is missing") }
            return id
        }
        func chat(_ id: String) -> InboundEvent.Chat { InboundEvent.Chat(externalID: id, kind: .direct) }

        if let message = item.message {
            guard !message.mid.isEmpty else { throw malformed("message.mid", "is empty") }
            let isEcho = message.isEcho == true
            let person = try isEcho
                ? contact(item.recipient?.id?.value ?? "", field: "recipient.id") : contact(senderID, field: "sender.id")
            var event = InboundEvent(
                kind: .message, eventID: message.mid, messageID: message.mid, sender: InboundEvent.Sender(externalID: person),
                chat: chat(person), sentAt: sentAt, fromBusiness: isEcho)
            if message.isDeleted == true {
                event.kind = .delete
                event.eventID = "delete:\(message.mid)"
                return [event]
            }
            if message.isUnsupported == true {
                event.kind = .ignored
                event.ignoredReason = "message:unsupported"
                return [event]
            }
            event.text = message.text
            event.attachments = (message.attachments ?? []).map(attachment)
            if let story = message.replyTo?.story {
                var details: [String: String] = [:]
                details["story_id"] = story.id?.value
                event.attachments.append(InboundEvent.Attachment(kind: "story_reply", reference: story.url ?? story.id?.value, details: details))
            }
            if let quickReply = message.quickReply {
                event.attachments.append(InboundEvent.Attachment(kind: "button", reference: quickReply.payload))
            }
            if let repliedTo = message.replyTo?.mid, !repliedTo.isEmpty {
                event.threadKeys = [repliedTo]
            }
            return [event]
        }

        if let postback = item.postback {
            let person = try contact(senderID, field: "sender.id")
            let mid = postback.mid.flatMap { $0.isEmpty ? nil : $0 }
            return [
                InboundEvent(
                    kind: .message, eventID: mid ?? "postback:\(person):\(stamp)", messageID: mid,
                    sender: InboundEvent.Sender(externalID: person), chat: chat(person), text: postback.title,
                    attachments: [InboundEvent.Attachment(kind: "button", reference: postback.payload ?? postback.title)],
                    sentAt: sentAt)
            ]
        }

        if let reaction = item.reaction {
            let person = try contact(senderID, field: "sender.id")
            guard !reaction.mid.isEmpty else { throw malformed("reaction.mid", "is empty") }
            let removed = reaction.action == "unreact"
            var details: [String: String] = [:]
            details["reaction"] = reaction.reaction
            if removed { details["removed"] = "true" }
            return [
                InboundEvent(
                    kind: .message, eventID: "reaction:\(reaction.mid):\(person):\(stamp)",
                    sender: InboundEvent.Sender(externalID: person), chat: chat(person),
                    attachments: [
                        InboundEvent.Attachment(
                            kind: "reaction", reference: reaction.mid, name: removed ? nil : (reaction.emoji ?? reaction.reaction),
                            details: details)
                    ],
                    sentAt: sentAt)
            ]
        }

        if let edit = item.messageEdit {
            let person = try contact(senderID, field: "sender.id")
            guard !edit.mid.isEmpty else { throw malformed("message_edit.mid", "is empty") }
            let count = edit.numEdit.map { String($0.value) } ?? "0"
            return [
                InboundEvent(
                    kind: .edit, eventID: "edit:\(edit.mid):\(count)", messageID: edit.mid,
                    sender: InboundEvent.Sender(externalID: person), chat: chat(person), text: edit.text, sentAt: sentAt)
            ]
        }

        if let read = item.read {
            let person = try contact(senderID, field: "sender.id")
            if let mid = read.mid, !mid.isEmpty {
                return [
                    InboundEvent(
                        kind: .status, eventID: "\(mid):read", messageID: mid, chat: chat(person), sentAt: sentAt, status: "read")
                ]
            }
            return [
                InboundEvent(
                    kind: .status, eventID: "read:\(person):\(stamp)", chat: chat(person), sentAt: read.watermark?.date ?? sentAt,
                    status: "read")
            ]
        }

        if let delivery = item.delivery {
            let person = try contact(senderID, field: "sender.id")
            // A mid shorter than Meta's (Messenger's are `m_` and 40-odd characters,
            // Instagram's 90-odd) names no message of ours: it is skipped, so that a few
            // bytes cannot make an event each.
            let mids = (delivery.mids ?? []).filter { $0.utf8.count >= Self.minimumReceiptMIDLength }
            if mids.isEmpty {
                return [
                    InboundEvent(
                        kind: .status, eventID: "delivery:\(person):\(stamp)", chat: chat(person),
                        sentAt: delivery.watermark?.date ?? sentAt, status: "delivered")
                ]
            }
            var seen: Set<String> = []
            return mids.filter { seen.insert($0).inserted }.map { mid in
                InboundEvent(
                    kind: .status, eventID: "\(mid):delivered", messageID: mid, chat: chat(person),
                    sentAt: delivery.watermark?.date ?? sentAt, status: "delivered")
            }
        }

        // referral, optin, account_linking, policy_enforcement, pass_thread_control, …
        let field = item.otherFields.first ?? "empty"
        let person = senderID.isEmpty ? "-" : senderID
        return [
            InboundEvent(
                kind: .ignored, eventID: "\(field):\(person):\(stamp)",
                chat: senderID.isEmpty ? nil : chat(senderID), sentAt: sentAt,
                ignoredReason: item.otherFields.isEmpty ? "empty" : "field:\(field)")
        ]
    }

    /// An attachment as Switchboard names it: media by type, shared posts and reels as
    /// `share`, story mentions as `story_mention`; anything else a `file` with its type.
    private static func attachment(_ attachment: MetaWebhook.Attachment) -> InboundEvent.Attachment {
        let payload = attachment.payload
        var details: [String: String] = [:]
        let kind: String
        switch attachment.type {
        case "image", "video", "audio", "file", "story_mention":
            kind = attachment.type
        case "share", "ig_reel", "reel", "ig_post", "fallback", "template":
            kind = "share"
            if attachment.type != "share" { details["type"] = attachment.type }
        default:
            kind = "file"
            details["type"] = attachment.type
        }
        details["sticker_id"] = payload?.stickerID?.value
        return InboundEvent.Attachment(kind: kind, reference: payload?.url, name: payload?.title, details: details)
    }
}
