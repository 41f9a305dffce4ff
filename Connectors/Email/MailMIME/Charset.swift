/// Turns bytes in a declared charset into text. The charsets are the ones mail to this
/// service arrives in; any other is read as UTF-8 with replacement characters, and the
/// caller is told so rather than failing the message.
enum Charset {
    /// The text, and whether the charset was one we know.
    static func decode<C: Collection>(_ bytes: C, charset: String?) -> (text: String, known: Bool) where C.Element == UInt8 {
        let name = normalize(charset ?? "us-ascii")
        switch name {
        case "utf-8", "utf8", "us-ascii", "ascii", "ansi_x3.4-1968", "us", "":
            // US-ASCII declared but 8-bit bytes sent is common; UTF-8 is the likeliest truth.
            return (String(decoding: bytes, as: UTF8.self), true)
        case "iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1", "iso_8859-1":
            return (latin1(bytes), true)
        case "koi8-r", "koi8r":
            return (table(bytes, CyrillicTables.koi8r), true)
        case "windows-1251", "cp1251", "x-cp1251", "win-1251":
            return (table(bytes, CyrillicTables.windows1251), true)
        default:
            return (String(decoding: bytes, as: UTF8.self), false)
        }
    }

    static func normalize(_ name: String) -> String {
        var n = name.trimmingWhitespace().lowercased()
        // RFC 2231 allows a language after the charset: "utf-8*en".
        if let star = n.firstIndex(of: "*") { n = String(n[..<star]) }
        if n.hasPrefix("\""), n.hasSuffix("\""), n.count >= 2 { n = String(n.dropFirst().dropLast()) }
        return n
    }

    static func latin1<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        var s = String.UnicodeScalarView()
        for b in bytes { s.append(Unicode.Scalar(b)) }
        return String(s)
    }

    static func table<C: Collection>(_ bytes: C, _ upper: [UInt16]) -> String where C.Element == UInt8 {
        var s = String.UnicodeScalarView()
        for b in bytes {
            if b < 0x80 {
                s.append(Unicode.Scalar(b))
            } else {
                let index = Int(b) - 0x80
                let code = index < upper.count ? upper[index] : 0xFFFD
                s.append(Unicode.Scalar(code) ?? "\u{FFFD}")
            }
        }
        return String(s)
    }
}

extension StringProtocol {
    /// Trimmed of spaces, tabs and line breaks: the whitespace of mail, no Foundation needed.
    func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" || $0 == "\r\n" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}
