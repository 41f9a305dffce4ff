import ConnectorKit
/// One Cloud API webhook body: `{"object": "whatsapp_business_account", "entry": [...]}`.
///
/// Only the `messages` field's value is decoded; other fields (`account_update`,
/// `message_template_status_update`, …) are kept by name so they can be ignored.
struct WhatsAppNotification: Decodable {
    var object: String
    /// Present when `object` is `whatsapp_business_account`.
    var entry: [Entry]

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: JSONKey.self)
        object = try container.decode(String.self, forKey: JSONKey("object"))
        if object == WhatsAppConnector.businessAccountObject {
            entry = try container.decode([Entry].self, forKey: JSONKey("entry"))
        } else {
            entry = []
        }
    }

    struct Entry: Decodable {
        var id: String
        /// When the webhook was triggered (template status updates carry it).
        var time: UnixTime?
        var changes: [Change]

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: JSONKey.self)
            id = try container.decode(String.self, forKey: JSONKey("id"))
            time = try? container.decodeIfPresent(UnixTime.self, forKey: JSONKey("time"))
            changes = try container.decode([Change].self, forKey: JSONKey("changes"))
        }
    }

    struct Change: Decodable {
        var field: String
        /// Decoded only for the `messages` field, whose shape is known.
        var value: Value?
        /// For `message_template_status_update`, when its value reads as one.
        var templateStatus: TemplateStatus?

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: JSONKey.self)
            field = try container.decode(String.self, forKey: JSONKey("field"))
            value = field == "messages" ? try container.decode(Value.self, forKey: JSONKey("value")) : nil
            templateStatus =
                field == "message_template_status_update"
                ? try? container.decode(TemplateStatus.self, forKey: JSONKey("value")) : nil
        }
    }

    /// A template's new state: `{event, message_template_id, message_template_name,
    /// message_template_language, reason}`.
    struct TemplateStatus: Decodable {
        var event: String
        /// A number in Meta's payloads; a string is taken too.
        var templateID: String
        var name: String
        var language: String
        var reason: String?

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: JSONKey.self)
            event = try container.decode(String.self, forKey: JSONKey("event"))
            if let number = try? container.decode(Int64.self, forKey: JSONKey("message_template_id")) {
                templateID = String(number)
            } else {
                templateID = try container.decode(String.self, forKey: JSONKey("message_template_id"))
            }
            name = try container.decode(String.self, forKey: JSONKey("message_template_name"))
            language = try container.decode(String.self, forKey: JSONKey("message_template_language"))
            reason = try? container.decodeIfPresent(String.self, forKey: JSONKey("reason"))
        }
    }

    struct Value: Decodable {
        var metadata: Metadata
        var contacts: [Contact]?
        var messages: [Message]?
        var statuses: [Status]?
        var errors: [APIError]?
    }

    struct Metadata: Decodable {
        var phoneNumberID: String
        var displayPhoneNumber: String?

        enum CodingKeys: String, CodingKey {
            case phoneNumberID = "phone_number_id"
            case displayPhoneNumber = "display_phone_number"
        }
    }

    /// Who wrote: `wa_id` is the phone number (withheld for some users who adopted a
    /// username), `user_id` the business-scoped user id (BSUID, `US.1349…`).
    struct Contact: Decodable {
        var waID: String?
        var userID: String?
        var profile: Profile?

        struct Profile: Decodable {
            var name: String?
            var username: String?
        }

        enum CodingKeys: String, CodingKey {
            case profile
            case waID = "wa_id"
            case userID = "user_id"
        }
    }

    struct Message: Decodable {
        var id: String
        /// The sender's phone number; absent when it is withheld.
        var from: String?
        /// The sender's business-scoped user id.
        var fromUserID: String?
        var timestamp: UnixTime
        var type: String
        var text: Text?
        var image: Media?
        var video: Media?
        var audio: Media?
        var document: Media?
        var sticker: Media?
        var location: Location?
        var interactive: Interactive?
        var button: Button?
        var reaction: Reaction?
        var contacts: [SharedContact]?

        enum CodingKeys: String, CodingKey {
            case id, from, timestamp, type, text, image, video, audio, document, sticker, location, interactive
            case button, reaction, contacts
            case fromUserID = "from_user_id"
        }

        /// The media object of a media message, by its type.
        var media: Media? {
            switch type {
            case "image": image
            case "video": video
            case "audio": audio
            case "document": document
            case "sticker": sticker
            default: nil
            }
        }
    }

    struct Text: Decodable {
        var body: String
    }

    struct Media: Decodable {
        var id: String
        var mimeType: String?
        var sha256: String?
        var caption: String?
        var filename: String?
        var voice: Bool?
        var animated: Bool?

        enum CodingKeys: String, CodingKey {
            case id, sha256, caption, filename, voice, animated
            case mimeType = "mime_type"
        }
    }

    struct Location: Decodable {
        var latitude: Double
        var longitude: Double
        var name: String?
        var address: String?
    }

    struct Interactive: Decodable {
        var type: String
        var buttonReply: Reply?
        var listReply: Reply?

        struct Reply: Decodable {
            var id: String
            var title: String
            var description: String?
        }

        enum CodingKeys: String, CodingKey {
            case type
            case buttonReply = "button_reply"
            case listReply = "list_reply"
        }
    }

    /// A template's quick-reply button.
    struct Button: Decodable {
        var payload: String?
        var text: String
    }

    struct Reaction: Decodable {
        var messageID: String
        /// Absent or empty when the reaction is removed.
        var emoji: String?

        enum CodingKeys: String, CodingKey {
            case emoji
            case messageID = "message_id"
        }
    }

    struct SharedContact: Decodable {
        var name: Name?
        var phones: [Phone]?

        struct Name: Decodable {
            var formattedName: String?

            enum CodingKeys: String, CodingKey {
                case formattedName = "formatted_name"
            }
        }

        struct Phone: Decodable {
            var phone: String?
            var waID: String?

            enum CodingKeys: String, CodingKey {
                case phone
                case waID = "wa_id"
            }
        }
    }

    struct Status: Decodable {
        var id: String
        var status: String
        var timestamp: UnixTime
        var recipientID: String?
        var recipientUserID: String?
        var errors: [APIError]?

        enum CodingKeys: String, CodingKey {
            case id, status, timestamp, errors
            case recipientID = "recipient_id"
            case recipientUserID = "recipient_user_id"
        }
    }

    struct APIError: Decodable {
        var code: Int?
        var title: String?
        var message: String?
    }

    /// Unix seconds, which Meta sends as a string of digits (and in places as a number).
    struct UnixTime: Decodable, Equatable {
        var seconds: Int64

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let number = try? container.decode(Int64.self) {
                seconds = number
            } else if let parsed = Int64(try container.decode(String.self)), parsed >= 0 {
                seconds = parsed
            } else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "not unix seconds")
            }
        }
    }
}
