/// The commands this client sends, and their bytes on the wire. Encoding is separate from
/// sending so it can be checked byte for byte, and so that a literal's synchronisation
/// point (wait for `+` before sending its bytes) is explicit in the encoded value.
enum IMAPCommand: Sendable {
    case capability
    case startTLS
    case login(user: String, password: String)
    /// AUTHENTICATE with the SASL initial response on the command line (RFC 4959) when
    /// `initialResponse` is given, else the mechanism alone (the response follows `+`).
    case authenticate(mechanism: String, initialResponse: String?)
    case examine(mailbox: String)
    /// `UID SEARCH UID n:*`: UIDs from `n` on (the server adds the highest UID even when it
    /// is below `n`; the caller filters).
    case uidSearchFrom(UInt32)
    /// `UID SEARCH RETURN (ALL) UID n:*` (ESEARCH, RFC 4731): the same, answered as ranges.
    case uidExtendedSearchFrom(UInt32)
    /// `UID FETCH set (UID RFC822.SIZE INTERNALDATE BODY.PEEK[]<0.n>)`.
    case uidFetch(set: String, maximumBytes: Int)
    case idle
    case noop
    case logout

    /// One piece of a command, to be sent as is; when `awaitsContinuation`, the server must
    /// answer `+` before the next piece (a synchronising literal).
    struct Part: Equatable, Sendable {
        var bytes: [UInt8]
        var awaitsContinuation: Bool
    }

    /// The pieces of the command under `tag`. `literalPlus` lets literals go without a
    /// round trip (RFC 7888). Throws for strings no IMAP string can carry (NUL).
    func encode(tag: String, literalPlus: Bool) throws(IMAPError) -> [Part] {
        var parts: [Part] = []
        var current = Array("\(tag) ".utf8)

        func append(_ text: String) { current.append(contentsOf: text.utf8) }
        func appendString(_ text: String) throws(IMAPError) {
            let bytes = Array(text.utf8)
            switch IMAPCommand.stringForm(bytes) {
            case .atom:
                current.append(contentsOf: bytes)
            case .quoted:
                current.append(UInt8(ascii: "\""))
                for byte in bytes {
                    if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { current.append(UInt8(ascii: "\\")) }
                    current.append(byte)
                }
                current.append(UInt8(ascii: "\""))
            case .literal:
                current.append(contentsOf: Array("{\(bytes.count)\(literalPlus ? "+" : "")}\r\n".utf8))
                parts.append(Part(bytes: current, awaitsContinuation: !literalPlus))
                current = bytes
            case .impossible:
                throw IMAPError(.refused, "a string with a NUL byte cannot be sent over IMAP")
            }
        }

        switch self {
        case .capability: append("CAPABILITY")
        case .startTLS: append("STARTTLS")
        case let .login(user, password):
            append("LOGIN ")
            try appendString(user)
            append(" ")
            try appendString(password)
        case let .authenticate(mechanism, initialResponse):
            append("AUTHENTICATE \(mechanism)")
            if let initialResponse {
                // An empty initial response is sent as "=" (RFC 4959 §3).
                append(" \(initialResponse.isEmpty ? "=" : initialResponse)")
            }
        case let .examine(mailbox):
            append("EXAMINE ")
            try appendString(IMAPMailboxName.encode(mailbox))
        case let .uidSearchFrom(uid):
            append("UID SEARCH UID \(uid):*")
        case let .uidExtendedSearchFrom(uid):
            append("UID SEARCH RETURN (ALL) UID \(uid):*")
        case let .uidFetch(set, maximumBytes):
            append("UID FETCH \(set) (UID RFC822.SIZE INTERNALDATE BODY.PEEK[]<0.\(max(0, maximumBytes))>)")
        case .idle: append("IDLE")
        case .noop: append("NOOP")
        case .logout: append("LOGOUT")
        }
        current.append(contentsOf: [UInt8(ascii: "\r"), UInt8(ascii: "\n")])
        parts.append(Part(bytes: current, awaitsContinuation: false))
        return parts
    }

    enum StringForm { case atom, quoted, literal, impossible }

    /// The plainest form that carries these bytes: an atom when every byte is an ATOM-CHAR,
    /// quoted for other 7-bit text, a literal for 8-bit bytes, CR or LF (RFC 3501 §4.3).
    static func stringForm(_ bytes: [UInt8]) -> StringForm {
        if bytes.contains(0) { return .impossible }
        if bytes.contains(where: { $0 >= 0x80 || $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\n") }) {
            return .literal
        }
        let specials: Set<UInt8> = Set("(){ %*\"\\]".utf8)
        if !bytes.isEmpty, !bytes.contains(where: { $0 < 0x20 || $0 == 0x7F || specials.contains($0) }) {
            return .atom
        }
        if bytes.contains(where: { $0 < 0x20 || $0 == 0x7F }) { return .literal }
        return .quoted
    }
}
