public import HTTPTypes

extension HTTPField.Name {
    /// `X-Switchboard-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
    public static let switchboardSignature = HTTPField.Name("X-Switchboard-Signature")!
}
