import ConnectorKit
import Foundation
import Testing
import WhatsAppConnector

@Suite("WhatsApp webhook bodies")
struct WhatsAppParseTests {
    @Test("an inbound text names the contact and uses the wamid as event and message id")
    func text() throws {
        let event = try WhatsApp.event("text")
        let wamid = "wamid.HBgLNzcwMTEyMzQ1NjcVAgASGBQzQTk4RkE1QTc1QjQ0QkQ2QjQ2AA=="
        #expect(
            event
                == InboundEvent(
                    kind: .message, eventID: wamid, messageID: wamid,
                    sender: InboundEvent.Sender(externalID: "77011234567", name: "Nurlan", phone: "77011234567"),
                    chat: InboundEvent.Chat(externalID: "77011234567", kind: .direct),
                    text: "Salem! Is the store open today?", sentAt: WhatsApp.date(1_763_900_400)))
    }

    @Test("a delivered status is a status event keyed wamid:status")
    func delivered() throws {
        let event = try WhatsApp.event("status_delivered")
        let wamid = "wamid.HBgLNzcwMTEyMzQ1NjcVAgARGBI5RDEzQUZCQUQ1RjY4MzY1NzIA"
        #expect(
            event
                == InboundEvent(
                    kind: .status, eventID: "\(wamid):delivered", messageID: wamid,
                    chat: InboundEvent.Chat(externalID: "77011234567", kind: .direct), sentAt: WhatsApp.date(1_763_900_460),
                    status: "delivered"))
    }

    @Test("a batch is read entry by entry and change by change, in order")
    func batch() throws {
        let events = try WhatsApp.events("batch")
        try #require(events.count == 6)
        #expect(events.map(\.kind) == [.message, .ignored, .status, .status, .ignored, .message])
        #expect(
            events.map(\.eventID) == [
                "wamid.BATCH1TEXT", "ignored:102290129340398:account_update:2", "wamid.OUTBOUND1:sent",
                "wamid.OUTBOUND1:read", "template:1234:APPROVED:1763900409", "wamid.BATCH2IMAGE",
            ])
        #expect(Array((events[0].text ?? "").utf8) == Array("Сәлем! Дүкен бүгін ашық па?".utf8))
        #expect(events[0].sender?.name == "Нурлан")
        #expect(events[1].ignoredReason == "field:account_update")
        #expect(events[2].status == "sent")
        #expect(events[3].status == "read")
        #expect(events[3].sentAt == WhatsApp.date(1_763_900_405))
        #expect(events[4].ignoredReason == "template_status:order_ready:ru:APPROVED")
        #expect(events[5].sender == WhatsApp.aliya)
        #expect(events[5].text == "Вот этот")
        #expect(events[5].attachments.first?.reference == "1003456789012345")
        // Deterministic, and every event id distinct.
        #expect(try WhatsApp.events("batch") == events)
        #expect(Set(events.map(\.eventID)).count == events.count)
    }

    @Test("an image's caption is the text and its media id the reference")
    func imageWithCaption() throws {
        let event = try WhatsApp.event("image_caption")
        #expect(event.kind == .message)
        #expect(event.sender == WhatsApp.aliya)
        #expect(event.chat == WhatsApp.aliyaChat)
        #expect(event.text == "Есть такой же, но синий? 💙")
        #expect(
            event.attachments == [
                InboundEvent.Attachment(
                    kind: "image", reference: "1479537139650973", mimeType: "image/jpeg",
                    details: ["sha256": "6f1ed002ab5595859014ebf0951522d9"])
            ])
    }

    @Test("a voice note is audio marked voice")
    func voice() throws {
        let event = try WhatsApp.event("voice")
        #expect(event.attachments.map(\.kind) == ["voice"])
        #expect(event.attachments.first?.mimeType == "audio/ogg; codecs=opus")
        #expect(event.text == nil)
    }

    @Test("a document keeps its filename")
    func document() throws {
        let event = try WhatsApp.event("document")
        #expect(event.text == "Договор")
        #expect(event.attachments.first?.kind == "document")
        #expect(event.attachments.first?.name == "договор №7.pdf")
        #expect(event.attachments.first?.reference == "3001002003004005")
    }

    @Test("a reply button and a list row are messages whose text is the title and button the id")
    func interactive() throws {
        let button = try WhatsApp.event("interactive_button_reply")
        #expect(button.kind == .message)
        #expect(button.eventID == "wamid.BUTTON1")
        #expect(button.text == "Подтвердить")
        #expect(button.attachments == [InboundEvent.Attachment(kind: "button", reference: "confirm-order-1842")])

        let row = try WhatsApp.event("interactive_list_reply")
        #expect(row.text == "Экспресс-доставка")
        #expect(
            row.attachments == [
                InboundEvent.Attachment(kind: "button", reference: "priority_express", details: ["description": "Завтра до 12:00"])
            ])
    }

    @Test("a template quick reply is a button press")
    func quickReply() throws {
        let event = try WhatsApp.event("button")
        #expect(event.text == "Отписаться")
        #expect(event.attachments == [InboundEvent.Attachment(kind: "button", reference: "STOP_PROMOTIONS")])
    }

    @Test("a reaction names the message reacted to and the emoji; an empty one is a removal")
    func reactions() throws {
        let added = try WhatsApp.event("reaction")
        #expect(added.kind == .message)
        #expect(added.text == nil)
        #expect(added.attachments == [InboundEvent.Attachment(kind: "reaction", reference: "wamid.OUTBOUND1", name: "❤️")])

        let removed = try WhatsApp.event("reaction_removed")
        #expect(
            removed.attachments == [
                InboundEvent.Attachment(kind: "reaction", reference: "wamid.OUTBOUND1", name: "", details: ["removed": "true"])
            ])
    }

    @Test("a location carries coordinates, name and address")
    func location() throws {
        let event = try WhatsApp.event("location")
        #expect(
            event.attachments == [
                InboundEvent.Attachment(
                    kind: "location", name: "Офис",
                    details: ["latitude": "43.238949", "longitude": "76.889709", "address": "пр. Абая, 44, Алматы"])
            ])
    }

    @Test("shared contacts become contact attachments")
    func contacts() throws {
        let event = try WhatsApp.event("contacts")
        #expect(
            event.attachments == [
                InboundEvent.Attachment(
                    kind: "contact", name: "Нурлан Ахметов", details: ["phone": "+7 701 123 4567", "wa_id": "77011234567"])
            ])
    }

    @Test("a sender whose phone number is withheld is known by the business-scoped user id")
    func withheldPhoneNumber() throws {
        let event = try WhatsApp.event("withheld_phone")
        #expect(
            event.sender
                == InboundEvent.Sender(externalID: "KZ.1502576394655843", name: "Dana", username: "@dana.b"))
        #expect(event.chat == InboundEvent.Chat(externalID: "KZ.1502576394655843", kind: .direct))
        #expect(event.text == "Номер не покажу 🙂")
    }

    @Test("with both a phone number and a user id, the number leads and the user id is an alternate")
    func phoneAndUserID() throws {
        let event = try WhatsApp.event("phone_and_user_id")
        #expect(
            event.sender
                == InboundEvent.Sender(
                    externalID: "77011234567", name: "Нурлан", phone: "77011234567", alternateIDs: ["KZ.8811223344556677"]))
    }

    @Test("a failed status carries the first error's title")
    func failedStatus() throws {
        let event = try WhatsApp.event("status_failed")
        #expect(event.kind == .status)
        #expect(event.eventID == "wamid.OUTBOUND2:failed")
        #expect(event.status == "failed")
        #expect(event.statusError == "Re-engagement message")
    }

    @Test("an unsupported message type is ignored, keyed by its wamid")
    func unsupported() throws {
        let event = try WhatsApp.event("unsupported")
        #expect(event.kind == .ignored)
        #expect(event.eventID == "wamid.UNSUP1")
        #expect(event.ignoredReason == "type:unsupported")
    }

    @Test("a change for another phone number is ignored")
    func otherPhoneNumber() throws {
        let event = try WhatsApp.event("other_phone_number")
        #expect(event.kind == .ignored)
        #expect(event.ignoredReason == "other_phone_number")
        #expect(event.eventID == "ignored:102290129340398:other_phone_number:1")
        #expect(event.text == nil)
    }

    @Test("a body for another Meta product is ignored, with a stable id")
    func otherObject() throws {
        let events = try WhatsApp.events("page_object")
        #expect(events.count == 1)
        #expect(events.first?.kind == .ignored)
        #expect(events.first?.ignoredReason == "object:page")
        #expect(try WhatsApp.events("page_object") == events)
    }

    @Test("a message without an id or an entry that is not an array is malformed")
    func malformed() throws {
        let missingID = WhatsApp.parseError(try WhatsApp.fixture("message_without_id"))
        #expect(missingID?.code == .malformed)
        #expect(missingID?.field == "entry[0].changes[0].value.messages[0].id")

        let entry = WhatsApp.parseError(try WhatsApp.fixture("entry_not_array"))
        #expect(entry?.code == .malformed)
        #expect(entry?.field == "entry")
    }

    @Test(
        "bytes that are not a notification are malformed",
        arguments: [
            "", "not json", "[]", #"{"entry": []}"#, #"{"object": "whatsapp_business_account"}"#,
            #"{"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", "value": {"metadata": {"phone_number_id": "106540352242922"}, "messages": [{"id": "w", "from": "1", "timestamp": "soon", "type": "text", "text": {"body": "x"}}]}}]}]}"#,
            #"{"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", "value": {"metadata": {"phone_number_id": "106540352242922"}, "messages": [{"id": "w", "from": "1", "timestamp": "1", "type": "text"}]}}]}]}"#,
            #"{"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", "value": {"metadata": {"phone_number_id": "106540352242922"}, "messages": [{"id": "w", "timestamp": "1", "type": "text", "text": {"body": "x"}}]}}]}]}"#,
        ])
    func malformedBodies(body: String) {
        #expect(WhatsApp.parseError(Array(body.utf8))?.code == .malformed)
    }

    @Test("a text body over 4,096 characters or a caption over 1,024 is malformed, naming the field")
    func textLimits() throws {
        let text = String(decoding: try WhatsApp.fixture("text"), as: UTF8.self)
        let atLimit = text.replacingOccurrences(of: "Salem! Is the store open today?", with: String(repeating: "ә", count: 4096))
        #expect(WhatsApp.parseError(Array(atLimit.utf8)) == nil)
        let over = text.replacingOccurrences(of: "Salem! Is the store open today?", with: String(repeating: "ә", count: 4097))
        let error = WhatsApp.parseError(Array(over.utf8))
        #expect(error?.code == .malformed)
        #expect(error?.field == "entry[0].changes[0].value.messages[0].text.body")
    }
}
