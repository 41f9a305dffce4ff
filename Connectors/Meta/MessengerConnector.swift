public import ConnectorKit
public import Foundation

/// Facebook Messenger through a Page (kind `messenger`).
///
/// Credentials: `page_id`, `access_token` (a Page access token), `app_secret` (signs every
/// delivery: `X-Hub-Signature-256`) and `verify_token` (echoed by Meta's verification GET).
/// Deliveries are `{"object": "page"}` batches, read as `InstagramConnector` reads its own
/// (the same Messenger Platform events, dedupe keys and Send API). Texts above 2000 UTF-16
/// units are split.
public struct MessengerConnector: Connector {
    /// The API base messages and profile lookups go to by default.
    public static let defaultGraphAPIBase = URL(string: "https://graph.facebook.com")!

    /// The longest text one message takes, in UTF-16 units; longer texts are split.
    public static let maximumTextLength = MetaPlatform.messenger.maximumTextLength

    /// `messenger`.
    public let kind = "messenger"

    let core: MetaMessaging

    /// The API base URL; messages are sent to `POST {apiBase}/{apiVersion}/{id}/messages`.
    public var apiBase: URL { core.apiBase }
    /// The Graph API version in the path (`v21.0`).
    public var apiVersion: String { core.apiVersion }

    /// A connector talking to `apiBase` (tests give a loopback address) with `apiVersion`.
    public init(apiBase: URL = MessengerConnector.defaultGraphAPIBase, apiVersion: String = "v21.0") {
        core = MetaMessaging(platform: .messenger, apiBase: apiBase, apiVersion: apiVersion)
    }

    public func prepareCredentials(_ submitted: [String: String]) throws(ConnectorError) -> PreparedCredentials {
        try core.prepareCredentials(submitted)
    }

    public func answerVerification(query: [String: String], credentials: ChannelCredentials) throws(ConnectorError) -> String? {
        try core.answerVerification(query: query, credentials: credentials)
    }

    public func verify(_ delivery: WebhookDelivery, credentials: ChannelCredentials) throws(ConnectorError) {
        try core.verify(delivery, credentials: credentials)
    }

    public func parse(_ delivery: WebhookDelivery, credentials: ChannelCredentials) throws(ConnectorError) -> [InboundEvent] {
        try core.parse(delivery, credentials: credentials)
    }

    public func send(
        _ message: OutboundMessage, credentials: ChannelCredentials, http: any OutboundHTTPClient
    ) async throws(ConnectorError) -> SendReceipt {
        try await core.send(message, credentials: credentials, http: http)
    }

    public func profile(
        of senderID: String, credentials: ChannelCredentials, http: any OutboundHTTPClient
    ) async throws(ConnectorError) -> InboundEvent.Sender? {
        try await core.profile(of: senderID, credentials: credentials, http: http)
    }

    /// 24 hours free-form, then a person's answer tagged `HUMAN_AGENT` for 7 days.
    public var messagingWindow: MessagingWindow? { .metaMessaging }

    /// Senders arrive as bare ids (IGSID, PSID); their names are looked up once.
    public var looksUpProfiles: Bool { true }
}

extension MessengerConnector: DescribedConnector {
    public static let description = ConnectorDescription(
        kind: "messenger",
        apiBase: .init(setting: "GRAPH_API_BASE", defaultURL: defaultGraphAPIBase, help: "Meta Graph API base"),
        subProcessor: .init(name: "Meta Platforms Ireland Ltd. (Messenger)", region: "ie"),
        arrival: .pushed
    )

    public static func make(apiBase: URL?, now: @escaping @Sendable () -> Date) -> MessengerConnector {
        MessengerConnector(apiBase: apiBase ?? defaultGraphAPIBase)
    }
}
