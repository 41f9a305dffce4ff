import ConnectorKit
import Foundation

/// One Messenger Platform webhook body: `{"object": "page"|"instagram", "entry": [...]}`,
/// each entry with `messaging` items (and `standby` items while another app holds the
/// thread under the handover protocol). `entry` is read only for the expected object.
struct MetaWebhook: Decodable {
    var object: String
    var entry: [Entry]

    /// The object the channel's kind expects, given by the decoder's `userInfo`.
    static let expectedObjectKey = CodingUserInfoKey(rawValue: "switchboard.meta.object")!

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: JSONKey.self)
        object = try container.decode(String.self, forKey: JSONKey("object"))
        if object == decoder.userInfo[Self.expectedObjectKey] as? String {
            entry = try container.decode([Entry].self, forKey: JSONKey("entry"))
        } else {
            entry = []
        }
    }

    struct Entry: Decodable {
        var id: LenientID
        var messaging: [Item]?
        var standby: [Item]?
        /// Fields delivered as `changes` (Instagram comments, mentions): named only.
        var changes: [Change]?
    }

    struct Change: Decodable {
        var field: String
    }

    struct Party: Decodable {
        var id: LenientID?
    }

    /// One `messaging` item: who, when, and one of the event fields.
    struct Item: Decodable {
        var sender: Party?
        var recipient: Party?
        var timestamp: Milliseconds?
        var message: Message?
        var postback: Postback?
        var reaction: Reaction?
        var read: Read?
        var delivery: Delivery?
        var messageEdit: MessageEdit?
        /// Every other field of the item (`referral`, `optin`, …), sorted.
        var otherFields: [String]

        static let knownFields: Set<String> = [
            "sender", "recipient", "timestamp", "message", "postback", "reaction", "read", "delivery", "message_edit",
        ]

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: JSONKey.self)
            sender = try container.decodeIfPresent(Party.self, forKey: JSONKey("sender"))
            recipient = try container.decodeIfPresent(Party.self, forKey: JSONKey("recipient"))
            timestamp = try container.decodeIfPresent(Milliseconds.self, forKey: JSONKey("timestamp"))
            message = try container.decodeIfPresent(Message.self, forKey: JSONKey("message"))
            postback = try container.decodeIfPresent(Postback.self, forKey: JSONKey("postback"))
            reaction = try container.decodeIfPresent(Reaction.self, forKey: JSONKey("reaction"))
            read = try container.decodeIfPresent(Read.self, forKey: JSONKey("read"))
            delivery = try container.decodeIfPresent(Delivery.self, forKey: JSONKey("delivery"))
            messageEdit = try container.decodeIfPresent(MessageEdit.self, forKey: JSONKey("message_edit"))
            otherFields = container.allKeys.map(\.stringValue).filter { !Self.knownFields.contains($0) }.sorted()
        }
    }

    struct Message: Decodable {
        var mid: String
        var text: String?
        var attachments: [Attachment]?
        var quickReply: QuickReply?
        var replyTo: ReplyTo?
        var isEcho: Bool?
        var isDeleted: Bool?
        var isUnsupported: Bool?

        enum CodingKeys: String, CodingKey {
            case mid, text, attachments
            case quickReply = "quick_reply"
            case replyTo = "reply_to"
            case isEcho = "is_echo"
            case isDeleted = "is_deleted"
            case isUnsupported = "is_unsupported"
        }
    }

    struct Attachment: Decodable {
        var type: String
        var payload: Payload?

        struct Payload: Decodable {
            var url: String?
            var title: String?
            var stickerID: LenientID?

            enum CodingKeys: String, CodingKey {
                case url, title
                case stickerID = "sticker_id"
            }
        }
    }

    struct QuickReply: Decodable {
        var payload: String
    }

    struct ReplyTo: Decodable {
        var mid: String?
        var story: Story?

        struct Story: Decodable {
            var url: String?
            var id: LenientID?
        }
    }

    struct Postback: Decodable {
        var mid: String?
        var title: String?
        var payload: String?
    }

    struct Reaction: Decodable {
        var mid: String
        var action: String?
        var reaction: String?
        var emoji: String?
    }

    struct Read: Decodable {
        var mid: String?
        var watermark: Milliseconds?
    }

    struct Delivery: Decodable {
        var mids: [String]?
        var watermark: Milliseconds?
    }

    struct MessageEdit: Decodable {
        var mid: String
        var text: String?
        var numEdit: Milliseconds?

        enum CodingKeys: String, CodingKey {
            case mid, text
            case numEdit = "num_edit"
        }
    }

    /// An id Meta sends as a string (and, in older payloads, as a number).
    struct LenientID: Decodable, Equatable {
        var value: String

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let text = try? container.decode(String.self) {
                value = text
            } else if let number = try? container.decode(UInt64.self) {
                value = String(number)
            } else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an id")
            }
        }
    }

    /// A non-negative whole number: milliseconds since the epoch (`timestamp`,
    /// `watermark`) or a count (`num_edit`). A number or a string of digits; anything
    /// else (negative, fractional, beyond Int64) is refused, never trapped on.
    struct Milliseconds: Decodable, Equatable {
        var value: Int64

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let number = try? container.decode(Int64.self), number >= 0 {
                value = number
            } else if let text = try? container.decode(String.self), !text.isEmpty, text.utf8.count <= 18,
                text.utf8.allSatisfy({ (0x30...0x39).contains($0) }), let parsed = Int64(text)
            {
                value = parsed
            } else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a non-negative whole number")
            }
        }

        /// The instant, or nil outside 1970...9999.
        var date: Date? {
            PlatformTime.bounded(Date(timeIntervalSince1970: Double(value) / 1000))
        }
    }
}
