import ConnectorKit
public import HTTPTypes

extension HTTPField.Name {
    /// `X-Hub-Signature-256`: Meta's `sha256=<hex HMAC-SHA256(app_secret, body)>`.
    public static let hubSignature256 = MetaWebhookCheck.signatureHeader
}
