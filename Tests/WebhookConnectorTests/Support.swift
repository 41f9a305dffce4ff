import ConnectorKit
import Foundation
import HTTPTypes
import Testing
import WebhookConnector

/// Shared values and helpers of the generic webhook suites.
enum Webhook {
    static let secret = "whsec-3d1f0e"
    static let timestamp: Int64 = 1_763_900_000
    static let callbackURL = "https://crm.example.kz/switchboard/replies?key=s3cr3t-query"
    static let sendClock = Date(timeIntervalSince1970: 1_763_900_100.75)
    static let connector = WebhookConnector(now: { Webhook.sendClock })
    static let credentials = ChannelCredentials(["signing_secret": secret, "callback_url": callbackURL])

    static func fixture(_ name: String) throws -> [UInt8] {
        let url = try #require(Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures"))
        return Array(try Data(contentsOf: url))
    }

    /// `t=…,v1=…` computed here with the shared HMAC helper, independently of the connector.
    static func header(_ body: [UInt8], t: Int64 = timestamp, secret: String = secret) -> String {
        "t=\(t),v1=" + Signature.hmacSHA256Hex(message: Array("\(t).".utf8) + body, key: Array(secret.utf8))
    }

    static func delivery(_ body: [UInt8], header: String?, receivedAt: Date = date(timestamp + 10)) -> WebhookDelivery {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let header { headers[.switchboardSignature] = header }
        return WebhookDelivery(headers: headers, body: body, receivedAt: receivedAt)
    }

    static func event(_ name: String) throws -> InboundEvent {
        let body = try fixture(name)
        let delivery = delivery(body, header: header(body))
        try connector.verify(delivery, credentials: credentials)
        let events = try connector.parse(delivery, credentials: credentials)
        try #require(events.count == 1)
        return events[0]
    }

    static func parseError(_ body: [UInt8]) -> ConnectorError? {
        do {
            _ = try connector.parse(delivery(body, header: nil), credentials: credentials)
            return nil
        } catch {
            return error
        }
    }

    static func verifyError(_ delivery: WebhookDelivery) -> ConnectorError? {
        do {
            try connector.verify(delivery, credentials: credentials)
            return nil
        } catch {
            return error
        }
    }

    static func date(_ seconds: Int64) -> Date {
        Date(timeIntervalSince1970: TimeInterval(seconds))
    }
}
