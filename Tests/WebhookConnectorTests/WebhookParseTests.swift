import ConnectorKit
import Foundation
import Testing
import WebhookConnector

@Suite("Generic webhook bodies")
struct WebhookParseTests {
    @Test("the contract's example becomes one message in the sender's direct chat")
    func generic() throws {
        let event = try Webhook.event("generic")
        #expect(
            event
                == InboundEvent(
                    kind: .message, eventID: "evt_01JD6Z8Q3W4C9V2XK7M5N0PBRT", messageID: "evt_01JD6Z8Q3W4C9V2XK7M5N0PBRT",
                    sender: InboundEvent.Sender(externalID: "crm-customer-4411", name: "Dana Bekova", email: "dana@example.kz"),
                    chat: InboundEvent.Chat(externalID: "crm-customer-4411", kind: .direct),
                    text: "Hello, I'd like to change my order.", sentAt: Webhook.date(1_795_428_900)))
    }

    @Test("attachments are typed by media type and referenced by URL; sent_at may carry an offset")
    func attachments() throws {
        let event = try Webhook.event("attachments")
        #expect(event.text == nil)
        #expect(event.sender == InboundEvent.Sender(externalID: "crm-customer-4411", name: "Дана Бекова", phone: "+77015550101"))
        #expect(
            event.attachments == [
                InboundEvent.Attachment(
                    kind: "image", reference: "https://files.example.kz/photos/order-1842.png", mimeType: "image/png",
                    name: "заказ.png"),
                InboundEvent.Attachment(
                    kind: "document", reference: "https://files.example.kz/docs/invoice.pdf", mimeType: "application/pdf"),
                InboundEvent.Attachment(kind: "audio", reference: "http://files.example.kz/voice/note.ogg", mimeType: "audio/ogg"),
                InboundEvent.Attachment(kind: "video", reference: "https://files.example.kz/clip.mp4", mimeType: "video/mp4"),
            ])
        #expect(event.sentAt == Date(timeIntervalSince1970: 1_795_428_900.25))
    }

    @Test(
        "contract violations are malformed and name the field",
        arguments: [
            ("bad_sent_at", "sent_at"), ("unknown_field", "priority"), ("unknown_nested_field", "sender.nickname"),
            ("missing_event_id", "event_id"), ("attachment_bad_url", "attachments[0].url"), ("no_text", "text"),
        ])
    func violations(fixture: String, field: String) throws {
        let error = Webhook.parseError(try Webhook.fixture(fixture))
        #expect(error?.code == .malformed)
        #expect(error?.field == field)
        #expect(error?.message.contains(field) == true)
    }

    @Test("event_id is 1 to 200 characters")
    func eventIDLength() throws {
        func body(_ eventID: String) -> [UInt8] {
            Array(#"{"event_id": "\#(eventID)", "sender": {"id": "c1"}, "text": "hi"}"#.utf8)
        }
        #expect(Webhook.parseError(body(String(repeating: "e", count: 200))) == nil)
        #expect(Webhook.parseError(body(String(repeating: "e", count: 201)))?.field == "event_id")
        #expect(Webhook.parseError(body(""))?.field == "event_id")
    }

    @Test(
        "wrong types and shapes are malformed",
        arguments: [
            "", "not json", "[]", #"{"event_id": 7, "sender": {"id": "c"}, "text": "x"}"#,
            #"{"event_id": "e", "sender": "c", "text": "x"}"#, #"{"event_id": "e", "sender": {}, "text": "x"}"#,
            #"{"event_id": "e", "sender": {"id": ""}, "text": "x"}"#, #"{"event_id": "e", "sender": {"id": "c"}, "text": 5}"#,
            #"{"event_id": "e", "sender": {"id": "c"}, "text": ""}"#,
            #"{"event_id": "e", "sender": {"id": "c"}, "attachments": []}"#,
            #"{"event_id": "e", "sender": {"id": "c"}, "attachments": [{"url": "https://x.kz/a"}]}"#,
            #"{"event_id": "e", "sender": {"id": "c"}, "attachments": [{"url": "https://x.kz/a", "mime_type": "png"}]}"#,
            #"{"event_id": "e", "sender": {"id": "c"}, "attachments": [{"url": "https://x.kz/a", "mime_type": "image/png", "size": 1}]}"#,
        ])
    func malformed(body: String) {
        #expect(Webhook.parseError(Array(body.utf8))?.code == .malformed)
    }

    @Test(
        "sent_at accepts RFC 3339 date-times and nothing else",
        arguments: [
            ("2026-11-23T10:15:00Z", 1_795_428_900.0), ("2026-11-23t10:15:00z", 1_795_428_900.0),
            ("2026-11-23 10:15:00+00:00", 1_795_428_900.0), ("2026-11-23T05:15:00-05:00", 1_795_428_900.0),
            ("2026-11-23T10:15:00.5Z", 1_795_428_900.5), ("2024-02-29T00:00:00Z", 1_709_164_800.0),
            ("1970-01-01T00:00:00Z", 0.0),
        ])
    func rfc3339Valid(text: String, seconds: Double) throws {
        let body = Array(#"{"event_id": "e", "sender": {"id": "c"}, "text": "x", "sent_at": "\#(text)"}"#.utf8)
        let event = try Webhook.connector.parse(Webhook.delivery(body, header: nil), credentials: Webhook.credentials)
        #expect(event.first?.sentAt == Date(timeIntervalSince1970: seconds))
    }

    @Test(
        "sent_at refuses what RFC 3339 does not allow",
        arguments: [
            "2026-02-29T00:00:00Z", "2026-11-23T10:15:00", "2026-11-23T24:00:00Z", "2026-13-01T00:00:00Z",
            "2026-11-23T10:15Z", "2026-11-23T10:15:00.Z", "2026-11-23T10:15:00+0300", "2026-11-23", "1763900000",
            "2026-11-31T00:00:00Z", "2026-11-23T10:15:00Z ", "Mon, 23 Nov 2026 10:15:00 GMT",
        ])
    func rfc3339Invalid(text: String) {
        let body = Array(#"{"event_id": "e", "sender": {"id": "c"}, "text": "x", "sent_at": "\#(text)"}"#.utf8)
        #expect(Webhook.parseError(body)?.field == "sent_at")
    }

    @Test("text is at most 32 KiB of UTF-8: at the limit it passes, a byte more is malformed, naming text")
    func textLimit() throws {
        func body(_ text: String) -> [UInt8] {
            Array(try! JSONSerialization.data(withJSONObject: ["event_id": "e1", "sender": ["id": "s"], "text": text]))
        }
        #expect(Webhook.parseError(body(String(repeating: "a", count: 32_768))) == nil)
        let error = Webhook.parseError(body(String(repeating: "a", count: 32_767) + "ж"))
        #expect(error?.code == .malformed)
        #expect(error?.field == "text")
        #expect(error?.message.contains("32768 bytes") == true)
    }
}
