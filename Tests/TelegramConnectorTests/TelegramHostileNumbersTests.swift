import ConnectorKit
import ConnectorKitTesting
import Foundation
import HTTPTypes
import TelegramConnector
import Testing

@Suite("Telegram: hostile numbers and times are refused or bounded, never trapped")
struct TelegramHostileNumbersTests {
    static let dates = [
        "0", "-1", "1763900000", "253402300799", "253402300800", "9223372036854775807", "-9223372036854775808",
        "9223372036854775808", "1e19", "1.5", "-0", "99999999999999999999999999", "1E400",
    ]

    @Test("a message's date of any JSON number is refused as malformed or read as a time between 1970 and 9999", arguments: dates)
    func messageDate(_ date: String) throws {
        let fixture = String(decoding: try Telegram.fixture("text_private"), as: UTF8.self)
        let body = Array(fixture.replacingOccurrences(of: #""date": 1763900000"#, with: #""date": \#(date)"#).utf8)
        do {
            let events = try Telegram.connector.parse(Telegram.delivery(body), credentials: Telegram.credentials)
            for event in events {
                if let sentAt = event.sentAt {
                    #expect(sentAt.timeIntervalSince1970 >= 0 && sentAt.timeIntervalSince1970 <= 253_402_300_800)
                }
            }
        } catch {
            #expect(error.code == .malformed)
        }
    }

    @Test("a 429's retry_after of any JSON number, and any Retry-After header, is no hint or 0 to 3600 seconds", arguments: HostileText.corpus)
    func sendRetryAfter(_ text: String) async {
        for number in ["-5", "7", "9223372036854775807", "-9223372036854775808", "1e19"] {
            let http = RecordingHTTPClient(defaultReply: .json(
                429, #"{"ok":false,"error_code":429,"description":"Too Many Requests","parameters":{"retry_after":\#(number)}}"#,
                headers: [.retryAfter: text]
            ))
            do {
                _ = try await Telegram.connector.send(
                    OutboundMessage(chatExternalID: "520011223", text: "hi", idempotencyKey: "k"), credentials: Telegram.credentials, http: http
                )
                Issue.record("a 429 was taken for a success")
            } catch {
                if let seconds = error.retryAfter { #expect((0...RetryHint.ceiling).contains(seconds)) }
            }
        }
    }
}
