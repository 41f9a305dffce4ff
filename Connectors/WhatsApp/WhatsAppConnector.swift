public import ConnectorKit
public import Foundation
import HTTPTypes

/// The Meta WhatsApp Cloud API channel (kind `whatsapp`).
///
/// Credentials: `phone_number_id` (the business number's id), `access_token` (a system
/// user token), `app_secret` (signs every delivery: `X-Hub-Signature-256`),
/// `verify_token` (chosen by the tenant, echoed by Meta's verification GET) and, optional,
/// `waba_id` (the WhatsApp Business Account: its templates are listed through it). A delivery is a
/// batch: every entry and change in it is read. Dedupe keys are the wamid of a message and
/// `wamid:status` of a status.
public struct WhatsAppConnector: Connector {
    /// Meta's Graph API.
    public static let defaultGraphAPIBase = URL(string: "https://graph.facebook.com")!

    /// The longest text one message takes (Meta counts characters; UTF-16 units are counted
    /// here, which never exceeds it).
    public static let maximumTextLength = 4096

    static let businessAccountObject = "whatsapp_business_account"

    /// `whatsapp`.
    public let kind = "whatsapp"

    /// The Graph API base URL; messages are sent to
    /// `POST {graphAPIBase}/{apiVersion}/{phone_number_id}/messages`.
    public let graphAPIBase: URL
    /// The Graph API version in the path (`v21.0`).
    public let apiVersion: String

    /// WhatsApp's customer service window: 24 hours after the contact's last message,
    /// then templates only.
    public var messagingWindow: MessagingWindow? { .whatsApp }

    /// A connector talking to `graphAPIBase` (tests give a loopback address) with `apiVersion`.
    public init(graphAPIBase: URL = WhatsAppConnector.defaultGraphAPIBase, apiVersion: String = "v21.0") {
        self.graphAPIBase = graphAPIBase
        self.apiVersion = apiVersion
    }

    /// The shortest `verify_token` a tenant may choose: it alone answers Meta's subscription
    /// check, so it must not be guessable.
    public static let minimumVerifyTokenLength = 16
    /// The shortest `app_secret`: the HMAC key of every delivery. Meta's app secrets are 32
    /// hexadecimal characters; anything shorter is not one.
    public static let minimumAppSecretLength = 32

    /// The longest `waba_id` taken (Meta's ids are 15–17 digits).
    static let maximumWABAIDLength = 32

    /// Requires `phone_number_id` (digits), `access_token`, `app_secret` (32 characters or
    /// more) and `verify_token` (16 or more); takes an optional `waba_id` (digits, the
    /// WhatsApp Business Account, which keeps the templates; an empty one is dropped);
    /// refuses any other field. Nothing is generated.
    public func prepareCredentials(_ submitted: [String: String]) throws(ConnectorError) -> PreparedCredentials {
        let required = ["phone_number_id", "access_token", "app_secret", "verify_token"]
        let optional = ["waba_id"]
        if let unknown = submitted.keys.filter({ !required.contains($0) && !optional.contains($0) }).sorted().first {
            throw ConnectorError(
                .invalidCredentials,
                "unknown credential field \(unknown): a whatsapp channel takes phone_number_id, access_token, app_secret and verify_token, and optionally waba_id",
                field: unknown)
        }
        var submitted = submitted
        if submitted["waba_id"]?.isEmpty == true { submitted["waba_id"] = nil }
        if let wabaID = submitted["waba_id"],
            wabaID.utf8.count > Self.maximumWABAIDLength || !wabaID.utf8.allSatisfy({ (0x30...0x39).contains($0) })
        {
            throw ConnectorError(
                .invalidCredentials, "waba_id must be digits (at most \(Self.maximumWABAIDLength))", field: "waba_id")
        }
        for name in required where (submitted[name] ?? "").isEmpty {
            throw ConnectorError(.invalidCredentials, "\(name) is required", field: name)
        }
        let phoneNumberID = submitted["phone_number_id"] ?? ""
        guard phoneNumberID.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else {
            throw ConnectorError(.invalidCredentials, "phone_number_id must be digits", field: "phone_number_id")
        }
        for name in ["access_token", "app_secret"]
        where (submitted[name] ?? "").unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.value < 0x20 }) {
            throw ConnectorError(.invalidCredentials, "\(name) must not contain spaces or control characters", field: name)
        }
        for (name, minimum) in [("app_secret", Self.minimumAppSecretLength), ("verify_token", Self.minimumVerifyTokenLength)]
        where (submitted[name] ?? "").unicodeScalars.count < minimum {
            throw ConnectorError(.invalidCredentials, "\(name) must be at least \(minimum) characters", field: name)
        }
        return PreparedCredentials(stored: submitted)
    }

    /// Answers Meta's subscription check (`MetaWebhookCheck`): the `hub.challenge` to echo.
    public func answerVerification(query: [String: String], credentials: ChannelCredentials) throws(ConnectorError) -> String? {
        try MetaWebhookCheck.answer(query: query, credentials: credentials)
    }

    /// Checks `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app_secret, raw body)>` (`MetaWebhookCheck`).
    public func verify(_ delivery: WebhookDelivery, credentials: ChannelCredentials) throws(ConnectorError) {
        try MetaWebhookCheck.verify(delivery, credentials: credentials)
    }
}

extension WhatsAppConnector: DescribedConnector {
    public static let description = ConnectorDescription(
        kind: "whatsapp",
        apiBase: .init(setting: "GRAPH_API_BASE", defaultURL: defaultGraphAPIBase, help: "Meta Graph API base"),
        subProcessor: .init(name: "Meta Platforms Ireland Ltd. (WhatsApp Business Platform)", region: "ie"),
        arrival: .pushed
    )

    public static func make(apiBase: URL?, now: @escaping @Sendable () -> Date) -> WhatsAppConnector {
        WhatsAppConnector(graphAPIBase: apiBase ?? defaultGraphAPIBase)
    }
}
