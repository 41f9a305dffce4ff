public import ConnectorKit
import Foundation

extension WhatsAppConnector {
    /// Reads every entry and change of a delivery: messages become `.message` events,
    /// statuses `.status` events; other fields, other phone numbers and message types
    /// Switchboard does not read become `.ignored` events.
    public func parse(_ delivery: WebhookDelivery, credentials: ChannelCredentials) throws(ConnectorError) -> [InboundEvent] {
        let notification: WhatsAppNotification
        do {
            notification = try JSONDecoder().decode(WhatsAppNotification.self, from: Data(delivery.body))
        } catch let error as DecodingError {
            guard let field = error.fieldPath else {
                throw ConnectorError(.malformed, "the delivery is not a JSON object, or a number in it is out of range")
            }
            throw ConnectorError(.malformed, "the delivery's \(field) \(error.problem)", field: field)
        } catch {
            throw ConnectorError(.malformed, "the delivery could not be read")
        }

        guard notification.object == Self.businessAccountObject else {
            // Signed by the app, but for another product (a page, Instagram): acknowledge it.
            let digest = Signature.hmacSHA256Hex(message: delivery.body, key: []).prefix(32)
            return [
                InboundEvent(
                    kind: .ignored, eventID: "ignored:object:\(digest)", ignoredReason: "object:\(notification.object)")
            ]
        }

        var events: [InboundEvent] = []
        var ordinal = 0
        for (entryIndex, entry) in notification.entry.enumerated() {
            for (changeIndex, change) in entry.changes.enumerated() {
                ordinal += 1
                let path = "entry[\(entryIndex)].changes[\(changeIndex)].value"
                if let template = change.templateStatus {
                    events.append(Self.event(template, time: entry.time, body: delivery.body))
                    continue
                }
                guard change.field == "messages", let value = change.value else {
                    events.append(
                        InboundEvent(
                            kind: .ignored, eventID: "ignored:\(entry.id):\(change.field):\(ordinal)",
                            ignoredReason: "field:\(change.field)"))
                    continue
                }
                guard value.metadata.phoneNumberID == credentials["phone_number_id"] else {
                    events.append(
                        InboundEvent(
                            kind: .ignored, eventID: "ignored:\(entry.id):other_phone_number:\(ordinal)",
                            ignoredReason: "other_phone_number"))
                    continue
                }
                let messages = value.messages ?? []
                let statuses = value.statuses ?? []
                for (index, message) in messages.enumerated() {
                    events.append(try Self.event(message, contacts: value.contacts ?? [], path: "\(path).messages[\(index)]"))
                }
                for status in statuses {
                    events.append(Self.event(status))
                }
                if messages.isEmpty && statuses.isEmpty {
                    events.append(
                        InboundEvent(
                            kind: .ignored, eventID: "ignored:\(entry.id):messages:\(ordinal)",
                            ignoredReason: value.errors?.isEmpty == false ? "errors" : "empty"))
                }
            }
        }
        return events
    }

    private static func event(
        _ message: WhatsAppNotification.Message, contacts: [WhatsAppNotification.Contact], path: String
    ) throws(ConnectorError) -> InboundEvent {
        guard !message.id.isEmpty else {
            throw ConnectorError(.malformed, "the delivery's \(path).id is empty", field: "\(path).id")
        }
        let sender = try sender(message, contacts: contacts, path: path)
        var event = InboundEvent(
            kind: .message, eventID: message.id, messageID: message.id, sender: sender,
            chat: InboundEvent.Chat(externalID: sender.externalID, kind: .direct),
            sentAt: PlatformTime.date(unixSeconds: message.timestamp.seconds))

        func missing(_ field: String) -> ConnectorError {
            ConnectorError(.malformed, "the delivery's \(path).\(field) is missing", field: "\(path).\(field)")
        }

        switch message.type {
        case "text":
            guard let text = message.text else { throw missing("text") }
            try TextLengthLimit.messageText.check(text.body, field: "\(path).text.body")
            event.text = text.body
        case "image", "video", "audio", "document", "sticker":
            guard let media = message.media else { throw missing(message.type) }
            var details: [String: String] = [:]
            details["sha256"] = media.sha256
            if media.animated == true { details["animated"] = "true" }
            let kind = message.type == "audio" && media.voice == true ? "voice" : message.type
            try TextLengthLimit.caption.check(media.caption, field: "\(path).\(message.type).caption")
            event.text = media.caption
            event.attachments = [
                InboundEvent.Attachment(
                    kind: kind, reference: media.id, mimeType: media.mimeType, name: media.filename, details: details)
            ]
        case "location":
            guard let location = message.location else { throw missing("location") }
            var details = ["latitude": String(location.latitude), "longitude": String(location.longitude)]
            details["address"] = location.address
            event.attachments = [InboundEvent.Attachment(kind: "location", name: location.name, details: details)]
        case "interactive":
            guard let interactive = message.interactive else { throw missing("interactive") }
            let reply: WhatsAppNotification.Interactive.Reply?
            switch interactive.type {
            case "button_reply": reply = interactive.buttonReply
            case "list_reply": reply = interactive.listReply
            default:
                event.kind = .ignored
                event.ignoredReason = "type:interactive:\(interactive.type)"
                return event
            }
            guard let reply else { throw missing("interactive.\(interactive.type)") }
            var details: [String: String] = [:]
            details["description"] = reply.description
            event.text = reply.title
            event.attachments = [InboundEvent.Attachment(kind: "button", reference: reply.id, details: details)]
        case "button":
            guard let button = message.button else { throw missing("button") }
            event.text = button.text
            event.attachments = [InboundEvent.Attachment(kind: "button", reference: button.payload ?? button.text)]
        case "reaction":
            guard let reaction = message.reaction else { throw missing("reaction") }
            let emoji = reaction.emoji ?? ""
            event.attachments = [
                InboundEvent.Attachment(
                    kind: "reaction", reference: reaction.messageID, name: emoji,
                    details: emoji.isEmpty ? ["removed": "true"] : [:])
            ]
        case "contacts":
            guard let shared = message.contacts, !shared.isEmpty else { throw missing("contacts") }
            event.attachments = shared.map { contact in
                var details: [String: String] = [:]
                details["phone"] = contact.phones?.first?.phone
                details["wa_id"] = contact.phones?.first?.waID
                return InboundEvent.Attachment(kind: "contact", name: contact.name?.formattedName, details: details)
            }
        default:
            // unsupported, system, order, request_welcome, …
            event.kind = .ignored
            event.ignoredReason = "type:\(message.type)"
        }
        return event
    }

    /// The sender: the phone number (`from`, `wa_id`) when WhatsApp shares it, else the
    /// business-scoped user id (`from_user_id`, `user_id`), which then is the identity;
    /// with both, the user id is an alternate id.
    private static func sender(
        _ message: WhatsAppNotification.Message, contacts: [WhatsAppNotification.Contact], path: String
    ) throws(ConnectorError) -> InboundEvent.Sender {
        let from = message.from.flatMap { $0.isEmpty ? nil : $0 }
        let fromUserID = message.fromUserID.flatMap { $0.isEmpty ? nil : $0 }
        let contact =
            contacts.first { from != nil && $0.waID == from }
            ?? contacts.first { fromUserID != nil && $0.userID == fromUserID }
            ?? (contacts.count == 1 && (from == nil || contacts[0].waID == nil) ? contacts[0] : nil)
        let waID = from ?? contact?.waID.flatMap { $0.isEmpty ? nil : $0 }
        let userID = fromUserID ?? contact?.userID.flatMap { $0.isEmpty ? nil : $0 }
        guard let externalID = waID ?? userID else {
            throw ConnectorError(
                .malformed, "the delivery's \(path) has no sender (from, from_user_id or a contact)", field: "\(path).from")
        }
        var alternateIDs: [String] = []
        if waID != nil, let userID, userID != externalID { alternateIDs.append(userID) }
        let phone = waID.flatMap { id in id.utf8.allSatisfy { (0x30...0x39).contains($0) } ? id : nil }
        return InboundEvent.Sender(
            externalID: externalID, name: contact?.profile?.name, username: contact?.profile?.username, phone: phone,
            alternateIDs: alternateIDs)
    }

    /// A template's status change: ignored (nothing to answer), its name, language and
    /// new state kept in `ignoredReason` as `template_status:<name>:<language>:<event>`,
    /// keyed by template, event and the entry's time.
    private static func event(_ template: WhatsAppNotification.TemplateStatus, time: WhatsAppNotification.UnixTime?, body: [UInt8]) -> InboundEvent {
        let event = token(template.event, limit: 32)
        // Without the entry's time, the delivery itself tells two identical changes apart.
        let when = time.map { String($0.seconds) } ?? String(Signature.hmacSHA256Hex(message: body, key: []).prefix(32))
        return InboundEvent(
            kind: .ignored, eventID: "template:\(token(template.templateID, limit: 64)):\(event):\(when)",
            ignoredReason: "template_status:\(token(template.name, limit: 512)):\(token(template.language, limit: 32)):\(event)")
    }

    /// `text` cut to `limit` and kept to letters, digits and `_-.`; anything else is `_`.
    private static func token(_ text: String, limit: Int) -> String {
        String(
            String.UnicodeScalarView(
                text.unicodeScalars.prefix(limit).map { scalar in
                    switch scalar.value {
                    case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, 0x2D, 0x2E, 0x5F: scalar
                    default: "_"
                    }
                }))
    }

    private static func event(_ status: WhatsAppNotification.Status) -> InboundEvent {
        let error = status.errors?.first
        let recipient = status.recipientID ?? status.recipientUserID
        return InboundEvent(
            kind: .status, eventID: "\(status.id):\(status.status)", messageID: status.id,
            chat: recipient.map { InboundEvent.Chat(externalID: $0, kind: .direct) },
            sentAt: PlatformTime.date(unixSeconds: status.timestamp.seconds), status: status.status,
            statusError: error?.title ?? error?.message)
    }
}
