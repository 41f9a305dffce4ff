import ConnectorKit
import ConnectorKitTesting
import Foundation
import HTTPTypes
import Testing
import WhatsAppConnector

@Suite("WhatsApp: hostile numbers and times are refused or bounded, never trapped")
struct WhatsAppHostileNumbersTests {
    @Test("a message's or a status's timestamp of any text is refused as malformed or read as a time between 1970 and 9999", arguments: HostileText.corpus)
    func timestamps(_ text: String) throws {
        let escaped = text.unicodeScalars.map { $0.isASCII && $0.value >= 0x20 && $0 != "\"" && $0 != "\\" ? String($0) : String(format: "\\u%04x", $0.value) }
            .joined()
        for (name, original) in [("text", "1763900400"), ("status_delivered", "1763900460")] {
            let fixture = String(decoding: try WhatsApp.fixture(name), as: UTF8.self)
            let body = Array(fixture.replacingOccurrences(of: #""timestamp": "\#(original)""#, with: #""timestamp": "\#(escaped)""#).utf8)
            if let error = WhatsApp.parseError(body) {
                #expect(error.code == .malformed)
                continue
            }
            let events = try WhatsApp.connector.parse(WhatsApp.delivery(body, signature: nil), credentials: WhatsApp.credentials)
            for event in events {
                if let sentAt = event.sentAt {
                    #expect(sentAt.timeIntervalSince1970 >= 0 && sentAt.timeIntervalSince1970 <= 253_402_300_800)
                }
            }
        }
    }

    @Test("a 429's Retry-After of any text is no hint or 0 to 3600 seconds", arguments: HostileText.corpus)
    func sendRetryAfter(_ text: String) async {
        let http = RecordingHTTPClient(defaultReply: .json(429, #"{"error":{"message":"slow down","code":130429}}"#, headers: [.retryAfter: text]))
        do {
            _ = try await WhatsApp.connector.send(
                OutboundMessage(chatExternalID: "77011234567", text: "hi", idempotencyKey: "k"), credentials: WhatsApp.credentials, http: http
            )
            Issue.record("a 429 was taken for a success")
        } catch {
            #expect(error.retryable)
            if let seconds = error.retryAfter { #expect((0...RetryHint.ceiling).contains(seconds)) }
        }
    }
}
