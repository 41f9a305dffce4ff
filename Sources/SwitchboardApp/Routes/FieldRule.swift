import Foundation
import SwitchboardCore

/// What a request's text value may be, declared once: the validators check values with
/// these rules (`check`), and the OpenAPI document's schema for the same value is written
/// from them (`schema`, merged in by `OpenAPIDocument`), so the two cannot disagree.
///
/// Lengths count Unicode code points of the value as sent, as JSON Schema's `maxLength`
/// does; values are trimmed (scalar by scalar) after they are checked. Patterns are ECMA-262 with `\uXXXX`
/// escapes only, which ECMA, Python's `re`, Rust's `regex` and ICU all read alike.
enum FieldRule: Sendable, Equatable {
    /// A name, title or label: not blank, no control characters, at most `maximum` code
    /// points; leading and trailing whitespace is trimmed.
    case name(maximum: Int)
    /// Free text (a note, a message): not blank, no NUL, at most `maximum` code points; trimmed.
    case text(maximum: Int)
    /// Text that may be empty (a system prompt): no NUL, at most `maximum` code points; kept as sent.
    case optionalText(maximum: Int)
    /// A search or filter value: no NUL, at most `maximum` code points when there is a maximum.
    case query(maximum: Int?)
    /// A phone number: ASCII digits (5 to 20) with `+`, spaces, dashes and brackets.
    case phone
    /// An email address of reasonable shape: one `@`, a dot in the domain, no whitespace or
    /// control characters, at most 254 code points.
    case email
    /// A region code: letters, digits and dashes (not first), 1 to 64, any case.
    case region
    /// The home region: two letters, then dash-separated groups of letters and digits
    /// (`kz`, `eu-west-1`), any case, at most 64 code points; the database holds it to that.
    case homeRegion
    /// A secret token (a provider's API key): no whitespace inside, 1 to `maximum` code points.
    case token(maximum: Int)
    /// An absolute http or https URL, at most `maximum` code points (the egress rules on its
    /// address come on top).
    case url(maximum: Int)

    // MARK: The declarations the routes and the document share

    /// Most names: channels, providers, agents, models, keys, titles.
    static let shortName = FieldRule.name(maximum: 200)
    static let tenantName = FieldRule.name(maximum: Tenant.maximumNameLength)
    static let dealStage = FieldRule.name(maximum: 100)
    static let language = FieldRule.name(maximum: 35)
    static let tag = FieldRule.name(maximum: 50)
    static let handoffKeyword = FieldRule.name(maximum: 100)
    /// FAQ questions and answers, the out-of-credits reply.
    static let agentReply = FieldRule.name(maximum: 4000)
    static let topUpReason = FieldRule.name(maximum: 500)
    static let noteBody = FieldRule.text(maximum: 20_000)
    static let personMessage = FieldRule.text(maximum: 20_000)
    static let systemPrompt = FieldRule.optionalText(maximum: 100_000)
    static let contactSearch = FieldRule.query(maximum: 200)
    /// A new password: 10 to 72 characters (the minimum is the document's `minLength` beside).
    static let password = FieldRule.optionalText(maximum: 72)
    /// A password presented at sign-in: bounded, never stored.
    static let signInPassword = FieldRule.optionalText(maximum: 1024)
    static let oneTimeCode = FieldRule.token(maximum: 64)
    static let linkToken = FieldRule.token(maximum: 200)
    static let auditFilter = FieldRule.query(maximum: nil)
    static let providerAPIKey = FieldRule.token(maximum: 4096)
    static let baseURL = FieldRule.url(maximum: 2000)

    // MARK: Checking

    /// The value to store (trimmed where the rule trims), or `invalid_request` naming `field`.
    func check(_ value: String, field: String) throws -> String {
        let scalars = value.unicodeScalars
        switch self {
        case .name(let maximum):
            let trimmed = ScalarClass.whitespaceAndNewline.trim(value)
            guard !trimmed.isEmpty else { throw SwitchboardError.invalid("\(field) must not be empty", field: field) }
            guard scalars.count <= maximum else {
                throw SwitchboardError.invalid("\(field) must be at most \(maximum) characters", field: field)
            }
            guard !trimmed.unicodeScalars.contains(where: ScalarClass.control.contains) else {
                throw SwitchboardError.invalid("\(field) must not contain control characters", field: field)
            }
            return trimmed
        case .text(let maximum):
            let trimmed = ScalarClass.whitespaceAndNewline.trim(value)
            guard !trimmed.isEmpty else { throw SwitchboardError.invalid("\(field) must not be empty", field: field) }
            try Self.limit(scalars, maximum, field)
            return trimmed
        case .optionalText(let maximum):
            try Self.limit(scalars, maximum, field)
            return value
        case .query(let maximum):
            try Self.limit(scalars, maximum ?? .max, field)
            return value
        case .phone:
            let trimmed = ScalarClass.whitespace.trim(value)
            let digits = trimmed.unicodeScalars.filter(ScalarClass.asciiDigit.contains).count
            guard (5...20).contains(digits), trimmed.unicodeScalars.allSatisfy(ScalarClass.phone.contains) else {
                throw SwitchboardError.invalid("\(field) must be a phone number such as +77011234567", field: field)
            }
            return trimmed
        case .email:
            let trimmed = ScalarClass.whitespace.trim(value)
            let parts = trimmed.unicodeScalars.split(separator: "@", omittingEmptySubsequences: false)
            guard scalars.count <= 254, parts.count == 2, !parts[0].isEmpty, parts[1].contains("."),
                  !trimmed.unicodeScalars.contains(where: { ScalarClass.whitespaceAndNewline.contains($0) || ScalarClass.control.contains($0) })
            else {
                throw SwitchboardError.invalid("\(field) must be an email address", field: field)
            }
            return trimmed
        case .region:
            let trimmed = ScalarClass.whitespace.trim(value)
            guard (1...64).contains(trimmed.unicodeScalars.count), trimmed.first != "-",
                  trimmed.unicodeScalars.allSatisfy(ScalarClass.regionCharacter.contains)
            else {
                throw SwitchboardError.invalid("\(field) must be a short code of letters, digits and dashes, e.g. us, eu, kz", field: field)
            }
            return trimmed.lowercased()
        case .homeRegion:
            let trimmed = ScalarClass.whitespace.trim(value)
            let groups = trimmed.unicodeScalars.split(separator: "-", omittingEmptySubsequences: false)
            guard scalars.count <= 64, let first = groups.first, first.count == 2, first.allSatisfy(ScalarClass.asciiLetter.contains),
                  groups.dropFirst().allSatisfy({ !$0.isEmpty && $0.allSatisfy(ScalarClass.asciiAlphanumeric.contains) })
            else {
                throw SwitchboardError.invalid("\(field) must be a region code of two letters and dash-separated groups, e.g. kz, eu-west-1", field: field)
            }
            return trimmed.lowercased()
        case .token(let maximum):
            let trimmed = ScalarClass.whitespaceAndNewline.trim(value)
            guard !trimmed.isEmpty, scalars.count <= maximum,
                  !trimmed.unicodeScalars.contains(where: ScalarClass.whitespaceAndNewline.contains)
            else {
                throw SwitchboardError.invalid("\(field) must be a single token without spaces", field: field)
            }
            return trimmed
        case .url(let maximum):
            try Self.limit(scalars, maximum, field)
            return ScalarClass.whitespace.trim(value)
        }
    }

    private static func limit(_ scalars: String.UnicodeScalarView, _ maximum: Int, _ field: String) throws {
        guard scalars.count <= maximum else {
            throw SwitchboardError.invalid("\(field) must be at most \(maximum) characters", field: field)
        }
        guard !scalars.contains("\u{0}") else {
            throw SwitchboardError.invalid("\(field) must not contain NUL characters", field: field)
        }
    }

    // MARK: The document's side

    /// The JSON Schema keywords of the rule (without `type`: a field may also be `null`).
    var schema: [String: JSONValue] {
        let space = ScalarClass.whitespaceAndNewline.regex
        let blank = ScalarClass.whitespace.regex
        let control = ScalarClass.control.regex
        switch self {
        case .name(let maximum):
            // Blank ends, then a core that starts and ends with neither whitespace nor a control
            // character and has no control character inside.
            return [
                "minLength": .integer(1), "maxLength": .integer(Int64(maximum)),
                "pattern": .string("^[\(space)]*[^\(space)\(control)](?:[^\(control)]*[^\(space)\(control)])?[\(space)]*$"),
            ]
        case .text(let maximum):
            // Blank start, then a first character that is neither blank nor NUL, then no NUL.
            return ["minLength": .integer(1), "maxLength": .integer(Int64(maximum)), "pattern": .string("^[\(space)]*[^\(space)\\u0000][^\\u0000]*$")]
        case .optionalText(let maximum):
            return ["maxLength": .integer(Int64(maximum)), "pattern": "^[^\\u0000]*$"]
        case .query(let maximum):
            var schema: [String: JSONValue] = ["pattern": "^[^\\u0000]*$"]
            if let maximum { schema["maxLength"] = .integer(Int64(maximum)) }
            return schema
        case .phone:
            let separators = ScalarClass.phoneSeparator.regex
            return ["pattern": .string("^[\(blank)]*[\(separators)]*(?:[0-9][\(separators)]*){5,20}[\(blank)]*$")]
        case .email:
            let part = "[^@\(space)\(control)]"
            return ["maxLength": .integer(254), "pattern": .string("^[\(blank)]*\(part)+@\(part)*\\.\(part)*[\(blank)]*$")]
        case .region:
            return ["pattern": .string("^[\(blank)]*[A-Za-z0-9][A-Za-z0-9\\-]{0,63}[\(blank)]*$")]
        case .homeRegion:
            return ["maxLength": .integer(64), "pattern": .string("^[\(blank)]*[A-Za-z]{2}(?:-[A-Za-z0-9]+)*[\(blank)]*$")]
        case .token(let maximum):
            return ["minLength": .integer(1), "maxLength": .integer(Int64(maximum)), "pattern": .string("^[\(space)]*[^\(space)]+[\(space)]*$")]
        case .url(let maximum):
            return ["maxLength": .integer(Int64(maximum)), "pattern": .string("^[\(blank)]*\(Self.urlPattern)[\(blank)]*$")]
        }
    }

    /// An absolute http(s) URL as RFC 3986 writes one, without percent-escapes, user
    /// information or IPv6 literals: a shape Foundation's `URL` reads with a host, and that
    /// the egress gate takes.
    static let urlPattern: String = {
        let unreserved = "A-Za-z0-9\\-._~!$&'()*+,;="
        let port = "(?::(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?"
        let path = "(?:/[\(unreserved):@/]*)?"
        let query = "(?:\\?[\(unreserved):@/?]*)?"
        let fragment = "(?:#[\(unreserved):@/?]*)?"
        return "[Hh][Tt][Tt][Pp][Ss]?://[\(unreserved)]+\(port)\(path)\(query)\(fragment)"
    }()
}

/// A set of Unicode scalars, written once as ranges: tested by the validators, and spelled
/// as a character class for the document's patterns.
struct ScalarClass: Sendable, Equatable {
    var ranges: [ClosedRange<UInt32>]

    func contains(_ scalar: Unicode.Scalar) -> Bool { ranges.contains { $0.contains(scalar.value) } }

    /// `value` without the scalars of this class at either end (scalar by scalar, as the
    /// document's patterns read it, even where a combining mark follows a space).
    func trim(_ value: String) -> String {
        let scalars = value.unicodeScalars
        guard let first = scalars.firstIndex(where: { !contains($0) }), let last = scalars.lastIndex(where: { !contains($0) }) else { return "" }
        return String(scalars[first...last])
    }

    /// The body of a regex character class (`\uXXXX` or `\uXXXX-\uXXXX` per range).
    var regex: String {
        ranges.map { range in
            range.lowerBound == range.upperBound ? Self.escape(range.lowerBound) : "\(Self.escape(range.lowerBound))-\(Self.escape(range.upperBound))"
        }.joined()
    }

    static func escape(_ value: UInt32) -> String {
        let hex = String(value, radix: 16, uppercase: true)
        return "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }

    /// Foundation's `CharacterSet.whitespacesAndNewlines`, which the validators trimmed with
    /// before these classes: Unicode's White_Space and, as Foundation has it, U+200B.
    static let whitespaceAndNewline = ScalarClass(ranges: [
        0x09...0x0D, 0x20...0x20, 0x85...0x85, 0xA0...0xA0, 0x1680...0x1680, 0x2000...0x200B, 0x2028...0x2029,
        0x202F...0x202F, 0x205F...0x205F, 0x3000...0x3000,
    ])
    /// Foundation's `CharacterSet.whitespaces`: spaces (Zs), the tab and U+200B.
    static let whitespace = ScalarClass(ranges: [
        0x09...0x09, 0x20...0x20, 0xA0...0xA0, 0x1680...0x1680, 0x2000...0x200B, 0x202F...0x202F, 0x205F...0x205F, 0x3000...0x3000,
    ])
    /// General category Cc.
    static let control = ScalarClass(ranges: [0x00...0x1F, 0x7F...0x9F])
    static let asciiDigit = ScalarClass(ranges: [0x30...0x39])
    static let asciiLetter = ScalarClass(ranges: [0x41...0x5A, 0x61...0x7A])
    static let asciiAlphanumeric = ScalarClass(ranges: asciiDigit.ranges + asciiLetter.ranges)
    static let phoneSeparator = ScalarClass(ranges: [0x20...0x20, 0x28...0x29, 0x2B...0x2B, 0x2D...0x2D])
    static let phone = ScalarClass(ranges: asciiDigit.ranges + phoneSeparator.ranges)
    static let regionCharacter = ScalarClass(ranges: [0x2D...0x2D, 0x30...0x39, 0x41...0x5A, 0x61...0x7A])
}
