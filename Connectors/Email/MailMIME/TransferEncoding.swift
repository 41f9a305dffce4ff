/// Content-Transfer-Encoding: the 7-bit wrappings of a part's bytes (RFC 2045 §6).
enum TransferEncoding {
    /// The decoded bytes, and a warning when the input was damaged or the encoding unknown.
    static func decode(_ body: ArraySlice<UInt8>, encoding: String?) -> (bytes: [UInt8], warning: String?) {
        switch Charset.normalize(encoding ?? "7bit") {
        case "quoted-printable": return (quotedPrintable(body), nil)
        case "base64": return base64(body)
        case "7bit", "8bit", "binary", "": return (Array(body), nil)
        case let other: return (Array(body), "unknown Content-Transfer-Encoding '\(other.prefix(40))': kept as is")
        }
    }

    /// The decoded size of `body` without decoding it: base64's alphabet characters × 3/4
    /// less its padding; quoted-printable's bytes less its `=XX` and soft breaks; else as is.
    static func decodedSize(_ body: ArraySlice<UInt8>, encoding: String?) -> Int {
        switch Charset.normalize(encoding ?? "7bit") {
        case "base64":
            var symbols = 0
            var padding = 0
            for byte in body {
                switch byte {
                case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                    UInt8(ascii: "+"), UInt8(ascii: "/"):
                    symbols += 1
                case UInt8(ascii: "="): padding += 1
                default: break
                }
            }
            return max(0, (symbols + padding) / 4 * 3 - min(padding, 2))
        case "quoted-printable":
            return quotedPrintable(body).count
        default:
            return body.count
        }
    }

    static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): b - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): b - UInt8(ascii: "A") + 10
        case UInt8(ascii: "a")...UInt8(ascii: "f"): b - UInt8(ascii: "a") + 10
        default: nil
        }
    }

    /// `=XX` is a byte, `=` at the end of a line (trailing blanks allowed) joins the lines;
    /// a `=` followed by anything else is kept as written, as every mail reader does.
    static func quotedPrintable<C: Collection>(_ body: C) -> [UInt8] where C.Element == UInt8, C.Index == Int {
        var out: [UInt8] = []
        out.reserveCapacity(body.count)
        var i = body.startIndex
        let end = body.endIndex
        while i < end {
            let b = body[i]
            guard b == UInt8(ascii: "=") else {
                out.append(b)
                i += 1
                continue
            }
            if i + 2 < end, let hi = hexValue(body[i + 1]), let lo = hexValue(body[i + 2]) {
                out.append(hi << 4 | lo)
                i += 3
                continue
            }
            // Soft line break: "=", optional blanks, then CRLF or LF (or the end of the body).
            var j = i + 1
            while j < end, body[j] == UInt8(ascii: " ") || body[j] == UInt8(ascii: "\t") { j += 1 }
            if j == end {
                i = j
            } else if body[j] == UInt8(ascii: "\n") {
                i = j + 1
            } else if body[j] == UInt8(ascii: "\r"), j + 1 < end, body[j + 1] == UInt8(ascii: "\n") {
                i = j + 2
            } else {
                out.append(b)
                i += 1
            }
        }
        return out
    }

    /// Base64, skipping line breaks and any other byte outside the alphabet (a damaged
    /// attachment should still arrive, short, with a warning) and padding.
    static func base64<C: Collection>(_ body: C) -> (bytes: [UInt8], warning: String?) where C.Element == UInt8 {
        var out: [UInt8] = []
        out.reserveCapacity(body.count / 4 * 3)
        var acc: UInt32 = 0
        var bits = 0
        var invalid = 0
        for b in body {
            let v: UInt8
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): v = b - UInt8(ascii: "A")
            case UInt8(ascii: "a")...UInt8(ascii: "z"): v = b - UInt8(ascii: "a") + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = b - UInt8(ascii: "0") + 52
            case UInt8(ascii: "+"), UInt8(ascii: "-"): v = 62
            case UInt8(ascii: "/"), UInt8(ascii: "_"): v = 63
            case UInt8(ascii: "="): continue
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"), UInt8(ascii: "\n"): continue
            default:
                invalid += 1
                continue
            }
            acc = (acc << 6 | UInt32(v)) & 0xFFFFFF
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: acc >> UInt32(bits)))
            }
        }
        let warning = invalid > 0 ? "base64 had \(invalid) invalid byte(s): skipped" : nil
        return (out, warning)
    }
}
