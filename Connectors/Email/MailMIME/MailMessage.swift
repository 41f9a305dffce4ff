/// A message as the mail connector needs it: who, what about, which thread, the text (and
/// the text without quoted history), the attachments, and whether a machine sent it.
public struct MailMessage: Sendable {
    public let headers: MailHeaders
    /// Subject with encoded-words decoded; nil when there is none.
    public let subject: String?
    public let from: [MailAddress]
    public let to: [MailAddress]
    public let cc: [MailAddress]
    public let replyTo: [MailAddress]
    /// Without angle brackets.
    public let messageID: String?
    public let inReplyTo: [String]
    public let references: [String]
    /// The whole text: multipart/alternative's text/plain when there is one, else its HTML
    /// as plain text; inline text parts of a mixed message joined by a blank line.
    public let text: String
    /// True when `text` came from HTML.
    public let textIsFromHTML: Bool
    /// `text` without the signature, the quoted history and the reply header above it: what
    /// the agent should answer. Equal to `text` when nothing was cut.
    public let replyText: String
    public let attachments: [MailAttachment]
    /// Why this looks machine-sent (auto-reply, list, bounce); nil for a person's mail.
    public let autoReplyReason: String?
    /// True when some part declared a charset we do not know and was read as UTF-8.
    public let usedCharsetFallback: Bool
    /// What was damaged or guessed, for the log: never shown to the agent.
    public let warnings: [String]

    /// Reads one raw message. Throws only for input over `limits` or with no header at all;
    /// anything else damaged is read best effort and noted in `warnings`.
    public init(parsing raw: [UInt8], limits: MailLimits = MailLimits()) throws(MailError) {
        guard raw.count <= limits.messageBytes else {
            throw MailError(.tooLarge, "the message is \(raw.count) bytes, over the limit of \(limits.messageBytes)")
        }
        var reader = EntityReader(limits: limits)
        let root = try reader.read(raw[...], depth: 0)
        let headers = root.headers
        guard !headers.fields.isEmpty else { throw MailError(.malformed, "no header field could be read") }
        self.headers = headers

        var warnings = reader.warnings
        var fallback = reader.usedCharsetFallback
        func unstructured(_ name: String) -> String? {
            guard let raw = headers.first(name) else { return nil }
            let decoded = EncodedWords.decode(raw)
            if let unknown = decoded.unknownCharset {
                fallback = true
                warnings.append("\(name): unknown charset '\(unknown.prefix(40))', read as UTF-8")
            }
            return decoded.text
        }
        func addresses(_ name: String) -> [MailAddress] {
            headers.values(name).flatMap { MailAddress.parseList($0, limit: limits.listItems) }.prefix(limits.listItems).map { $0 }
        }
        subject = unstructured("Subject")
        from = addresses("From")
        to = addresses("To")
        cc = addresses("Cc")
        replyTo = addresses("Reply-To")
        messageID = headers.first("Message-ID").flatMap { MessageIDs.parse($0, limit: 1).first }
        inReplyTo = headers.first("In-Reply-To").map { MessageIDs.parse($0, limit: limits.listItems) } ?? []
        references = headers.first("References").map { MessageIDs.parse($0, limit: limits.listItems) } ?? []

        let body = root.bodyText()
        text = body?.text ?? ""
        textIsFromHTML = body?.fromHTML ?? false
        replyText = ReplyTrimmer.replyText(text)
        attachments = root.attachments()
        autoReplyReason = AutoReply.reason(headers: headers, contentType: root.contentType)
        usedCharsetFallback = fallback
        self.warnings = warnings
    }
}

/// A part that is a file rather than the text: `Content-Disposition: attachment`, or any
/// part that is not text.
public struct MailAttachment: Sendable {
    /// From `filename` (RFC 2231 and encoded-words decoded), else Content-Type's `name`.
    public let filename: String?
    /// Lowercased, without parameters: `application/pdf`.
    public let contentType: String
    /// True for `Content-Disposition: inline` (images in HTML, mostly).
    public let isInline: Bool
    /// The Content-ID without brackets, for `cid:` references in HTML.
    public let contentID: String?
    /// The decoded bytes; empty when the message was read without decoding attachments
    /// (`MailLimits.decodesAttachments`).
    public let content: [UInt8]
    /// The decoded size in bytes (computed from the encoded length when not decoded).
    public let size: Int
}
