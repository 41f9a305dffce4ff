/// A structured field with parameters: Content-Type and Content-Disposition
/// (`value; name=token; name="quoted"; name*=utf-8''%D0%90; name*0*=...; name*1=...`).
struct HeaderParameters: Sendable, Equatable {
    /// The leading value, lowercased (`text/plain`, `attachment`).
    let value: String
    /// Parameter names lowercased; RFC 2231 continuations joined and percent-decoded.
    let parameters: [String: String]

    subscript(_ name: String) -> String? { parameters[name] }

    init(_ field: String) {
        let pieces = Self.split(field)
        value = (pieces.first ?? "").trimmingWhitespace().lowercased()
        // name -> [(section, isExtended, raw)]
        var sections: [String: [(Int, Bool, String)]] = [:]
        for piece in pieces.dropFirst().prefix(64) {
            guard let eq = piece.firstIndex(of: "=") else { continue }
            var name = piece[..<eq].trimmingWhitespace().lowercased()
            var raw = piece[piece.index(after: eq)...].trimmingWhitespace()
            if raw.count >= 2, raw.hasPrefix("\""), raw.hasSuffix("\"") {
                raw = MailAddress.unquote(raw)
            }
            var extended = false
            if name.hasSuffix("*") {
                extended = true
                name.removeLast()
            }
            var section = 0
            if let star = name.lastIndex(of: "*"), let n = Int(name[name.index(after: star)...]), n >= 0, n < 1000 {
                section = n
                name = String(name[..<star])
            }
            sections[name, default: []].append((section, extended, raw))
        }
        var result: [String: String] = [:]
        for (name, parts) in sections {
            let ordered = parts.sorted { $0.0 < $1.0 }
            var charset: String?
            var bytes: [UInt8] = []
            var plain = ""
            var anyExtended = false
            for (position, (_, extended, raw)) in ordered.enumerated() {
                if extended {
                    anyExtended = true
                    var text = Substring(raw)
                    if position == 0 {
                        // charset'language'value on the first extended section.
                        let quoteParts = text.split(separator: "'", maxSplits: 2, omittingEmptySubsequences: false)
                        if quoteParts.count == 3 {
                            charset = String(quoteParts[0])
                            text = quoteParts[2]
                        }
                    }
                    bytes += Self.percentDecode(text)
                } else {
                    bytes += Array(raw.utf8)
                    plain += raw
                }
            }
            if anyExtended {
                result[name] = Charset.decode(bytes, charset: charset ?? "utf-8").text
            } else {
                result[name] = plain
            }
        }
        parameters = result
    }

    static func percentDecode(_ s: Substring) -> [UInt8] {
        let b = Array(s.utf8)
        var out: [UInt8] = []
        var i = 0
        while i < b.count {
            if b[i] == UInt8(ascii: "%"), i + 2 < b.count,
               let hi = TransferEncoding.hexValue(b[i + 1]), let lo = TransferEncoding.hexValue(b[i + 2]) {
                out.append(hi << 4 | lo)
                i += 3
            } else {
                out.append(b[i])
                i += 1
            }
        }
        return out
    }

    /// Splits at `;` outside quotes.
    static func split(_ field: String) -> [String] {
        var pieces: [String] = []
        var current = ""
        var inQuote = false
        var escaped = false
        for c in field {
            if escaped { current.append(c); escaped = false; continue }
            if c == "\\", inQuote { current.append(c); escaped = true; continue }
            if c == "\"" { inQuote.toggle() }
            if c == ";", !inQuote {
                pieces.append(current)
                current = ""
            } else {
                current.append(c)
            }
        }
        pieces.append(current)
        return pieces
    }
}
