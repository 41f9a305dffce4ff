import Foundation
@testable import SwitchboardApp
import SwitchboardCore
import Testing

/// The OpenAPI document says what the validators enforce: its constraints are written from
/// the validators' declarations (`FieldRule`, `OpenAPIConstraints`), and these tests hold
/// the declarations' two sides — the Swift check and the JSON Schema — to each other.
@Suite("OpenAPI document: exactly what the validators enforce")
struct OpenAPIExactTests {
    static func served() throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: try OpenAPIDocument.data()) as? [String: Any])
    }

    /// The node at a pointer of `OpenAPIConstraints` (`@name` picks a parameter by name).
    static func node(_ document: Any, _ pointer: String) -> Any? {
        var node: Any? = document
        for segment in pointer.split(separator: "/").map({ $0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~") }) {
            if segment.hasPrefix("@"), let array = node as? [Any] {
                node = array.first { ($0 as? [String: Any])?["name"] as? String == String(segment.dropFirst()) }
            } else {
                node = (node as? [String: Any])?[segment]
            }
        }
        return node
    }

    /// A JSON value as sorted JSON text, to compare values read back with values declared.
    static func canonical(_ value: Any?) throws -> String {
        let data = try JSONSerialization.data(withJSONObject: [value ?? NSNull()], options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    @Test("every declared constraint is in the served document, as declared")
    func constraintsServed() throws {
        let document = try Self.served()
        #expect(OpenAPIConstraints.all.count > 50)
        for constraint in OpenAPIConstraints.all {
            let node = try #require(Self.node(document, constraint.pointer) as? [String: Any], "\(constraint.pointer)")
            for (keyword, value) in constraint.schema {
                #expect(try Self.canonical(node[keyword]) == Self.canonical(value.any), "\(constraint.pointer): \(keyword)")
            }
        }
    }

    @Test("the time zones are the ones the analytics and the dashboard take")
    func timeZones() throws {
        let zone = try #require(Self.node(try Self.served(), "/components/schemas/TimeZone") as? [String: Any])
        let names = try #require(zone["enum"] as? [String])
        #expect(names.count > 100)
        #expect(names.contains("UTC") && names.contains("Asia/Almaty"))
        for name in names { #expect(AnalyticsRoutes.Parameters.timeZone(name) != nil, "\(name)") }
        #expect(!names.contains("Mars/Olympus_Mons"))
    }

    @Test("the character classes of the patterns are Foundation's sets")
    func scalarClasses() {
        var mismatches: [String] = []
        for value in UInt32(0)...0x10FFFF {
            guard let scalar = Unicode.Scalar(value) else { continue }
            if ScalarClass.whitespaceAndNewline.contains(scalar) != CharacterSet.whitespacesAndNewlines.contains(scalar) {
                mismatches.append("whitespaceAndNewline U+\(String(value, radix: 16))")
            }
            if ScalarClass.whitespace.contains(scalar) != CharacterSet.whitespaces.contains(scalar) {
                mismatches.append("whitespace U+\(String(value, radix: 16))")
            }
            if ScalarClass.control.contains(scalar) != (scalar.properties.generalCategory == .control) {
                mismatches.append("control U+\(String(value, radix: 16))")
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(20))")
    }

    /// What the rule's JSON Schema says of `value`: its pattern (ICU, whole string), its
    /// lengths in code points.
    static func schemaAccepts(_ rule: FieldRule, _ value: String) throws -> Bool {
        let schema = rule.schema
        let count = value.unicodeScalars.count
        if case .integer(let minimum)? = schema["minLength"], count < minimum { return false }
        if case .integer(let maximum)? = schema["maxLength"], count > maximum { return false }
        guard case .string(let pattern)? = schema["pattern"] else { return true }
        let regex = try NSRegularExpression(pattern: pattern)
        let whole = NSRange(value.startIndex..., in: value)
        return regex.firstMatch(in: value, range: whole).map { $0.range == whole } ?? false
    }

    static func checkAccepts(_ rule: FieldRule, _ value: String) -> Bool {
        (try? rule.check(value, field: "f")) != nil
    }

    static let rules: [FieldRule] = [
        .shortName, .tenantName, .dealStage, .language, .tag, .handoffKeyword, .agentReply, .topUpReason, .noteBody,
        .personMessage, .systemPrompt, .contactSearch, .auditFilter, .phone, .email, .region, .homeRegion, .providerAPIKey,
        .name(maximum: 3), .text(maximum: 3), .token(maximum: 3), .query(maximum: 3),
    ]

    @Test("each rule's check and its schema accept the same values", arguments: rules)
    func checkAgreesWithSchema(_ rule: FieldRule) throws {
        var samples = [
            "", " ", "a", " a ", "\ta\n", "a b", "a\u{0}b", "\u{0}", "\u{85}a", "a\u{85}", "\u{1}a", "a\u{7F}", "\u{A0}a\u{A0}",
            "\u{2028}a", "\u{FEFF}a", "e\u{301}", "Acme", "Ответ ИИ", "+7 (701) 123-45-67", "77011234567", "١٢٣٤٥٦", "12345",
            "1234", String(repeating: "1", count: 21), "+7\u{A0}701 123 45 67", "a@b.c", " a@b.c ", "a@b", "@b.c", "a@.", "a@b@c.d",
            "a b@c.d", "a\u{1}@b.c", "\na@b.c", "us", "US", "-us", "us-", "eu-west-1", "0", "k\u{212A}", "kz-", "kz--a", "k",
            "sk-abc", " sk-abc\n", "sk abc",
        ]
        for maximum in [3, 35, 50, 64, 100, 200, 254, 500, 4000, 4096] {
            samples += [
                String(repeating: "a", count: maximum), String(repeating: "a", count: maximum + 1),
                " " + String(repeating: "a", count: maximum), String(repeating: "e\u{301}", count: maximum / 2 + 1),
                "kz-" + String(repeating: "a", count: maximum - 3),
            ]
        }
        // And strings drawn from the characters the rules care about, seeded.
        let alphabet: [String] = ["a", "Z", "5", " ", "\t", "\n", "\u{0}", "\u{1}", "\u{85}", "\u{A0}", "\u{2003}", "\u{301}", "é", "-", "@", ".", "+", "(", "K"]
        var random = SplitMix64(seed: 20261207)
        for _ in 0..<3000 {
            let length = Int(random.next() % 7)
            samples.append((0..<length).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] }.joined())
        }
        for value in samples {
            let schema = try Self.schemaAccepts(rule, value)
            #expect(Self.checkAccepts(rule, value) == schema, "\(rule): \(value.debugDescription) schema says \(schema)")
        }
    }

    @Test("a URL the pattern allows is one the egress shape checks take")
    func urlPattern() throws {
        let regex = try NSRegularExpression(pattern: "^" + FieldRule.urlPattern + "$")
        func matches(_ text: String) -> Bool {
            let whole = NSRange(text.startIndex..., in: text)
            return regex.firstMatch(in: text, range: whole).map { $0.range == whole } ?? false
        }
        let allowed = [
            "https://api.openai.com/v1", "http://0", "HTTP://a.b:8080/x?y=1#z", "https://a-b.c_d~e/!$&'()*+,;=:@/", "http://x:65535",
            "https://example.com?q", "https://example.com#f",
        ]
        for url in allowed {
            #expect(matches(url), "\(url)")
            #expect(throws: Never.self, "\(url)") { try EgressPolicy(allowPrivate: true).check(url, field: "base_url") }
        }
        for url in ["ftp://a.b", "https://", "https:///x", "https://a b", "https://a:0", "https://a:65536", "https://u@a.b", "a.b"] {
            #expect(!matches(url), "\(url)")
        }
    }

    /// Every string a request may send has a rule in the document: a pattern, an
    /// enumeration, a format or a constant, unless it is listed here as free text.
    static let freeStrings: Set<String> = [
        "WhatsAppCredentials.verify_token",  // any characters, 16 or more
        "GenericWebhookEvent",  // the hook's body is the platform's, checked by its connector
    ]

    @Test("every string field of a request body has a rule in the document")
    func requestStringsConstrained() throws {
        let document = try Self.served()
        let schemas = try #require(Self.node(document, "/components/schemas") as? [String: Any])
        var unconstrained: [String] = []
        var visited: Set<String> = []
        // `refining`: under allOf, if, then or else, where `{"type": "string"}` alone narrows a
        // property whose rule stands in `properties`.
        func visit(_ schema: Any?, _ path: String, refining: Bool = false) {
            guard let schema = schema as? [String: Any], !Self.freeStrings.contains(where: { path.hasPrefix($0) }) else { return }
            if let reference = schema["$ref"] as? String {
                let name = String(reference.split(separator: "/").last ?? "")
                if visited.insert(name).inserted { visit(schemas[name], name) }
                return
            }
            let types = (schema["type"] as? [String]) ?? (schema["type"] as? String).map { [$0] } ?? []
            if types.contains("string"), !["pattern", "enum", "const", "format"].contains(where: { schema[$0] != nil }),
               !(refining && Set(schema.keys) == ["type"]) {
                unconstrained.append(path)
            }
            for (name, property) in (schema["properties"] as? [String: Any]) ?? [:] { visit(property, "\(path).\(name)", refining: refining) }
            visit(schema["items"], "\(path)[]", refining: refining)
            for keyword in ["allOf", "anyOf", "oneOf"] {
                for (index, part) in ((schema[keyword] as? [Any]) ?? []).enumerated() {
                    visit(part, "\(path).\(keyword)[\(index)]", refining: refining || keyword == "allOf")
                }
            }
            for keyword in ["if", "then", "else"] { visit(schema[keyword], "\(path).\(keyword)", refining: true) }
        }
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        for (path, operations) in paths {
            for (method, operation) in operations {
                guard let content = ((operation as? [String: Any])?["requestBody"] as? [String: Any])?["content"] as? [String: Any] else { continue }
                for (type, media) in content { visit((media as? [String: Any])?["schema"], "\(method) \(path) \(type)") }
            }
        }
        #expect(unconstrained.isEmpty, "\(unconstrained.sorted())")
    }
}

/// A small seeded generator (SplitMix64), for samples that are the same on every run.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
