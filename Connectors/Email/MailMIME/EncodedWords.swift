/// RFC 2047 encoded-words (`=?charset?B?...?=`, `=?charset?Q?...?=`) in unstructured text
/// such as Subject and in display names and filenames.
enum EncodedWords {
    /// The text with its encoded-words decoded. Whitespace between two adjacent encoded-words
    /// is dropped (RFC 2047 §6.2), and their bytes are joined before decoding when they share
    /// a charset, because mailers split a long UTF-8 subject inside a character.
    static func decode(_ text: String) -> (text: String, unknownCharset: String?) {
        guard text.contains("=?") else { return (text, nil) }
        let scalars = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        var pendingBytes: [UInt8] = []
        var pendingCharset: String?
        var pendingSpace = String.UnicodeScalarView()
        var unknown: String?

        func flushPending() {
            guard let charset = pendingCharset else { return }
            let decoded = Charset.decode(pendingBytes, charset: charset)
            if !decoded.known { unknown = charset }
            out.append(contentsOf: decoded.text.unicodeScalars)
            pendingBytes = []
            pendingCharset = nil
        }

        var i = 0
        while i < scalars.count {
            if scalars[i] == "=", i + 1 < scalars.count, scalars[i + 1] == "?",
               let word = parseWord(scalars, at: i) {
                if pendingCharset != nil, Charset.normalize(word.charset) != Charset.normalize(pendingCharset ?? "") {
                    flushPending()
                }
                // Whitespace between encoded-words vanishes.
                pendingSpace = String.UnicodeScalarView()
                pendingCharset = word.charset
                pendingBytes += word.bytes
                i = word.end
                continue
            }
            let c = scalars[i]
            if pendingCharset != nil, c == " " || c == "\t" || c == "\r" || c == "\n" {
                pendingSpace.append(c)
                i += 1
                continue
            }
            flushPending()
            out.append(contentsOf: pendingSpace)
            pendingSpace = String.UnicodeScalarView()
            out.append(c)
            i += 1
        }
        flushPending()
        out.append(contentsOf: pendingSpace)
        return (String(out), unknown)
    }

    /// One encoded-word starting at `start`, or nil when it is not one (then it is text).
    static func parseWord(_ s: [Unicode.Scalar], at start: Int) -> (charset: String, bytes: [UInt8], end: Int)? {
        var i = start + 2
        var charset = String.UnicodeScalarView()
        while i < s.count, s[i] != "?" {
            if s[i] == " " || charset.count > 64 { return nil }
            charset.append(s[i])
            i += 1
        }
        guard i + 2 < s.count, s[i + 2] == "?" else { return nil }
        let mode = s[i + 1]
        i += 3
        let textStart = i
        // RFC 2047 allows 75 characters per word; the bound is lenient but keeps a header
        // of many unterminated "=?x?B?" from costing a scan to its end for each one.
        while i + 1 < s.count, !(s[i] == "?" && s[i + 1] == "=") {
            if s[i] == " " || s[i] == "\t" || s[i] == "\n" || i - textStart > 2_000 { return nil }
            i += 1
        }
        guard i + 1 < s.count else { return nil }
        let encoded = s[textStart..<i].compactMap { $0.isASCII ? UInt8($0.value) : nil }
        let bytes: [UInt8]
        switch mode {
        case "B", "b": bytes = TransferEncoding.base64(encoded).bytes
        case "Q", "q":
            bytes = TransferEncoding.quotedPrintable(encoded.map { $0 == UInt8(ascii: "_") ? UInt8(ascii: " ") : $0 })
        default: return nil
        }
        return (String(charset), bytes, i + 2)
    }
}
