import ConnectorKit
/// One Bot API `Update`, decoded: its id and the one kind of object it carries.
///
/// Only the kinds Switchboard handles are decoded; any other top-level key (`poll`,
/// `my_chat_member`, …) is kept by name so the update can be acknowledged as ignored.
struct TelegramUpdate: Decodable {
    enum Payload {
        case message(Message, contentKeys: [String])
        case editedMessage(Message, contentKeys: [String])
        case channelPost(Message, contentKeys: [String])
        case editedChannelPost(Message, contentKeys: [String])
        case callbackQuery(CallbackQuery)
        /// A kind Switchboard does not handle, by its key; `nil` when the update is empty.
        case other(String?)
    }

    var updateID: Int64
    var payload: Payload

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: JSONKey.self)
        do {
            updateID = try container.decode(Int64.self, forKey: JSONKey("update_id"))
        } catch let error where !(error is DecodingError) {
            // Foundation throws its own error for a number that is no Int64 (1.5, 1e30) and
            // reports it as invalid JSON without the key; the field at fault is this one.
            throw DecodingError.dataCorruptedError(
                forKey: JSONKey("update_id"), in: container, debugDescription: "update_id is not an integer")
        }
        let keys = Set(container.allKeys.map(\.stringValue)).subtracting(["update_id"])

        func message(_ name: String) throws -> (Message, [String]) {
            let nested = try container.nestedContainer(keyedBy: JSONKey.self, forKey: JSONKey(name))
            let contentKeys = nested.allKeys.map(\.stringValue).filter { !Message.metadataKeys.contains($0) }.sorted()
            return (try container.decode(Message.self, forKey: JSONKey(name)), contentKeys)
        }

        // A fixed order, so an update carrying two kinds (Telegram sends one) parses the
        // same way every time.
        if keys.contains("message") {
            let (value, contentKeys) = try message("message")
            payload = .message(value, contentKeys: contentKeys)
        } else if keys.contains("edited_message") {
            let (value, contentKeys) = try message("edited_message")
            payload = .editedMessage(value, contentKeys: contentKeys)
        } else if keys.contains("channel_post") {
            let (value, contentKeys) = try message("channel_post")
            payload = .channelPost(value, contentKeys: contentKeys)
        } else if keys.contains("edited_channel_post") {
            let (value, contentKeys) = try message("edited_channel_post")
            payload = .editedChannelPost(value, contentKeys: contentKeys)
        } else if keys.contains("callback_query") {
            payload = .callbackQuery(try container.decode(CallbackQuery.self, forKey: JSONKey("callback_query")))
        } else {
            payload = .other(keys.sorted().first)
        }
    }

    struct User: Decodable, Equatable {
        var id: Int64
        var isBot: Bool?
        var firstName: String
        var lastName: String?
        var username: String?
        var languageCode: String?

        enum CodingKeys: String, CodingKey {
            case id, username
            case isBot = "is_bot"
            case firstName = "first_name"
            case lastName = "last_name"
            case languageCode = "language_code"
        }
    }

    struct Chat: Decodable, Equatable {
        var id: Int64
        var type: String
        var title: String?
        var username: String?
        var firstName: String?
        var lastName: String?

        enum CodingKeys: String, CodingKey {
            case id, type, title, username
            case firstName = "first_name"
            case lastName = "last_name"
        }
    }

    /// Every file-like object (`PhotoSize`, `Document`, `Voice`, `Audio`, `Video`,
    /// `VideoNote`, `Animation`, `Sticker`): they share `file_id` and differ in optional fields.
    struct File: Decodable, Equatable {
        var fileID: String
        var fileName: String?
        var mimeType: String?
        var fileSize: Int64?
        var width: Int64?
        var height: Int64?
        var duration: Int64?
        var length: Int64?
        var emoji: String?
        var setName: String?
        var title: String?
        var performer: String?

        enum CodingKeys: String, CodingKey {
            case width, height, duration, length, emoji, title, performer
            case fileID = "file_id"
            case fileName = "file_name"
            case mimeType = "mime_type"
            case fileSize = "file_size"
            case setName = "set_name"
        }
    }

    struct Location: Decodable, Equatable {
        var latitude: Double
        var longitude: Double
    }

    struct Venue: Decodable, Equatable {
        var location: Location
        var title: String
        var address: String?
    }

    struct Contact: Decodable, Equatable {
        var phoneNumber: String
        var firstName: String
        var lastName: String?
        var userID: Int64?

        enum CodingKeys: String, CodingKey {
            case phoneNumber = "phone_number"
            case firstName = "first_name"
            case lastName = "last_name"
            case userID = "user_id"
        }
    }

    struct Message: Decodable {
        var messageID: Int64
        var date: Int64
        var editDate: Int64?
        var from: User?
        var senderChat: Chat?
        var chat: Chat
        var text: String?
        var caption: String?
        var photo: [File]?
        var document: File?
        var voice: File?
        var audio: File?
        var video: File?
        var videoNote: File?
        var animation: File?
        var sticker: File?
        var location: Location?
        var venue: Venue?
        var contact: Contact?

        enum CodingKeys: String, CodingKey {
            case date, from, chat, text, caption, photo, document, voice, audio, video, animation, sticker
            case location, venue, contact
            case messageID = "message_id"
            case editDate = "edit_date"
            case senderChat = "sender_chat"
            case videoNote = "video_note"
        }

        /// Keys that describe a message rather than carry its content: what is left names
        /// the content of a message Switchboard does not handle (`poll`, `new_chat_members`).
        static let metadataKeys: Set<String> = [
            "message_id", "message_thread_id", "from", "sender_chat", "sender_boost_count", "sender_business_bot",
            "date", "edit_date", "business_connection_id", "chat", "forward_origin", "is_topic_message",
            "is_automatic_forward", "reply_to_message", "external_reply", "quote", "reply_to_story",
            "reply_to_checklist_task_id", "via_bot", "has_protected_content", "is_from_offline", "is_paid_post",
            "media_group_id", "author_signature", "paid_star_count", "entities", "caption_entities",
            "link_preview_options", "effect_id", "show_caption_above_media", "has_media_spoiler", "reply_markup",
            "suggested_post_info", "direct_messages_topic",
        ]
    }

    struct CallbackQuery: Decodable {
        var id: String
        var from: User
        var message: CallbackMessage?
        var data: String?
    }

    /// The message a pressed button belongs to: only where it is matters here.
    struct CallbackMessage: Decodable {
        var messageID: Int64
        var chat: Chat

        enum CodingKeys: String, CodingKey {
            case chat
            case messageID = "message_id"
        }
    }
}
