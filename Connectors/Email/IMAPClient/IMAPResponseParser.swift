import Foundation

/// Reads one whole response (its lines joined by CRLF, literals in place) into an
/// `IMAPResponse`. A value with a cursor and no I/O: `IMAPResponseReader` frames the bytes
/// off the wire, this gives them meaning. Strict where the meaning matters to us (tags,
/// numbers, FETCH items we asked for), tolerant of what we ignore, bounded everywhere.
struct IMAPResponseParser {
    private let bytes: [UInt8]
    private var index = 0
    private let limits: IMAPLimits

    private init(bytes: [UInt8], limits: IMAPLimits) {
        self.bytes = bytes
        self.limits = limits
    }

    /// Parses one framed response; the bytes must not end with CRLF.
    static func parse(_ bytes: [UInt8], limits: IMAPLimits = IMAPLimits()) throws(IMAPError) -> IMAPResponse {
        var parser = IMAPResponseParser(bytes: bytes, limits: limits)
        return try parser.response()
    }

    // MARK: - Grammar

    private mutating func response() throws(IMAPError) -> IMAPResponse {
        guard let first = peek() else { throw violation("empty response line") }
        if first == UInt8(ascii: "+") {
            index += 1
            if peek() == UInt8(ascii: " ") { index += 1 }
            return .continuation(restOfLine())
        }
        if first == UInt8(ascii: "*") {
            index += 1
            try expect(UInt8(ascii: " "))
            return .untagged(try untagged())
        }
        let tag = try self.tag()
        try expect(UInt8(ascii: " "))
        let status = try self.status()
        guard status.condition != .bye, status.condition != .preauth else {
            throw violation("tagged \(status.condition.rawValue)")
        }
        return .tagged(tag: tag, status)
    }

    private mutating func untagged() throws(IMAPError) -> IMAPUntagged {
        if let first = peek(), isDigit(first) {
            let number = try number32()
            try expect(UInt8(ascii: " "))
            let name = atom().uppercased()
            switch name {
            case "EXISTS": return .exists(number)
            case "RECENT": return .recent(number)
            case "EXPUNGE": return .expunge(number)
            case "FETCH":
                try expect(UInt8(ascii: " "))
                return .fetch(sequence: number, try fetchAttributes())
            case "": throw violation("untagged number without a name")
            default: return .other(name)
            }
        }
        let name = atom().uppercased()
        switch name {
        case "OK", "NO", "BAD", "BYE", "PREAUTH":
            index -= name.utf8.count
            return .status(try status())
        case "CAPABILITY":
            return .capability(capabilityList())
        case "SEARCH":
            return .search(try searchResults())
        case "ESEARCH":
            return .extendedSearch(try extendedSearchResults())
        case "": throw violation("untagged response without a name")
        default:
            return .other(name)
        }
    }

    /// `OK/NO/BAD/BYE/PREAUTH [SP "[" code "]"] [SP text]`.
    private mutating func status() throws(IMAPError) -> IMAPStatus {
        let word = atom().uppercased()
        guard let condition = IMAPStatus.Condition(rawValue: word) else {
            throw violation("expected OK, NO, BAD, BYE or PREAUTH, got '\(IMAPError.clip(word))'")
        }
        // Exchange and others send "A1 OK" with no text at all.
        guard peek() == UInt8(ascii: " ") else {
            return IMAPStatus(condition: condition, code: nil, text: restOfLine())
        }
        index += 1
        var code: IMAPResponseCode?
        if peek() == UInt8(ascii: "[") {
            index += 1
            code = try responseCode()
            if peek() == UInt8(ascii: " ") { index += 1 }
        }
        return IMAPStatus(condition: condition, code: code, text: restOfLine())
    }

    private mutating func responseCode() throws(IMAPError) -> IMAPResponseCode {
        let name = atom().uppercased()
        let code: IMAPResponseCode
        switch name {
        case "UIDVALIDITY":
            try expect(UInt8(ascii: " "))
            code = .uidValidity(try number32())
        case "UIDNEXT":
            try expect(UInt8(ascii: " "))
            code = .uidNext(try number32())
        case "CAPABILITY":
            code = .capability(capabilityList())
        case "": throw violation("empty response code")
        default:
            code = .other(name)
        }
        // Arguments of codes we do not read (PERMANENTFLAGS (\Seen \*), BADCHARSET ...)
        // are skipped up to the closing bracket on this line.
        while let byte = peek(), byte != UInt8(ascii: "]"), byte != UInt8(ascii: "\r") { index += 1 }
        try expect(UInt8(ascii: "]"))
        return code
    }

    /// Space-separated atoms, uppercased; stops at the first byte that is not one (the
    /// end of the line, or a code's `]`).
    private mutating func capabilityList() -> Set<String> {
        var capabilities: Set<String> = []
        while peek() == UInt8(ascii: " "), capabilities.count < limits.listItems {
            index += 1
            let name = atom()
            if name.isEmpty { break }
            capabilities.insert(name.uppercased())
        }
        return capabilities
    }

    /// `* SEARCH 2 84 882`, possibly followed by CONDSTORE's `(MODSEQ n)`, which we skip.
    private mutating func searchResults() throws(IMAPError) -> [UInt32] {
        var numbers: [UInt32] = []
        while peek() == UInt8(ascii: " ") {
            index += 1
            guard let byte = peek() else { break }
            if byte == UInt8(ascii: "(") {
                try skipValue(depth: 0)
                continue
            }
            guard numbers.count < limits.searchResults else {
                throw IMAPError(.tooLarge, "SEARCH returned more than \(limits.searchResults) results")
            }
            numbers.append(try number32())
        }
        guard atEndOfLine else { throw violation("unexpected bytes in SEARCH") }
        return numbers
    }

    /// `[SP "(TAG" SP string ")"] [SP "UID"] *(SP name SP value)`: only ALL is kept; MIN,
    /// MAX, COUNT and unknown return data are read and dropped.
    private mutating func extendedSearchResults() throws(IMAPError) -> [ClosedRange<UInt32>] {
        var ranges: [ClosedRange<UInt32>] = []
        if peek() == UInt8(ascii: " "), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "(") {
            index += 1
            try skipValue(depth: 0)
        }
        while peek() == UInt8(ascii: " ") {
            index += 1
            let name = atom().uppercased()
            guard !name.isEmpty else { throw violation("ESEARCH item without a name") }
            if name == "UID" { continue }
            try expect(UInt8(ascii: " "))
            if name == "ALL" {
                ranges += try sequenceSet()
            } else {
                try skipValue(depth: 0)
            }
        }
        guard atEndOfLine else { throw violation("unexpected bytes in ESEARCH") }
        return ranges
    }

    /// `1:5,9,12:10` (either order within a range); `*` has no place in a server's answer.
    private mutating func sequenceSet() throws(IMAPError) -> [ClosedRange<UInt32>] {
        var ranges: [ClosedRange<UInt32>] = []
        repeat {
            if !ranges.isEmpty { index += 1 }
            guard ranges.count < limits.listItems else { throw IMAPError(.tooLarge, "sequence set with too many ranges") }
            let first = try number32()
            var last = first
            if peek() == UInt8(ascii: ":") {
                index += 1
                last = try number32()
            }
            ranges.append(min(first, last)...max(first, last))
        } while peek() == UInt8(ascii: ",")
        return ranges
    }

    /// `(name value name value ...)`, the items in any order (Exchange puts FLAGS last,
    /// Gmail adds X-GM-* items).
    private mutating func fetchAttributes() throws(IMAPError) -> IMAPFetchAttributes {
        try expect(UInt8(ascii: "("))
        var attributes = IMAPFetchAttributes()
        var count = 0
        while true {
            if peek() == UInt8(ascii: ")") {
                index += 1
                break
            }
            if count > 0 { try expect(UInt8(ascii: " ")) }
            count += 1
            guard count <= limits.listItems else { throw IMAPError(.tooLarge, "FETCH with too many items") }
            let name = try fetchItemName()
            try expect(UInt8(ascii: " "))
            switch name.uppercased() {
            case "UID":
                attributes.uid = try number32()
            case "RFC822.SIZE":
                attributes.size = Int(try number32())
            case "INTERNALDATE":
                let text = try quoted()
                guard let date = IMAPDate.parse(text) else {
                    throw violation("unreadable INTERNALDATE '\(IMAPError.clip(String(decoding: text, as: UTF8.self)))'")
                }
                attributes.internalDate = date
            case let upper where upper == "BODY[]" || upper.hasPrefix("BODY[]<"):
                attributes.bodyOrigin = try origin(of: upper)
                if let body = try nstring() {
                    attributes.body = body
                } else {
                    attributes.bodyIsNil = true
                }
            default:
                try skipValue(depth: 0)
            }
        }
        guard atEndOfLine else { throw violation("bytes after the FETCH list") }
        return attributes
    }

    /// A FETCH item name: an atom that may carry `[section]` (with spaces and parentheses
    /// inside, e.g. `BODY[HEADER.FIELDS (FROM)]`) and `<origin>`.
    private mutating func fetchItemName() throws(IMAPError) -> String {
        let start = index
        while let byte = peek(), isAtomByte(byte) || byte == UInt8(ascii: "]") {
            if byte == UInt8(ascii: "[") {
                index += 1
                var depth = 0
                while let inner = peek(), inner != UInt8(ascii: "]") || depth > 0 {
                    guard inner != UInt8(ascii: "\r"), inner < 0x80 else { throw violation("unclosed section in FETCH") }
                    if inner == UInt8(ascii: "(") { depth += 1 }
                    if inner == UInt8(ascii: ")") { depth -= 1 }
                    guard depth >= 0, depth <= limits.depth else { throw violation("unbalanced section in FETCH") }
                    index += 1
                }
                try expect(UInt8(ascii: "]"))
                continue
            }
            index += 1
        }
        if peek() == UInt8(ascii: "<") {
            while let byte = peek(), byte != UInt8(ascii: ">") {
                guard byte == UInt8(ascii: "<") || isDigit(byte) else { throw violation("bad partial origin") }
                index += 1
            }
            try expect(UInt8(ascii: ">"))
        }
        guard index > start else { throw violation("expected a FETCH item name") }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    private func origin(of name: String) throws(IMAPError) -> UInt32? {
        guard let open = name.firstIndex(of: "<") else { return nil }
        let digits = name[name.index(after: open)...].dropLast()
        guard !digits.isEmpty, digits.count <= 10, let value = UInt32(digits) else {
            throw IMAPError(.tooLarge, "partial origin out of range")
        }
        return value
    }

    // MARK: - Values

    /// Skips any value (atom, number, quoted, literal, NIL, list), bounded in depth and width.
    private mutating func skipValue(depth: Int) throws(IMAPError) {
        guard let byte = peek() else { throw violation("value expected") }
        switch byte {
        case UInt8(ascii: "("):
            guard depth < limits.depth else { throw IMAPError(.tooLarge, "lists nested deeper than \(limits.depth)") }
            index += 1
            var items = 0
            while true {
                guard let next = peek() else { throw violation("unclosed parenthesis") }
                if next == UInt8(ascii: ")") {
                    index += 1
                    return
                }
                if items > 0 { try expect(UInt8(ascii: " ")) }
                items += 1
                guard items <= limits.listItems else { throw IMAPError(.tooLarge, "list with too many items") }
                try skipValue(depth: depth + 1)
            }
        case UInt8(ascii: "\""), UInt8(ascii: "{"):
            _ = try string()
        default:
            let start = index
            while let next = peek(), isAtomByte(next) || next == UInt8(ascii: "\\") || next == UInt8(ascii: "*")
                || next == UInt8(ascii: "]") || next == UInt8(ascii: "%") {
                index += 1
            }
            guard index > start else {
                if byte >= 0x80 { throw violation("8-bit byte outside a string") }
                throw violation("unexpected byte 0x\(String(byte, radix: 16)) in a value")
            }
        }
    }

    /// A string or NIL.
    private mutating func nstring() throws(IMAPError) -> [UInt8]? {
        if let byte = peek(), byte == UInt8(ascii: "N") || byte == UInt8(ascii: "n") {
            let word = atom()
            guard word.uppercased() == "NIL" else { throw violation("expected a string or NIL") }
            return nil
        }
        return try string()
    }

    /// A quoted string or a literal.
    private mutating func string() throws(IMAPError) -> [UInt8] {
        if peek() == UInt8(ascii: "\"") { return try quoted() }
        return try literal()
    }

    /// `"..."` with `\"` and `\\` escapes; no CR, LF or NUL inside (RFC 3501 §4.3).
    private mutating func quoted() throws(IMAPError) -> [UInt8] {
        try expect(UInt8(ascii: "\""))
        var out: [UInt8] = []
        while true {
            guard let byte = peek() else { throw violation("unclosed quoted string") }
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                return out
            case UInt8(ascii: "\\"):
                guard let escaped = peek(), escaped == UInt8(ascii: "\"") || escaped == UInt8(ascii: "\\") else {
                    throw violation("bad escape in a quoted string")
                }
                index += 1
                out.append(escaped)
            case UInt8(ascii: "\r"), UInt8(ascii: "\n"), 0:
                throw violation("CR, LF or NUL in a quoted string")
            default:
                out.append(byte)
            }
        }
    }

    /// `{n}` or `{n+}` CRLF then n bytes. The reader has already checked n against the
    /// bound before reading; it is checked again here so the parser stands alone.
    private mutating func literal() throws(IMAPError) -> [UInt8] {
        try expect(UInt8(ascii: "{"))
        let count = try literalCount()
        if peek() == UInt8(ascii: "+") { index += 1 }
        try expect(UInt8(ascii: "}"))
        try expect(UInt8(ascii: "\r"))
        try expect(UInt8(ascii: "\n"))
        guard count <= bytes.count - index else { throw violation("literal shorter than announced") }
        let value = Array(bytes[index..<(index + count)])
        index += count
        return value
    }

    private mutating func literalCount() throws(IMAPError) -> Int {
        let start = index
        var value = 0
        while let byte = peek(), isDigit(byte) {
            guard index - start < 12 else { throw IMAPError(.tooLarge, "literal size out of range") }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
            index += 1
        }
        guard index > start else { throw violation("literal without a size") }
        guard value <= limits.literalBytes else {
            throw IMAPError(.tooLarge, "literal of \(value) bytes is over the limit of \(limits.literalBytes)")
        }
        return value
    }

    /// A 32-bit unsigned number (UIDs, counts, sizes): more than 10 digits or over
    /// UInt32.max is refused, never wrapped or trapped.
    private mutating func number32() throws(IMAPError) -> UInt32 {
        let start = index
        var value: UInt64 = 0
        while let byte = peek(), isDigit(byte) {
            guard index - start < 10 else { throw IMAPError(.tooLarge, "number out of range") }
            value = value * 10 + UInt64(byte - UInt8(ascii: "0"))
            index += 1
        }
        guard index > start else { throw violation("number expected") }
        guard value <= UInt64(UInt32.max) else { throw IMAPError(.tooLarge, "number out of range") }
        return UInt32(value)
    }

    /// A tag: ASTRING-CHARs except `+` (RFC 3501 §9). A line with none has lost its tag.
    private mutating func tag() throws(IMAPError) -> String {
        let start = index
        while let byte = peek(), isAtomByte(byte), byte != UInt8(ascii: "+") { index += 1 }
        guard index > start else { throw violation("response without a tag") }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    /// An atom, possibly empty; 7-bit only.
    private mutating func atom() -> String {
        let start = index
        while let byte = peek(), isAtomByte(byte) { index += 1 }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    /// The human text up to the end of the first line, lossy UTF-8, clipped.
    private mutating func restOfLine() -> String {
        let start = index
        while let byte = peek(), byte != UInt8(ascii: "\r") { index += 1 }
        return IMAPError.clip(String(decoding: bytes[start..<index], as: UTF8.self))
    }

    // MARK: - Bytes

    private var atEndOfLine: Bool { index == bytes.count }

    private func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func expect(_ byte: UInt8) throws(IMAPError) {
        guard peek() == byte else {
            let found = peek().map { $0 >= 0x20 && $0 < 0x7F ? "'\(Character(UnicodeScalar($0)))'" : "0x\(String($0, radix: 16))" }
            throw violation("expected '\(Character(UnicodeScalar(byte)))', found \(found ?? "the end")")
        }
        index += 1
    }

    private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    /// ATOM-CHAR plus `[` (items and codes are read by their callers) and `\` for flags;
    /// no 8-bit bytes, no controls.
    private func isAtomByte(_ byte: UInt8) -> Bool {
        guard byte > 0x20, byte < 0x7F else { return false }
        switch byte {
        case UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "{"), UInt8(ascii: "%"), UInt8(ascii: "*"),
             UInt8(ascii: "\""), UInt8(ascii: "]"):
            return false
        default:
            return true
        }
    }

    private func violation(_ message: String) -> IMAPError {
        IMAPError(.protocolViolation, message)
    }
}
