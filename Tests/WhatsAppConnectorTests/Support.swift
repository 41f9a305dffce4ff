import ConnectorKit
import ConnectorKitTesting
import Foundation
import HTTPTypes
import Testing
import WhatsAppConnector

/// Shared values and helpers of the WhatsApp suites.
enum WhatsApp {
    static let phoneNumberID = "106540352242922"
    static let accessToken = "EAAGm0PX4ZCpsBAFakeToken123"
    static let appSecret = "app-secret-7f3a9c0b1d2e3f405162738495a6b"
    static let verifyToken = "verify-me-42-long-enough"
    static let connector = WhatsAppConnector(graphAPIBase: URL(string: "http://127.0.0.1:9")!)
    static let credentials = ChannelCredentials([
        "phone_number_id": phoneNumberID, "access_token": accessToken, "app_secret": appSecret, "verify_token": verifyToken,
    ])
    static let receivedAt = Date(timeIntervalSince1970: 1_763_900_700)

    static func fixture(_ name: String) throws -> [UInt8] {
        let url = try #require(Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures"))
        return Array(try Data(contentsOf: url))
    }

    /// `sha256=<hex>` computed with the connector-independent helper.
    static func signature(_ body: [UInt8], secret: String = appSecret) -> String {
        "sha256=" + Signature.hmacSHA256Hex(message: body, key: Array(secret.utf8))
    }

    static func delivery(_ body: [UInt8], signature: String?) -> WebhookDelivery {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let signature { headers[.hubSignature256] = signature }
        return WebhookDelivery(headers: headers, body: body, receivedAt: receivedAt)
    }

    static func events(_ name: String) throws -> [InboundEvent] {
        let body = try fixture(name)
        let delivery = delivery(body, signature: signature(body))
        try connector.verify(delivery, credentials: credentials)
        return try connector.parse(delivery, credentials: credentials)
    }

    static func event(_ name: String) throws -> InboundEvent {
        let events = try events(name)
        try #require(events.count == 1)
        return events[0]
    }

    static func parseError(_ body: [UInt8]) -> ConnectorError? {
        do {
            _ = try connector.parse(delivery(body, signature: nil), credentials: credentials)
            return nil
        } catch {
            return error
        }
    }

    static func date(_ seconds: Int) -> Date {
        Date(timeIntervalSince1970: TimeInterval(seconds))
    }

    static let aliya = InboundEvent.Sender(externalID: "77017654321", name: "Алия Серикова", phone: "77017654321")
    static let aliyaChat = InboundEvent.Chat(externalID: "77017654321", kind: .direct)
}
