/// One mailbox of From, To, Cc or Reply-To.
public struct MailAddress: Sendable, Equatable, CustomStringConvertible {
    /// The display name, encoded-words decoded; nil when there is none.
    public let name: String?
    /// `local@domain` as written (no case folding: the local part is the server's business).
    public let address: String

    public init(name: String?, address: String) {
        self.name = name
        self.address = address
    }

    public var description: String { name.map { "\($0) <\(address)>" } ?? address }

    /// The mailboxes of one address-list field, best effort: quoted names may hold commas,
    /// comments are skipped (an old-style `addr (Name)` comment becomes the name), group
    /// syntax is flattened, and an entry without an address is dropped, never an error.
    static func parseList(_ value: String, limit: Int) -> [MailAddress] {
        var result: [MailAddress] = []
        for entry in splitEntries(value) {
            if result.count >= limit { break }
            if let address = parseOne(entry) { result.append(address) }
        }
        return result
    }

    /// Splits at commas (and group `;`) outside quotes, comments and angle brackets, and
    /// removes comments on the way.
    static func splitEntries(_ value: String) -> [(text: String, comment: String)] {
        var entries: [(String, String)] = []
        var current = ""
        var comment = ""
        var inQuote = false
        var commentDepth = 0
        var inAngle = false
        var escaped = false
        for c in value {
            if escaped {
                if commentDepth > 0 { comment.append(c) } else { current.append(c) }
                escaped = false
                continue
            }
            if c == "\\", inQuote || commentDepth > 0 {
                if inQuote { current.append(c) }
                escaped = true
                continue
            }
            if commentDepth > 0 {
                if c == "(" { commentDepth += 1 } else if c == ")" { commentDepth -= 1 } else { comment.append(c) }
                if commentDepth == 0 { comment.append(" ") }
                continue
            }
            if inQuote {
                current.append(c)
                if c == "\"" { inQuote = false }
                continue
            }
            switch c {
            case "\"": inQuote = true; current.append(c)
            case "(": commentDepth = 1
            case "<": inAngle = true; current.append(c)
            case ">": inAngle = false; current.append(c)
            case ":" where !inAngle:
                // "Group name: a, b;" — the group name is not a mailbox.
                if !current.contains("@"), !current.contains("<") { current = "" } else { current.append(c) }
            case ",", ";":
                if inAngle { current.append(c) } else {
                    entries.append((current, comment))
                    current = ""
                    comment = ""
                }
            default: current.append(c)
            }
        }
        entries.append((current, comment))
        return entries
    }

    static func parseOne(_ entry: (text: String, comment: String)) -> MailAddress? {
        let text = entry.text.trimmingWhitespace()
        let comment = entry.comment.trimmingWhitespace()
        var name: String
        var address: String
        if let open = text.lastIndex(of: "<") {
            let afterOpen = text.index(after: open)
            let close = text[afterOpen...].firstIndex(of: ">") ?? text.endIndex
            address = String(text[afterOpen..<close]).trimmingWhitespace()
            name = String(text[..<open]).trimmingWhitespace()
            // Route syntax: "<@relay:user@host>".
            if address.hasPrefix("@"), let colon = address.firstIndex(of: ":") {
                address = String(address[address.index(after: colon)...])
            }
        } else {
            address = text.filter { $0 != " " && $0 != "\t" }
            name = comment
        }
        guard !address.isEmpty else { return nil }
        name = unquote(name)
        let decoded = EncodedWords.decode(name).text.trimmingWhitespace()
        return MailAddress(name: decoded.isEmpty ? nil : decoded, address: unquote(address))
    }

    /// A quoted-string without its quotes and escapes; other text as is.
    static func unquote(_ s: String) -> String {
        guard s.contains("\"") else { return s }
        var out = ""
        var escaped = false
        for c in s {
            if escaped { out.append(c); escaped = false; continue }
            if c == "\\" { escaped = true; continue }
            if c == "\"" { continue }
            out.append(c)
        }
        return out
    }
}

/// Message-ID, In-Reply-To and References: the `<id>` tokens, brackets removed.
enum MessageIDs {
    static func parse(_ value: String, limit: Int) -> [String] {
        var ids: [String] = []
        var rest = Substring(value)
        while ids.count < limit, let open = rest.firstIndex(of: "<") {
            let after = rest.index(after: open)
            guard let close = rest[after...].firstIndex(of: ">") else { break }
            let id = rest[after..<close].filter { $0 != " " && $0 != "\t" }
            if !id.isEmpty { ids.append(String(id)) }
            rest = rest[rest.index(after: close)...]
        }
        if ids.isEmpty {
            // No brackets at all (broken mailers): whitespace-separated tokens with an "@".
            for token in value.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," }) where token.contains("@") {
                if ids.count >= limit { break }
                ids.append(String(token))
            }
        }
        return ids
    }
}
