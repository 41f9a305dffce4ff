import ConnectorKit
import Foundation

/// The generic channel's inbound body, read strictly:
/// `{"event_id", "sender": {"id", "name"?, "phone"?, "email"?}, "text", "attachments"?: [{"url", "mime_type", "name"?}], "sent_at"?}`.
///
/// An unknown field anywhere is refused (a typo must not silently drop data), as is a
/// missing `text` without attachments, a non-http(s) attachment URL, or a `sent_at` that is
/// not RFC 3339. Errors name the field; none quote a value.
struct WebhookPayload: Decodable {
    var eventID: String
    var sender: Sender
    var text: String?
    var attachments: [Attachment]
    var sentAt: Date?

    struct Sender: Decodable {
        var id: String
        var name: String?
        var phone: String?
        var email: String?

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: JSONKey.self)
            try WebhookPayload.refuseUnknownKeys(in: container, allowed: ["id", "name", "phone", "email"])
            id = try container.decode(String.self, forKey: JSONKey("id"))
            guard !id.isEmpty else { throw Invalid(container.codingPath, "id", "must not be empty") }
            name = try container.decodeIfPresent(String.self, forKey: JSONKey("name"))
            phone = try container.decodeIfPresent(String.self, forKey: JSONKey("phone"))
            email = try container.decodeIfPresent(String.self, forKey: JSONKey("email"))
        }
    }

    struct Attachment: Decodable {
        var url: String
        var mimeType: String
        var name: String?

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: JSONKey.self)
            try WebhookPayload.refuseUnknownKeys(in: container, allowed: ["url", "mime_type", "name"])
            url = try container.decode(String.self, forKey: JSONKey("url"))
            guard WebhookConnector.isHTTPURL(url) else {
                throw Invalid(container.codingPath, "url", "must be an absolute http or https URL")
            }
            mimeType = try container.decode(String.self, forKey: JSONKey("mime_type"))
            guard mimeType.contains("/"), !mimeType.contains(where: \.isWhitespace) else {
                throw Invalid(container.codingPath, "mime_type", "must be a media type such as image/png")
            }
            name = try container.decodeIfPresent(String.self, forKey: JSONKey("name"))
        }
    }

    /// A field present with a value the contract does not allow, or not in the contract.
    struct Invalid: Error {
        var field: String
        var reason: String

        init(_ codingPath: [any CodingKey], _ key: String, _ reason: String) {
            self.field = JSONKey.path(codingPath + [JSONKey(key)])
            self.reason = reason
        }
    }

    static let maximumEventIDLength = 200
    /// The most UTF-8 bytes of `text` (32 KiB): the generic channel has no platform to set
    /// one, and a reply's context carries the text back to the model. Longer is refused, not
    /// cut: the sender is a system that can split its text, and learns why.
    static let maximumTextBytes = 32_768

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: JSONKey.self)
        try Self.refuseUnknownKeys(in: container, allowed: ["event_id", "sender", "text", "attachments", "sent_at"])
        eventID = try container.decode(String.self, forKey: JSONKey("event_id"))
        guard (1...Self.maximumEventIDLength).contains(eventID.count) else {
            throw Invalid([], "event_id", "must be 1 to \(Self.maximumEventIDLength) characters")
        }
        sender = try container.decode(Sender.self, forKey: JSONKey("sender"))
        text = try container.decodeIfPresent(String.self, forKey: JSONKey("text"))
        if let text, text.utf8.count > Self.maximumTextBytes {
            throw Invalid([], "text", "must be at most \(Self.maximumTextBytes) bytes of UTF-8")
        }
        attachments = try container.decodeIfPresent([Attachment].self, forKey: JSONKey("attachments")) ?? []
        if attachments.isEmpty && (text ?? "").isEmpty {
            throw Invalid([], "text", "is required (and not empty) unless there are attachments")
        }
        if let sentAt = try container.decodeIfPresent(String.self, forKey: JSONKey("sent_at")) {
            guard let date = RFC3339Timestamp.date(from: sentAt) else {
                throw Invalid([], "sent_at", "must be an RFC 3339 timestamp such as 2026-11-23T10:15:00Z")
            }
            self.sentAt = date
        } else {
            self.sentAt = nil
        }
    }

    static func refuseUnknownKeys(in container: KeyedDecodingContainer<JSONKey>, allowed: Set<String>) throws {
        if let unknown = container.allKeys.map(\.stringValue).filter({ !allowed.contains($0) }).sorted().first {
            throw Invalid(container.codingPath, unknown, "is not a field of the webhook contract")
        }
    }
}
