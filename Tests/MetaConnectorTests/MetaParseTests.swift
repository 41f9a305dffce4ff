import ConnectorKit
import Foundation
import HTTPTypes
import MetaConnector
import Testing

@Suite("Instagram and Messenger webhook bodies")
struct MetaParseTests {
    let sentAt = Meta.date(milliseconds: Meta.timestamp)

    @Test("a text names the contact by id and keys the event by its mid", arguments: Meta.both)
    func text(_ meta: Meta) throws {
        let mid = meta.mid("TEXT1")
        #expect(
            try meta.event("text")
                == InboundEvent(
                    kind: .message, eventID: mid, messageID: mid, sender: meta.contact, chat: meta.chat,
                    text: "Сәлем! Do you ship to Almaty? 🚚", sentAt: sentAt))
    }

    @Test("each attachment type becomes its kind with the payload's URL", arguments: Meta.both)
    func attachments(_ meta: Meta) throws {
        let cases = [
            ("image", "image"), ("video", "video"), ("audio", "audio"), ("file", "file"), ("share", "share"),
            ("story_mention", "story_mention"), ("ig_reel", "share"), ("reel", "share"), ("fallback", "share"),
        ]
        for (type, kind) in cases {
            let event = try meta.event("attachment_\(type)")
            #expect(event.kind == .message)
            #expect(event.eventID == meta.mid("ATT_" + type.uppercased()))
            #expect(event.text == nil)
            let attachment = try #require(event.attachments.first)
            #expect(event.attachments.count == 1)
            #expect(attachment.kind == kind, "\(type)")
            let reference = try #require(attachment.reference)
            #expect(reference.hasPrefix("https://"))
            if ["ig_reel", "reel"].contains(type) { #expect(reference == "https://www.instagram.com/reel/C9xYzAbCdEf/") }
            if type == "share" { #expect(reference == "https://www.instagram.com/p/C8aBcDeFgHi/") }
            if type == "fallback" { #expect(attachment.name == "Our catalog") }
        }
    }

    @Test("a story reply carries the story's URL and id; a reply to a message names it", arguments: Meta.both)
    func replies(_ meta: Meta) throws {
        let story = try meta.event("story_reply")
        #expect(story.text == "Is this still available?")
        #expect(
            story.attachments == [
                InboundEvent.Attachment(
                    kind: "story_reply", reference: "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=18012345678901234",
                    details: ["story_id": "18012345678901234"])
            ])
        let reply = try meta.event("reply_to_message")
        #expect(reply.threadKeys == [meta.mid("OURS1")])
        #expect(reply.text == "yes, that one")
    }

    @Test("a quick reply and a postback are buttons with their payloads", arguments: Meta.both)
    func buttons(_ meta: Meta) throws {
        let quick = try meta.event("quick_reply")
        #expect(quick.text == "Delivery")
        #expect(quick.attachments == [InboundEvent.Attachment(kind: "button", reference: "TOPIC_DELIVERY")])
        let postback = try meta.event("postback")
        #expect(
            postback
                == InboundEvent(
                    kind: .message, eventID: meta.mid("PB1"), messageID: meta.mid("PB1"), sender: meta.contact, chat: meta.chat,
                    text: "Talk to a person", attachments: [InboundEvent.Attachment(kind: "button", reference: "HANDOFF")],
                    sentAt: sentAt))
        let started = try meta.event("postback_without_mid")
        #expect(started.eventID == "postback:\(meta.contactID):\(Meta.timestamp)")
        #expect(started.messageID == nil)
        #expect(started.attachments.first?.reference == "GET_STARTED")
    }

    @Test("a reaction names the reacted message and the emoji; an unreact has none", arguments: Meta.both)
    func reactions(_ meta: Meta) throws {
        let react = try meta.event("reaction")
        #expect(
            react
                == InboundEvent(
                    kind: .message, eventID: "reaction:\(meta.mid("OURS1")):\(meta.contactID):\(Meta.timestamp)", sender: meta.contact,
                    chat: meta.chat,
                    attachments: [
                        InboundEvent.Attachment(kind: "reaction", reference: meta.mid("OURS1"), name: "❤️", details: ["reaction": "love"])
                    ], sentAt: sentAt))
        let unreact = try meta.event("unreact")
        #expect(unreact.kind == .message)
        #expect(unreact.eventID == "reaction:\(meta.mid("OURS1")):\(meta.contactID):\(Meta.timestamp + 60000)")
        #expect(unreact.attachments == [InboundEvent.Attachment(kind: "reaction", reference: meta.mid("OURS1"), details: ["removed": "true"])])
        #expect(unreact.eventID != react.eventID)
    }

    @Test("reads and deliveries are statuses: per mid, or one by watermark", arguments: Meta.both)
    func statuses(_ meta: Meta) throws {
        #expect(
            try meta.event("read")
                == InboundEvent(
                    kind: .status, eventID: "\(meta.mid("OURS1")):read", messageID: meta.mid("OURS1"), chat: meta.chat, sentAt: sentAt,
                    status: "read"))
        #expect(
            try meta.event("read_watermark")
                == InboundEvent(
                    kind: .status, eventID: "read:\(meta.contactID):\(Meta.timestamp)", chat: meta.chat,
                    sentAt: Meta.date(milliseconds: Meta.timestamp - 1000), status: "read"))
        let delivered = try meta.events("delivery")
        #expect(delivered.map(\.messageID) == [meta.mid("OURS1"), meta.mid("OURS2")])
        #expect(delivered.map(\.eventID) == [meta.mid("OURS1") + ":delivered", meta.mid("OURS2") + ":delivered"])
        #expect(delivered.allSatisfy { $0.kind == .status && $0.status == "delivered" && $0.chat == meta.chat })
        #expect(
            try meta.event("delivery_watermark")
                == InboundEvent(
                    kind: .status, eventID: "delivery:\(meta.contactID):\(Meta.timestamp)", chat: meta.chat,
                    sentAt: Meta.date(milliseconds: Meta.timestamp - 2000), status: "delivered"))
    }

    @Test("an edit, an unsend and an unsupported message", arguments: Meta.both)
    func editUnsendUnsupported(_ meta: Meta) throws {
        #expect(
            try meta.event("edit")
                == InboundEvent(
                    kind: .edit, eventID: "edit:\(meta.mid("TEXT1")):1", messageID: meta.mid("TEXT1"), sender: meta.contact,
                    chat: meta.chat, text: "Do you ship to Astana?", sentAt: sentAt))
        #expect(
            try meta.event("unsend")
                == InboundEvent(
                    kind: .delete, eventID: "delete:\(meta.mid("TEXT1"))", messageID: meta.mid("TEXT1"), sender: meta.contact,
                    chat: meta.chat, sentAt: sentAt))
        let unsupported = try meta.event("unsupported")
        #expect(unsupported.kind == .ignored)
        #expect(unsupported.eventID == meta.mid("UNSUP"))
    }

    @Test("an echo is the business's own message to the contact", arguments: Meta.both)
    func echo(_ meta: Meta) throws {
        #expect(
            try meta.event("echo")
                == InboundEvent(
                    kind: .message, eventID: meta.mid("ECHO1"), messageID: meta.mid("ECHO1"), sender: meta.contact, chat: meta.chat,
                    text: "We do! Delivery takes 2 days.", sentAt: sentAt, fromBusiness: true))
    }

    @Test("standby events are stored but never answered", arguments: Meta.both)
    func standby(_ meta: Meta) throws {
        let event = try meta.event("standby")
        #expect(event.kind == .message)
        #expect(event.text == "hello?")
        #expect(event.noReply == "another app holds the thread (handover protocol)")
    }

    @Test("another account's entry, an unknown field, an opt-in and another object are ignored", arguments: Meta.both)
    func ignored(_ meta: Meta) throws {
        let other = try meta.event("other_account")
        #expect(other.kind == .ignored)
        #expect(other.ignoredReason == "entry for another account")
        let referral = try meta.event("unknown_field")
        #expect(referral.kind == .ignored)
        #expect(referral.ignoredReason == "field:referral")
        #expect(referral.eventID == "referral:\(meta.contactID):\(Meta.timestamp)")
        #expect(try meta.event("optin").ignoredReason == "field:optin")
        let object = meta.kind == "instagram" ? "instagram" : "page"
        let changes = #"{"object": "\#(object)", "entry": [{"id": "\#(meta.accountID)", "time": 1, "changes": [{"field": "comments", "value": {}}, {"field": "mentions"}, {"field": "comments"}]}]}"#
        #expect(try meta.events(body: Array(changes.utf8)).map(\.ignoredReason) == ["field:comments,mentions"])
        let mismatch = try meta.event("object_mismatch")
        #expect(mismatch.kind == .ignored)
        #expect(mismatch.ignoredReason == (meta.kind == "instagram" ? "object:page" : "object:instagram"))
    }

    @Test("Instagram reads the entries of the Page it is connected through")
    func instagramPageEntry() throws {
        let meta = Meta.instagram
        let event = try meta.event("page_entry")
        #expect(event.kind == .message)
        #expect(event.text == "via the page")
        var withoutPage = meta.credentials
        withoutPage.values["page_id"] = nil
        let body = try meta.fixture("page_entry")
        let events = try meta.connector.parse(Meta.delivery(body, signature: nil), credentials: withoutPage)
        #expect(events.map(\.ignoredReason) == ["entry for another account"])
    }

    @Test("a batch is read entry by entry and item by item, in order", arguments: Meta.both)
    func batch(_ meta: Meta) throws {
        let events = try meta.events("batch")
        try #require(events.count == 8)
        #expect(events.map(\.kind) == [.message, .status, .message, .edit, .ignored, .message, .message, .message])
        #expect(
            events.map(\.eventID) == [
                meta.mid("B1"), meta.mid("OURS1") + ":read", meta.mid("B2"), "edit:\(meta.mid("B1")):2",
                "ignored:999000111222333:other_account:1", "reaction:\(meta.mid("B2")):\(meta.contactID):\(Meta.timestamp + 4000)",
                "postback:\(meta.contactID):\(Meta.timestamp + 5000)", meta.mid("B3"),
            ])
        #expect(events[2].attachments.count == 2)
        #expect(events[7].noReply != nil)
        #expect(events[0..<7].allSatisfy { $0.noReply == nil })
        #expect(try meta.events("batch") == events)
        #expect(Set(events.map(\.eventID)).count == events.count)
    }

    @Test("unreadable bodies are malformed, naming the field", arguments: Meta.both)
    func malformed(_ meta: Meta) throws {
        let object = meta.kind == "instagram" ? "instagram" : "page"
        let cases: [(String, String?)] = [
            (#"{"entry": []}"#, "object"),
            (#"{"object": "\#(object)"}"#, "entry"),
            (#"{"object": "\#(object)", "entry": {}}"#, "entry"),
            (#"{"object": "\#(object)", "entry": [{"messaging": []}]}"#, "entry[0].id"),
            (#"{"object": "\#(object)", "entry": [{"id": "\#(meta.accountID)", "messaging": [{"sender": {"id": "1"}, "timestamp": 1, "message": {"text": "no mid"}}]}]}"#, "entry[0].messaging[0].message.mid"),
            (#"{"object": "\#(object)", "entry": [{"id": "\#(meta.accountID)", "messaging": [{"timestamp": 1, "message": {"mid": "m_1", "text": "no sender"}}]}]}"#, "entry[0].messaging[0].sender.id"),
            (#"{"object": "\#(object)", "entry": [{"id": "\#(meta.accountID)", "messaging": [{"sender": {"id": "1"}, "timestamp": -5, "message": {"mid": "m_1"}}]}]}"#, "entry[0].messaging[0].timestamp"),
            (#"{"object": "\#(object)", "entry": [{"id": "\#(meta.accountID)", "messaging": [{}]}]}"#, "entry[0].messaging[0].sender"),
            ("[]", nil),
        ]
        for (body, field) in cases {
            let error = meta.parseError(Array(body.utf8))
            #expect(error?.code == .malformed, "\(body)")
            if let field { #expect(error?.field == field, "\(body)") }
        }
        #expect(try meta.events(body: Array(#"{"object": "\#(object)", "entry": []}"#.utf8)).isEmpty)
        // Another account's entry without items, and receipts' implausibly short mids, report nothing.
        #expect(try meta.events(body: Array(#"{"object": "\#(object)", "entry": [{"id": "1"}, {"id": "2"}]}"#.utf8)).isEmpty)
        let receipt = #"{"object": "\#(object)", "entry": [{"id": "\#(meta.accountID)", "messaging": [{"sender": {"id": "1"}, "timestamp": 5, "delivery": {"mids": ["a", "b", "\#(meta.mid("OURS1"))"]}}]}]}"#
        #expect(try meta.events(body: Array(receipt.utf8)).map(\.messageID) == [meta.mid("OURS1")])
    }
}
