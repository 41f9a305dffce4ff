import ConnectorKit
import Foundation
import HTTPTypes
import MetaConnector
import TelegramConnector
import WebhookConnector
import WhatsAppConnector

/// One connector under fuzzing, with a channel's fixed credentials and what a correct
/// sender puts in the signature header.
enum FuzzTarget: String, CaseIterable {
    case telegram
    case whatsapp
    case webhook
    case instagram
    case messenger

    /// Every delivery arrives at this instant: the generic webhook's replay window is
    /// measured from it.
    static let receivedAt = Date(timeIntervalSince1970: 1_763_900_010)
    static let signedAt: Int64 = 1_763_900_000

    /// Nothing is sent while fuzzing; the base URLs only have to be valid.
    var connector: any Connector {
        switch self {
        case .telegram: TelegramConnector(apiBase: URL(string: "http://127.0.0.1:9")!)
        case .whatsapp: WhatsAppConnector(graphAPIBase: URL(string: "http://127.0.0.1:9")!)
        case .webhook: WebhookConnector(now: { Self.receivedAt })
        case .instagram: InstagramConnector(apiBase: URL(string: "http://127.0.0.1:9")!)
        case .messenger: MessengerConnector(apiBase: URL(string: "http://127.0.0.1:9")!)
        }
    }

    var credentials: ChannelCredentials {
        switch self {
        case .telegram:
            ChannelCredentials(["bot_token": "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1", "secret_token": "tg-secret_Abc123"])
        case .whatsapp:
            ChannelCredentials([
                "phone_number_id": "106540352242922", "access_token": "EAAGm0PX4ZCpsBAFakeToken123",
                "app_secret": "app-secret-7f3a9c", "verify_token": "verify-me-42",
            ])
        case .webhook:
            ChannelCredentials(["signing_secret": "whsec-3d1f0e", "callback_url": "https://crm.example.kz/replies"])
        case .instagram:
            ChannelCredentials([
                "ig_user_id": "17841405822304914", "page_id": "104581938201456", "access_token": "IGQVJFakeToken123",
                "app_secret": "app-secret-7f3a9c", "verify_token": "verify-me-42",
            ])
        case .messenger:
            ChannelCredentials([
                "page_id": "104581938201456", "access_token": "EAAGm0PX4ZCpsBAFakePageToken",
                "app_secret": "app-secret-7f3a9c", "verify_token": "verify-me-42",
            ])
        }
    }

    var signatureField: HTTPField.Name {
        switch self {
        case .telegram: .telegramSecretToken
        case .whatsapp, .instagram, .messenger: .hubSignature256
        case .webhook: .switchboardSignature
        }
    }

    /// The header value a correct sender puts on `body`, computed here with the shared
    /// HMAC helper rather than by the connector under test.
    func signature(of body: [UInt8]) -> [UInt8] {
        switch self {
        case .telegram:
            Array((credentials["secret_token"] ?? "").utf8)
        case .whatsapp, .instagram, .messenger:
            Array(("sha256=" + Signature.hmacSHA256Hex(message: body, key: Array((credentials["app_secret"] ?? "").utf8))).utf8)
        case .webhook:
            Array(
                ("t=\(Self.signedAt),v1="
                    + Signature.hmacSHA256Hex(
                        message: Array("\(Self.signedAt).".utf8) + body, key: Array((credentials["signing_secret"] ?? "").utf8)))
                    .utf8)
        }
    }

    func delivery(for input: FuzzInput) -> WebhookDelivery {
        var headers: HTTPFields = [.contentType: "application/json"]
        switch input.mode {
        case .signed:
            let suffix = self == .webhook && !input.headerLine.isEmpty ? Array(",".utf8) + input.headerLine : input.headerLine
            headers.append(HTTPField(name: signatureField, lenientValue: signature(of: input.body) + suffix))
        case .missing:
            break
        case .raw:
            headers.append(HTTPField(name: signatureField, lenientValue: input.headerLine))
        }
        return WebhookDelivery(headers: headers, body: input.body, receivedAt: Self.receivedAt)
    }
}
