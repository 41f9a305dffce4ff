import ConnectorKit
import Foundation
import TelegramConnector
import Testing

@Suite("Telegram updates")
struct TelegramParseTests {
    @Test("a private text message names its sender and keeps the text byte for byte")
    func privateText() throws {
        let event = try Telegram.event("text_private")
        #expect(event.kind == .message)
        #expect(event.eventID == "811000101")
        #expect(event.messageID == "520011223:17")
        let sender = try #require(event.sender)
        #expect(sender.externalID == "520011223")
        #expect(Array((sender.name ?? "").utf8) == Array("Айгерим Сапарова".utf8))
        #expect(sender.username == "aigerim_s")
        #expect(sender.languageCode == "ru")
        #expect(sender.alternateIDs.isEmpty)
        #expect(event.chat == InboundEvent.Chat(externalID: "520011223", kind: .direct))
        #expect(Array((event.text ?? "").utf8) == Array("Здравствуйте! Сколько стоит доставка в Астану?".utf8))
        #expect(event.sentAt == Telegram.date(1_763_900_000))
        #expect(event.attachments.isEmpty)
    }

    @Test("an edited message is an edit of the original message, dated by its edit")
    func editedText() throws {
        let event = try Telegram.event("edited_text")
        #expect(event.kind == .edit)
        #expect(event.eventID == "811000102")
        #expect(event.messageID == "520011223:17")
        #expect(event.text == "Здравствуйте! Сколько стоит доставка в Алматы?")
        #expect(event.sentAt == Telegram.date(1_763_900_042))
        #expect(event.sender?.name == "Айгерим")
        #expect(event.sender?.languageCode == "ru")
    }

    @Test("a photo keeps only its largest size, and the caption is the text")
    func photoWithCaption() throws {
        let event = try Telegram.event("photo_caption")
        #expect(event.kind == .message)
        #expect(event.eventID == "811000103")
        #expect(event.text == "Вот такой товар нужен")
        #expect(
            event.attachments == [
                InboundEvent.Attachment(
                    kind: "photo", reference: "AgACAgIAAxkBAAIBQ2Large",
                    details: ["size": "80211", "width": "1280", "height": "960"])
            ])
    }

    @Test("a photo size whose width × height passes 64 bits parses, and counts as the largest")
    func photoWithHugeDimensions() throws {
        // Telegram never sends this; anyone who knows the webhook's secret can. It trapped.
        let body = Array(
            #"""
            {"update_id": 811000199, "message": {"message_id": 19, "date": 1763900100,
              "chat": {"id": 520011223, "first_name": "A", "type": "private"},
              "photo": [{"file_id": "small", "width": 90, "height": 67},
                        {"file_id": "huge", "width": 9223372036854775807, "height": 2},
                        {"file_id": "negative", "width": -9223372036854775807, "height": 2}]}}
            """#.utf8)
        let events = try Telegram.connector.parse(Telegram.delivery(body), credentials: Telegram.credentials)
        #expect(events.map(\.kind) == [.message])
        #expect(events.first?.attachments.map(\.reference) == ["huge"])
    }

    @Test("a voice note is a voice attachment without text")
    func voice() throws {
        let event = try Telegram.event("voice")
        #expect(event.text == nil)
        #expect(
            event.attachments == [
                InboundEvent.Attachment(
                    kind: "voice", reference: "AwACAgIAAxkBAAIBRVoice", mimeType: "audio/ogg",
                    details: ["duration": "4", "size": "15324"])
            ])
        #expect(event.messageID == "520011223:19")
    }

    @Test("a button press is a message whose text and button are the callback data")
    func callbackQuery() throws {
        let event = try Telegram.event("callback_query")
        #expect(event.kind == .message)
        #expect(event.eventID == "811000105")
        #expect(event.messageID == "callback:2231554443339900123")
        #expect(event.text == "city:astana")
        #expect(event.attachments == [InboundEvent.Attachment(kind: "button", reference: "city:astana")])
        #expect(event.sender?.externalID == "520011223")
        #expect(event.sender?.name == "Айгерим")
        #expect(event.chat == InboundEvent.Chat(externalID: "520011223", kind: .direct))
    }

    @Test(
        "update kinds Switchboard does not handle are ignored by name",
        arguments: [
            ("my_chat_member", "811000106", "my_chat_member"),
            ("poll", "811000210", "poll"),
            ("new_chat_members", "811000211", "message:new_chat_member"),
        ])
    func ignoredKinds(fixture: String, eventID: String, reason: String) throws {
        let event = try Telegram.event(fixture)
        #expect(event.kind == .ignored)
        #expect(event.eventID == eventID)
        #expect(event.ignoredReason == reason)
        #expect(event.text == nil)
    }

    @Test("in a group, the sender is the person and the chat is the group")
    func groupMessage() throws {
        let event = try Telegram.event("group_message")
        #expect(event.chat == InboundEvent.Chat(externalID: "-1001987654321", kind: .group, title: "Доставка — Алматы"))
        #expect(event.sender?.externalID == "610022334")
        #expect(event.sender?.name == "Ерлан Жумабаев")
        #expect(event.sender?.username == "erlan_zh")
        #expect(event.sender?.languageCode == "kk")
        #expect(event.messageID == "-1001987654321:3051")
        #expect(event.text == "Коллеги, кто принимает заказ №1842?")
    }

    @Test("a channel post without from is sent by the channel")
    func channelPost() throws {
        let event = try Telegram.event("channel_post")
        #expect(event.kind == .message)
        #expect(event.chat == InboundEvent.Chat(externalID: "-1002223334445", kind: .channel, title: "Новости магазина"))
        #expect(
            event.sender
                == InboundEvent.Sender(externalID: "-1002223334445", name: "Новости магазина", username: "shop_news"))
        #expect(event.text == "Сегодня скидка 20% на всё")
        #expect(event.messageID == "-1002223334445:77")
    }

    @Test("an edited channel post without sender_chat is an edit by the chat itself")
    func editedChannelPost() throws {
        let event = try Telegram.event("edited_channel_post")
        #expect(event.kind == .edit)
        #expect(event.messageID == "-1002223334445:77")
        #expect(event.sender?.externalID == "-1002223334445")
        #expect(event.sender?.name == "Новости магазина")
        #expect(event.sentAt == Telegram.date(1_763_901_160))
    }

    @Test("a document keeps its file id, type and name")
    func document() throws {
        let event = try Telegram.event("document")
        #expect(event.text == "Вот счёт")
        #expect(
            event.attachments == [
                InboundEvent.Attachment(
                    kind: "document", reference: "BQACAgIAAxkBAAIBSDocument", mimeType: "application/pdf",
                    name: "счёт-фактура №18.pdf", details: ["size": "48213"])
            ])
    }

    @Test("a location carries its coordinates")
    func location() throws {
        let event = try Telegram.event("location")
        #expect(event.kind == .message)
        #expect(event.text == nil)
        #expect(
            event.attachments == [
                InboundEvent.Attachment(kind: "location", details: ["latitude": "43.238949", "longitude": "76.889709"])
            ])
    }

    @Test("a venue is one location named after the venue")
    func venue() throws {
        let event = try Telegram.event("venue")
        #expect(
            event.attachments == [
                InboundEvent.Attachment(
                    kind: "location", name: "ТРЦ «Достык Плаза»",
                    details: ["latitude": "43.2567", "longitude": "76.9286", "address": "ул. Самал-2, 111"])
            ])
    }

    @Test("a shared contact carries the phone, name and Telegram user id")
    func contact() throws {
        let event = try Telegram.event("contact")
        #expect(
            event.attachments == [
                InboundEvent.Attachment(
                    kind: "contact", name: "Нурлан Ахметов", details: ["phone": "+77011234567", "user_id": "730044556"])
            ])
    }

    @Test("a sticker is named by its emoji")
    func sticker() throws {
        let event = try Telegram.event("sticker")
        #expect(
            event.attachments == [
                InboundEvent.Attachment(
                    kind: "sticker", reference: "CAACAgIAAxkBAAIBStickerFile", name: "👍",
                    details: ["size": "31249", "width": "512", "height": "512", "set_name": "HotCherry"])
            ])
    }

    @Test("an animation, which Telegram repeats as a document, is one video attachment")
    func animation() throws {
        let event = try Telegram.event("animation")
        let attachment = try #require(event.attachments.first)
        #expect(event.attachments.count == 1)
        #expect(attachment.kind == "video")
        #expect(attachment.details["variant"] == "animation")
        #expect(attachment.reference == "CgACAgIAAxkBAAIBAnimation")
        #expect(attachment.name == "dance.mp4")
    }

    @Test("4096 UTF-16 units of RTL, emoji, zero-width and combining text arrive byte for byte")
    func longMixedText() throws {
        let event = try Telegram.event("long_text_4096")
        let expected = try Telegram.fixture("long_text_4096", extension: "txt")
        let text = try #require(event.text)
        #expect(Array(text.utf8) == expected)
        #expect(text.utf16.count == 4096)
        #expect(text.unicodeScalars.contains("\u{200B}"))
        #expect(text.unicodeScalars.contains("\u{200F}"))
        #expect(text.contains("😀"))
    }

    @Test("update_id must be an integer")
    func updateIDRequired() throws {
        for fixture in ["update_id_string", "missing_update_id"] {
            let error = Telegram.parseError(try Telegram.fixture(fixture))
            #expect(error?.code == .malformed)
            #expect(error?.field == "update_id")
        }
        let fractional = Telegram.parseError(Array(#"{"update_id": 1.5, "poll": {}}"#.utf8))
        #expect(fractional?.code == .malformed)
        #expect(fractional?.field == "update_id")
    }

    @Test(
        "bytes that are not an update object are malformed",
        arguments: ["", "not json", "[1, 2]", "\"text\"", "{\"update_id\": 5, \"message\": {\"chat\": {\"id\": 1}}}"])
    func malformed(body: String) {
        #expect(Telegram.parseError(Array(body.utf8))?.code == .malformed)
    }

    @Test("a message with a wrongly typed field names that field")
    func namesBadField() {
        let body = #"{"update_id": 9, "message": {"message_id": 1, "date": 1, "chat": {"id": "one", "type": "private"}, "text": "x"}}"#
        let error = Telegram.parseError(Array(body.utf8))
        #expect(error?.code == .malformed)
        #expect(error?.field == "message.chat.id")
    }

    @Test("an update with nothing in it is ignored, not refused")
    func emptyUpdate() throws {
        let events = try Telegram.connector.parse(
            Telegram.delivery(Array(#"{"update_id": 42}"#.utf8)), credentials: Telegram.credentials)
        #expect(events == [InboundEvent(kind: .ignored, eventID: "42", ignoredReason: "empty_update")])
    }

    /// A message update with `fields` in its message, as JSON.
    static func update(_ fields: [String: Any]) -> [UInt8] {
        var message: [String: Any] = [
            "message_id": 18, "date": 1_763_900_100, "from": ["id": 520_011_223, "is_bot": false, "first_name": "A"],
            "chat": ["id": 520_011_223, "type": "private"],
        ]
        message.merge(fields) { $1 }
        return Array(try! JSONSerialization.data(withJSONObject: ["update_id": 811_000_900, "message": message]))
    }

    @Test("texts up to Telegram's own limits pass; longer ones are malformed, naming the field")
    func textLimits() throws {
        // 4,096 scalars, each two UTF-16 units and four bytes: at the limit, whatever the counting.
        let emoji = String(repeating: "😀", count: 4096)
        let delivery = Telegram.delivery(Self.update(["text": emoji]))
        #expect(try Telegram.connector.parse(delivery, credentials: Telegram.credentials).first?.text == emoji)
        #expect(Telegram.parseError(Self.update(["text": emoji + "!"]))?.field == "message.text")
        #expect(Telegram.parseError(Self.update(["text": String(repeating: "a", count: 4097)]))?.code == .malformed)
        let caption = ["photo": [["file_id": "f", "file_unique_id": "u", "width": 1, "height": 1]], "caption": String(repeating: "a", count: 1024)] as [String: Any]
        #expect(Telegram.parseError(Self.update(caption)) == nil)
        var long = caption
        long["caption"] = String(repeating: "a", count: 1025)
        let error = Telegram.parseError(Self.update(long))
        #expect(error?.code == .malformed)
        #expect(error?.field == "message.caption")
        #expect(error?.message.contains("1024 characters") == true)
    }
}
