/// One header section: every field in order, values unfolded but not decoded, because
/// which decoding applies (encoded-words, addresses, parameters) depends on the field.
public struct MailHeaders: Sendable, Equatable {
    public struct Field: Sendable, Equatable {
        /// As written; compare with `matches`.
        public let name: String
        /// Unfolded (the line breaks of folding removed, the blank after them kept).
        public let value: String
    }

    public let fields: [Field]

    /// Every value of `name`, in order; names compare case-insensitively (RFC 5322 §1.2.2).
    public func values(_ name: String) -> [String] {
        let key = name.lowercased()
        return fields.filter { $0.name.lowercased() == key }.map(\.value)
    }

    public func first(_ name: String) -> String? { values(name).first }

    /// Reads the section up to its end (an empty line) and returns the offset of the body.
    /// Header bytes are UTF-8 (RFC 6532) when they validate, else Latin-1: a stray 8-bit
    /// byte from an old mailer becomes a visible character, never a failure.
    static func parse(_ bytes: ArraySlice<UInt8>, limits: MailLimits) throws(MailError) -> (headers: MailHeaders, bodyStart: Int) {
        var lines: [ArraySlice<UInt8>] = []
        var i = bytes.startIndex
        var bodyStart = bytes.endIndex
        while i < bytes.endIndex {
            if i - bytes.startIndex > limits.headerBytes {
                throw MailError(.tooLarge, "a header section is longer than \(limits.headerBytes) bytes")
            }
            var end = i
            while end < bytes.endIndex, bytes[end] != UInt8(ascii: "\n") { end += 1 }
            var lineEnd = end
            if lineEnd > i, bytes[lineEnd - 1] == UInt8(ascii: "\r") { lineEnd -= 1 }
            let next = min(end + 1, bytes.endIndex)
            if lineEnd == i {
                bodyStart = next
                break
            }
            lines.append(bytes[i..<lineEnd])
            i = next
        }
        if bodyStart - bytes.startIndex > limits.headerBytes + 2 {
            throw MailError(.tooLarge, "a header section is longer than \(limits.headerBytes) bytes")
        }

        var fields: [Field] = []
        var name: String?
        var value: [UInt8] = []
        func flush() {
            if let name { fields.append(Field(name: name, value: decodeHeaderBytes(value).trimmingWhitespace())) }
            name = nil
            value = []
        }
        for line in lines {
            guard let first = line.first else { continue }
            if first == UInt8(ascii: " ") || first == UInt8(ascii: "\t") {
                // Folding: the line break goes, the whitespace stays (RFC 5322 §2.2.3).
                if name != nil { value.append(contentsOf: line) }
                continue
            }
            flush()
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex else {
                continue // the mbox "From " line, or garbage: not a field
            }
            let rawName = line[line.startIndex..<colon]
            guard rawName.allSatisfy({ $0 > 32 && $0 < 127 }) else { continue }
            name = String(decoding: rawName, as: UTF8.self)
            value = Array(line[(colon + 1)...])
            if fields.count >= limits.headerFields {
                throw MailError(.tooLarge, "more than \(limits.headerFields) header fields")
            }
        }
        flush()
        return (MailHeaders(fields: fields), bodyStart)
    }

    static func decodeHeaderBytes(_ bytes: [UInt8]) -> String {
        if let utf8 = String(validating: bytes, as: UTF8.self) { return utf8 }
        return Charset.latin1(bytes)
    }
}
