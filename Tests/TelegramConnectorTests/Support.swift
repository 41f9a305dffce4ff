import ConnectorKit
import ConnectorKitTesting
import Foundation
import HTTPTypes
import TelegramConnector
import Testing

/// Shared values and helpers of the Telegram suites.
enum Telegram {
    static let token = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1"
    static let secret = "tg-secret_Abc123"
    static let connector = TelegramConnector(apiBase: URL(string: "http://127.0.0.1:9/")!)
    static let credentials = ChannelCredentials(["bot_token": token, "secret_token": secret])
    static let receivedAt = Date(timeIntervalSince1970: 1_763_900_500)

    static func fixture(_ name: String, extension ext: String = "json") throws -> [UInt8] {
        let url = try #require(Bundle.module.url(forResource: name, withExtension: ext, subdirectory: "Fixtures"))
        return Array(try Data(contentsOf: url))
    }

    static func delivery(_ body: [UInt8], secretHeader: String? = secret) -> WebhookDelivery {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let secretHeader { headers[.telegramSecretToken] = secretHeader }
        return WebhookDelivery(headers: headers, body: body, receivedAt: receivedAt)
    }

    /// The one event a fixture parses into.
    static func event(_ name: String) throws -> InboundEvent {
        let events = try connector.parse(delivery(try fixture(name)), credentials: credentials)
        try #require(events.count == 1)
        return events[0]
    }

    /// The error parsing `body` throws, or `nil` when it parses.
    static func parseError(_ body: [UInt8]) -> ConnectorError? {
        do {
            _ = try connector.parse(delivery(body), credentials: credentials)
            return nil
        } catch {
            return error
        }
    }

    /// Telegram's answer to a successful `sendMessage`.
    static func sent(_ messageID: Int, chat: Int64 = 520_011_223) -> RecordingHTTPClient.Reply {
        .json(200, #"{"ok":true,"result":{"message_id":\#(messageID),"date":1763900600,"chat":{"id":\#(chat),"type":"private"},"text":"…"}}"#)
    }

    static func date(_ seconds: Int) -> Date {
        Date(timeIntervalSince1970: TimeInterval(seconds))
    }
}
