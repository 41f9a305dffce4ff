import ConnectorKit
import ConnectorKitTesting
import Foundation
import HTTPTypes
import MetaConnector
import Testing

@Suite("Instagram and Messenger: hostile numbers and sizes are refused or bounded, never trapped")
struct MetaHostileTests {
    static let inputs = Meta.both.flatMap { meta in HostileText.corpus.map { (meta, $0) } }

    static func escaped(_ text: String) -> String {
        text.unicodeScalars.map { $0.isASCII && $0.value >= 0x20 && $0 != "\"" && $0 != "\\" ? String($0) : String(format: "\\u%04x", $0.value) }
            .joined()
    }

    @Test("a timestamp, watermark or num_edit of any text, quoted or bare, is malformed or a time in 1970...9999", arguments: inputs)
    func numbers(_ meta: Meta, text: String) throws {
        var bodies: [String] = []
        for name in ["text", "read_watermark", "edit", "delivery_watermark"] {
            let fixture = String(decoding: try meta.fixture(name), as: UTF8.self)
            for replacement in [#""\#(Self.escaped(text))""#, text.isEmpty ? "null" : Self.escaped(text)] {
                bodies.append(fixture.replacingOccurrences(of: "\(Meta.timestamp)", with: replacement))
                bodies.append(fixture.replacingOccurrences(of: "\(Meta.timestamp - 1000)", with: replacement))
                bodies.append(fixture.replacingOccurrences(of: "\(Meta.timestamp - 2000)", with: replacement))
                bodies.append(fixture.replacingOccurrences(of: #""num_edit": 1"#, with: #""num_edit": \#(replacement)"#))
            }
        }
        for body in bodies {
            let bytes = Array(body.utf8)
            if let error = meta.parseError(bytes) {
                #expect(error.code == .malformed)
                continue
            }
            for event in try meta.connector.parse(Meta.delivery(bytes, signature: nil), credentials: meta.credentials) {
                if let sentAt = event.sentAt {
                    #expect(sentAt.timeIntervalSince1970 >= 0 && sentAt.timeIntervalSince1970 <= 253_402_300_800)
                }
            }
        }
    }

    @Test("extreme timestamps are kept out of the event, not trapped on", arguments: Meta.both)
    func extremeTimestamps(_ meta: Meta) throws {
        let fixture = String(decoding: try meta.fixture("text"), as: UTF8.self)
        for value in ["9223372036854775807", "253402300802000", "1e308", "18446744073709551616", "0", "\"9223372036854775807\""] {
            let body = Array(fixture.replacingOccurrences(of: "\(Meta.timestamp)", with: value).utf8)
            if let error = meta.parseError(body) {
                #expect(error.code == .malformed)
            } else {
                let event = try #require(try meta.events(body: body).first)
                if value == "0" { #expect(event.sentAt == Date(timeIntervalSince1970: 0)) } else { #expect(event.sentAt == nil) }
            }
        }
    }

    @Test("deep nesting is refused, not a stack overflow", arguments: Meta.both)
    func deepNesting(_ meta: Meta) {
        for depth in [600, 20_000] {
            let body = Array((String(repeating: "[", count: depth) + String(repeating: "]", count: depth)).utf8)
            #expect(meta.parseError(body)?.code == .malformed)
            let object = meta.kind == "instagram" ? "instagram" : "page"
            let nested = #"{"object": "\#(object)", "entry": [{"id": "\#(meta.accountID)", "messaging": [{"sender": {"id": "1"}, "timestamp": 1, "referral": "#
                + String(repeating: #"{"a":"#, count: depth) + "1" + String(repeating: "}", count: depth) + "}]}]}"
            let error = meta.parseError(Array(nested.utf8))
            #expect(error == nil || error?.code == .malformed)
        }
    }

    @Test("10,000 events in one delivery are read, each its own", arguments: Meta.both)
    func manyEvents(_ meta: Meta) throws {
        let object = meta.kind == "instagram" ? "instagram" : "page"
        let items = (0..<10_000).map { index in
            #"{"sender": {"id": "\#(meta.contactID)"}, "recipient": {"id": "\#(meta.accountID)"}, "timestamp": \#(Meta.timestamp + index), "message": {"mid": "m_\#(index)", "text": "n\#(index)"}}"#
        }
        let body = Array(#"{"object": "\#(object)", "entry": [{"id": "\#(meta.accountID)", "time": 1, "messaging": [\#(items.joined(separator: ","))]}]}"#.utf8)
        let events = try meta.events(body: body)
        #expect(events.count == 10_000)
        #expect(Set(events.map(\.eventID)).count == 10_000)
    }

    @Test("huge ids and texts are carried, not trapped on", arguments: Meta.both)
    func hugeValues(_ meta: Meta) throws {
        let fixture = String(decoding: try meta.fixture("text"), as: UTF8.self)
        let huge = String(repeating: "Ж", count: 200_000)
        let body = Array(fixture.replacingOccurrences(of: "Сәлем! Do you ship to Almaty? 🚚", with: huge).utf8)
        #expect(try meta.event("text").text != huge)
        #expect(try meta.events(body: body).first?.text == huge)
        let bigID = fixture.replacingOccurrences(of: "\"\(meta.contactID)\"", with: "184467440737095516161844674407370955161618446744073709551616")
        let error = meta.parseError(Array(bigID.utf8))
        #expect(error == nil || error?.code == .malformed)
    }

    @Test("a 429's Retry-After of any text is no hint or 0 to 3600 seconds", arguments: inputs)
    func retryAfter(_ meta: Meta, text: String) async {
        let http = RecordingHTTPClient(
            defaultReply: .json(429, #"{"error":{"message":"slow down","code":613}}"#, headers: [.retryAfter: text]))
        do {
            _ = try await meta.connector.send(
                OutboundMessage(chatExternalID: meta.contactID, text: "hi", idempotencyKey: "k"), credentials: meta.credentials,
                http: http)
            Issue.record("a 429 was taken for a success")
        } catch {
            #expect(error.code == .rateLimited)
            #expect(error.retryable)
            if let seconds = error.retryAfter { #expect((0...RetryHint.ceiling).contains(seconds)) }
        }
    }
}
