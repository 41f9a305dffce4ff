public import Foundation

/// A reply as it goes out by SMTP: plain text in UTF-8, every line and header 7-bit safe
/// (RFC 2047 encoded-words, base64 bodies), and the threading headers that make mail
/// clients file it under the customer's thread: `Message-ID`, `In-Reply-To`,
/// `References` and a `Re:` subject.
///
/// Every value from a tenant or a customer (names, the subject, the text) is stripped of
/// CR and LF before it reaches a header, so nothing can add a header of its own.
public struct OutgoingMail: Sendable {
    public var from: MailAddress
    public var to: [MailAddress]
    public var subject: String
    public var text: String
    /// Without angle brackets, like `MailMessage.messageID`.
    public var messageID: String
    public var inReplyTo: String?
    /// Oldest first; the thread's root and the message answered are enough for clients.
    public var references: [String]
    public var date: Date
    /// RFC 3834's `Auto-Submitted: auto-replied`: another auto-responder must not answer it.
    public var isAutomatic: Bool

    public init(
        from: MailAddress, to: [MailAddress], subject: String, text: String, messageID: String, inReplyTo: String? = nil,
        references: [String] = [], date: Date, isAutomatic: Bool = false
    ) {
        self.from = from
        self.to = to
        self.subject = subject
        self.text = text
        self.messageID = messageID
        self.inReplyTo = inReplyTo
        self.references = references
        self.date = date
        self.isAutomatic = isAutomatic
    }

    /// The subject of a reply: the thread's subject with one `Re: ` in front, not another
    /// when it has one already.
    public static func replySubject(_ subject: String?) -> String {
        let base = MailSubject.normalized(subject ?? "")
        return base.isEmpty ? "Re:" : "Re: \(base)"
    }

    /// The message, CRLF line ends, ready for SMTP's DATA.
    public func rendered() -> [UInt8] {
        var lines: [String] = []
        lines.append(Self.field("Date", Self.rfc5322Date(date)))
        lines.append(Self.field("From", Self.address(from)))
        lines.append(Self.field("To", to.map(Self.address).joined(separator: ", ")))
        lines.append(Self.field("Subject", Self.encodedWords(Self.oneLine(subject))))
        lines.append("Message-ID: <\(Self.oneLine(messageID))>")
        if let inReplyTo { lines.append("In-Reply-To: <\(Self.oneLine(inReplyTo))>") }
        if !references.isEmpty {
            lines.append(Self.fold("References", references.map { "<\(Self.oneLine($0))>" }))
        }
        if isAutomatic { lines.append("Auto-Submitted: auto-replied") }
        lines.append("MIME-Version: 1.0")
        lines.append("Content-Type: text/plain; charset=utf-8")
        let body = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
        let plain = body.utf8.allSatisfy { $0 < 0x80 } && body.split(separator: "\n", omittingEmptySubsequences: false).allSatisfy { $0.utf8.count <= 998 }
        var out = lines.joined(separator: "\r\n") + "\r\n"
        if plain {
            out += "Content-Transfer-Encoding: 7bit\r\n\r\n"
            out += body.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\r\n")
        } else {
            out += "Content-Transfer-Encoding: base64\r\n\r\n"
            let encoded = Data(body.utf8).base64EncodedString()
            var index = encoded.startIndex
            var chunks: [Substring] = []
            while index < encoded.endIndex {
                let end = encoded.index(index, offsetBy: 76, limitedBy: encoded.endIndex) ?? encoded.endIndex
                chunks.append(encoded[index..<end])
                index = end
            }
            out += chunks.joined(separator: "\r\n")
        }
        out += "\r\n"
        return Array(out.utf8)
    }

    static func field(_ name: String, _ value: String) -> String { "\(name): \(value)" }

    /// `References` folded at 78 columns: a long thread's ids on lines of their own.
    static func fold(_ name: String, _ items: [String]) -> String {
        var out = "\(name):"
        var column = out.count
        for item in items {
            if column + 1 + item.count > 78 && column > name.count + 1 {
                out += "\r\n"
                column = 0
            }
            out += " " + item
            column += 1 + item.count
        }
        return out
    }

    static func oneLine(_ value: String) -> String {
        String(value.unicodeScalars.map { $0 == "\r" || $0 == "\n" || $0 == "\0" ? " " : Character($0) })
    }

    static func address(_ address: MailAddress) -> String {
        let email = oneLine(address.address).filter { $0 != "<" && $0 != ">" && $0 != " " }
        guard let name = address.name.map(oneLine), !name.isEmpty else { return email }
        if name.unicodeScalars.allSatisfy({ $0.isASCII && $0.value >= 0x20 }) {
            let escaped = name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            return "\"\(escaped)\" <\(email)>"
        }
        return "\(encodedWords(name)) <\(email)>"
    }

    /// RFC 2047 `B` encoded-words in UTF-8 for text that is not printable ASCII, each word
    /// at most 75 characters and split between whole characters; plain text as it is.
    static func encodedWords(_ text: String) -> String {
        guard !text.unicodeScalars.allSatisfy({ $0.isASCII && $0.value >= 0x20 && $0.value < 0x7F }) else { return text }
        var words: [String] = []
        var chunk: [UInt8] = []
        // 45 bytes of UTF-8 make 60 base64 characters: with "=?utf-8?B?" and "?=", 72.
        for character in text {
            let bytes = Array(String(character).utf8)
            if chunk.count + bytes.count > 45 {
                words.append("=?utf-8?B?\(Data(chunk).base64EncodedString())?=")
                chunk = []
            }
            chunk += bytes
        }
        if !chunk.isEmpty { words.append("=?utf-8?B?\(Data(chunk).base64EncodedString())?=") }
        return words.joined(separator: "\r\n ")
    }

    static func rfc5322Date(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(days[Int(parts.tm_wday) % 7]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon) % 12]) \(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) +0000"
    }
}

/// A thread's subject, for matching a reply that lost its references to its thread and for
/// the conversation's title: without the `Re:`, `Fwd:` and their translations that clients
/// put in front, and with its whitespace collapsed.
public enum MailSubject {
    static let prefixes = ["re", "fw", "fwd", "aw", "wg", "sv", "vs", "antw", "отв", "ответ", "пересл", "rif", "r", "tr"]

    public static func normalized(_ subject: String) -> String {
        var text = subject.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
        var changed = true
        while changed {
            changed = false
            guard let colon = text.firstIndex(of: ":"), text.distance(from: text.startIndex, to: colon) <= 10 else { break }
            var head = text[..<colon].lowercased()
            // "Re[2]:", "RE(3):"
            if let bracket = head.firstIndex(where: { $0 == "[" || $0 == "(" }) { head = String(head[..<bracket]) }
            if prefixes.contains(head.trimmingCharacters(in: .whitespaces)) {
                text = String(text[text.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
                changed = true
            }
        }
        return String(text.prefix(500))
    }
}
