import ConnectorKit
import Crypto
import Foundation
import IMAPClient
import MailMIME

extension InboundEvent {
    /// At most this many of a contact's mails within an hour are answered: two
    /// auto-responders that do not mark their mail must still stop answering each other.
    static let mailReplyLimit = 10
    /// The text kept as a mail's original (headers and its whole text, quoted history
    /// included), for the inbox and exports; attachments' contents are not kept.
    static let maximumOriginalBytes = 256 * 1024
    /// Attachments are kept by name, type and size: their contents are not decoded.
    static let mailLimits: MailLimits = {
        var limits = MailLimits()
        limits.decodesAttachments = false
        return limits
    }()

    /// One fetched mail as an event: the sender by address, the thread's root id as the
    /// chat, the text without quoted history for the agent, and the ids it answers.
    /// Mail the connector cannot read at all is kept as ignored, with its reason.
    init(mail: IMAPFetchedMessage, uidValidity: UInt32, mailbox address: String) {
        // Only a mail without a Message-ID needs its hash (a SHA-256 of every mail was a
        // tenth of the fetch's time).
        var fallbackID: String { "sha256:" + SHA256.hash(data: mail.bytes).map { String(format: "%02x", $0) }.joined().prefix(32) }
        let parsed: MailMessage
        do {
            parsed = try MailMessage(parsing: mail.bytes, limits: Self.mailLimits)
        } catch {
            self.init(
                kind: .ignored, eventID: fallbackID, messageID: fallbackID, ignoredReason: "unreadable_mail: \(error.message)",
                raw: Self.original(mail: mail, uidValidity: uidValidity, parsed: nil)
            )
            return
        }
        let id = parsed.messageID.map { String($0.prefix(900)) } ?? fallbackID
        // A form's mail comes from the site with the customer in Reply-To.
        guard let person = (parsed.replyTo.first ?? parsed.from.first), MailAddressCheck.isAddress(person.address) else {
            self.init(
                kind: .ignored, eventID: id, messageID: id, ignoredReason: "mail_without_sender",
                raw: Self.original(mail: mail, uidValidity: uidValidity, parsed: parsed)
            )
            return
        }
        let sender = person.address.lowercased()
        let name = person.name ?? parsed.from.first(where: { $0.address.lowercased() == sender })?.name
        let root = parsed.references.first ?? parsed.inReplyTo.first ?? id
        let subject = MailSubject.normalized(parsed.subject ?? "")
        var noReply = parsed.autoReplyReason.map { "auto_reply: \($0)" }
        if sender == address.lowercased() { noReply = "own_mail" }
        if mail.isTruncated && parsed.replyText.isEmpty { noReply = noReply ?? "truncated_mail" }
        self.init(
            kind: .message, eventID: id, messageID: id,
            sender: Sender(externalID: sender, name: name.map { String($0.prefix(200)) }, email: sender),
            chat: Chat(externalID: String(root.prefix(900)), kind: .direct, title: subject.isEmpty ? nil : subject),
            text: parsed.replyText.isEmpty ? nil : parsed.replyText,
            attachments: parsed.attachments.prefix(50).map(Self.attachment),
            sentAt: mail.internalDate,
            raw: Self.original(mail: mail, uidValidity: uidValidity, parsed: parsed),
            threadKeys: Self.threadKeys(parsed),
            matchTitle: !subject.isEmpty,
            noReply: noReply,
            replyLimit: Self.mailReplyLimit
        )
    }

    /// The ids a mail answers, newest first and each once: In-Reply-To, then References
    /// from its end (the parent, its parent, …, the root), at most 20.
    static func threadKeys(_ mail: MailMessage) -> [String] {
        var seen: Set<String> = []
        return (mail.inReplyTo + mail.references.reversed()).filter { seen.insert($0).inserted }.prefix(20).map { String($0.prefix(900)) }
    }

    static func attachment(_ file: MailAttachment) -> Attachment {
        let type = file.contentType.lowercased()
        let kind = type.hasPrefix("image/") ? "image" : type.hasPrefix("audio/") ? "audio" : type.hasPrefix("video/") ? "video" : "document"
        return Attachment(
            kind: kind, reference: nil, mimeType: String(type.prefix(200)), name: file.filename.map { String($0.prefix(255)) },
            details: ["size": "\(file.size)"].merging(file.isInline ? ["inline": "true"] : [:]) { first, _ in first }
        )
    }

    /// The mail as kept with its event: the header block as received and the whole text,
    /// as JSON, at most `maximumOriginalBytes`.
    static func original(mail: IMAPFetchedMessage, uidValidity: UInt32, parsed: MailMessage?) -> [UInt8] {
        struct Original: Encodable {
            var uid: UInt32
            var uidValidity: UInt32
            var size: Int
            var truncated: Bool
            var headers: String
            var text: String?
            var attachments: [String]
            enum CodingKeys: String, CodingKey {
                case uid, uidValidity = "uid_validity", size, truncated, headers, text, attachments
            }
        }
        let headerEnd = mail.bytes.indices.first { index in
            index + 3 < mail.bytes.count && mail.bytes[index] == 13 && mail.bytes[index + 1] == 10 && mail.bytes[index + 2] == 13
                && mail.bytes[index + 3] == 10
        } ?? min(mail.bytes.count, 64 * 1024)
        let headers = String(decoding: mail.bytes[..<min(headerEnd, 64 * 1024)], as: UTF8.self)
        let text = parsed.map { String($0.text.utf8.prefix(maximumOriginalBytes - 80 * 1024)) ?? "" }
        let original = Original(
            uid: mail.uid, uidValidity: uidValidity, size: mail.size, truncated: mail.isTruncated, headers: headers, text: text,
            attachments: parsed?.attachments.prefix(50).map { "\($0.filename ?? "unnamed") (\($0.contentType), \($0.size) bytes)" } ?? []
        )
        return (try? JSONEncoder().encode(original)).map { Array($0) } ?? []
    }
}
