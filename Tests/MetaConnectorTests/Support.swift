import ConnectorKit
import ConnectorKitTesting
import Foundation
import HTTPTypes
import MetaConnector
import Testing

extension HTTPField.Name {
    static let hubSignature = HTTPField.Name("X-Hub-Signature-256")!
}

/// One of the two kinds under test, with a channel's credentials and the ids its fixtures
/// (`<prefix>_<name>.json`) use. The suites run every check for both.
struct Meta: Sendable, CustomTestStringConvertible {
    var kind: String
    var prefix: String
    var connector: any Connector
    var credentials: ChannelCredentials
    /// The account the channel is (`ig_user_id`, `page_id`): deliveries' entry id, sends' path.
    var accountID: String
    /// The contact of the fixtures (IGSID, PSID).
    var contactID: String
    var mid: @Sendable (String) -> String
    var textLimit: Int
    var testDescription: String { kind }

    static let appSecret = "app-secret-7f3a9c0b1d2e3f405162738495a6b"
    static let verifyToken = "verify-me-42-long-enough"
    static let timestamp = 1_763_900_400_123

    static let instagram = Meta(
        kind: "instagram", prefix: "ig",
        connector: InstagramConnector(apiBase: URL(string: "http://127.0.0.1:9")!),
        credentials: ChannelCredentials([
            "ig_user_id": "17841405822304914", "page_id": "104581938201456", "access_token": "IGAAFakeToken1234567890",
            "app_secret": appSecret, "verify_token": verifyToken,
        ]),
        accountID: "17841405822304914", contactID: "1254459154682919",
        mid: { "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDA1ODIyMzA0OTE0OjM0MDI4MjM2Njg0MTcxMDMw" + $0 }, textLimit: 1000)

    static let messenger = Meta(
        kind: "messenger", prefix: "fb",
        connector: MessengerConnector(apiBase: URL(string: "http://127.0.0.1:9")!),
        credentials: ChannelCredentials([
            "page_id": "104581938201456", "access_token": "EAAGm0PX4ZCpsBAFakePageToken1", "app_secret": appSecret,
            "verify_token": verifyToken,
        ]),
        accountID: "104581938201456", contactID: "6789012345678901",
        mid: { "m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM_2fGh7vXnRyZ0bTtqLpWcaQb1" + $0 }, textLimit: 2000)

    static let both = [instagram, messenger]

    var accessToken: String { credentials["access_token"] ?? "" }
    var contact: InboundEvent.Sender { InboundEvent.Sender(externalID: contactID) }
    var chat: InboundEvent.Chat { InboundEvent.Chat(externalID: contactID, kind: .direct) }

    static func date(milliseconds: Int) -> Date { Date(timeIntervalSince1970: Double(milliseconds) / 1000) }

    func fixture(_ name: String) throws -> [UInt8] {
        let url = try #require(Bundle.module.url(forResource: "\(prefix)_\(name)", withExtension: "json", subdirectory: "Fixtures"))
        return Array(try Data(contentsOf: url))
    }

    static func signature(_ body: [UInt8], secret: String = appSecret) -> String {
        "sha256=" + Signature.hmacSHA256Hex(message: body, key: Array(secret.utf8))
    }

    static func delivery(_ body: [UInt8], signature: String?) -> WebhookDelivery {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let signature { headers[.hubSignature] = signature }
        return WebhookDelivery(headers: headers, body: body, receivedAt: Date(timeIntervalSince1970: 1_763_900_700))
    }

    /// The fixture's events, after it verified.
    func events(_ name: String) throws -> [InboundEvent] {
        try events(body: try fixture(name))
    }

    func events(body: [UInt8]) throws -> [InboundEvent] {
        let delivery = Self.delivery(body, signature: Self.signature(body))
        try connector.verify(delivery, credentials: credentials)
        return try connector.parse(delivery, credentials: credentials)
    }

    func event(_ name: String) throws -> InboundEvent {
        let events = try events(name)
        try #require(events.count == 1)
        return events[0]
    }

    func parseError(_ body: [UInt8]) -> ConnectorError? {
        do {
            _ = try connector.parse(Self.delivery(body, signature: nil), credentials: credentials)
            return nil
        } catch {
            return error
        }
    }
}
