public import HTTPTypes

/// The checks every Meta webhook shares (WhatsApp Cloud, Messenger, Instagram): the
/// subscription GET and the `X-Hub-Signature-256` of each delivery. Here once, since
/// connectors do not import each other.
public enum MetaWebhookCheck {
    public static let signatureHeader = HTTPField.Name("X-Hub-Signature-256")!

    /// Meta's subscription check: `hub.mode=subscribe` and a `hub.verify_token` equal (in
    /// constant time) to the channel's `verify_token` → the `hub.challenge` to echo, only
    /// when it is a plain token (letters, digits, `-_.`, at most 256): Meta sends digits,
    /// and nothing else gets reflected.
    public static func answer(query: [String: String], credentials: ChannelCredentials) throws(ConnectorError) -> String {
        guard query["hub.mode"] == "subscribe" else {
            throw ConnectorError(.unauthorized, "hub.mode must be subscribe")
        }
        guard let expected = credentials["verify_token"], !expected.isEmpty,
            let presented = query["hub.verify_token"], Signature.constantTimeEquals(presented, expected)
        else {
            throw ConnectorError(.unauthorized, "hub.verify_token is missing or does not match")
        }
        guard let challenge = query["hub.challenge"], (1...256).contains(challenge.utf8.count),
            challenge.utf8.allSatisfy(isChallengeCharacter)
        else {
            throw ConnectorError(.unauthorized, "hub.challenge is missing or not a plain token")
        }
        return challenge
    }

    /// `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app_secret, raw body)>`.
    public static func verify(_ delivery: WebhookDelivery, credentials: ChannelCredentials) throws(ConnectorError) {
        guard let secret = credentials["app_secret"], !secret.isEmpty else {
            throw ConnectorError(.unauthorized, "the channel has no app_secret")
        }
        guard let header = delivery.headers[signatureHeader] else {
            throw ConnectorError(.unauthorized, "the X-Hub-Signature-256 header is missing")
        }
        let prefix = "sha256="
        guard header.hasPrefix(prefix) else {
            throw ConnectorError(.unauthorized, "the X-Hub-Signature-256 header is not sha256=<hex>")
        }
        let hex = String(header.dropFirst(prefix.count))
        guard Signature.isValidHMACSHA256(hex: hex, message: delivery.body, key: Array(secret.utf8)) else {
            throw ConnectorError(.unauthorized, "the X-Hub-Signature-256 signature does not match")
        }
    }

    private static func isChallengeCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "."): true
        default: false
        }
    }
}
