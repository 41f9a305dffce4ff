public import ConnectorKit
public import Foundation

/// Instagram direct messages through the Messenger Platform (kind `instagram`).
///
/// Credentials: `ig_user_id` (the professional account's id), `access_token`, `app_secret`
/// (signs every delivery: `X-Hub-Signature-256`), `verify_token` (echoed by Meta's
/// verification GET) and, for accounts connected through a Facebook Page, `page_id` (its
/// entries are the account's too). Deliveries are `{"object": "instagram"}` batches. Dedupe
/// keys: the `mid` of a message, `edit:<mid>:<num_edit>`, `delete:<mid>`,
/// `reaction:<mid>:<sender>:<timestamp>`, `<mid>:read`, `<mid>:delivered`, and
/// `<kind>:<sender>:<timestamp>` for events without a mid. Texts above 1000 UTF-16 units
/// are split.
public struct InstagramConnector: Connector {
    /// The API base messages and profile lookups go to by default.
    public static let defaultInstagramAPIBase = URL(string: "https://graph.instagram.com")!

    /// The longest text one message takes, in UTF-16 units; longer texts are split.
    public static let maximumTextLength = MetaPlatform.instagram.maximumTextLength

    /// `instagram`.
    public let kind = "instagram"

    let core: MetaMessaging

    /// The API base URL; messages are sent to `POST {apiBase}/{apiVersion}/{id}/messages`.
    public var apiBase: URL { core.apiBase }
    /// The Graph API version in the path (`v21.0`).
    public var apiVersion: String { core.apiVersion }

    /// A connector talking to `apiBase` (tests give a loopback address) with `apiVersion`.
    public init(apiBase: URL = InstagramConnector.defaultInstagramAPIBase, apiVersion: String = "v21.0") {
        core = MetaMessaging(platform: .instagram, apiBase: apiBase, apiVersion: apiVersion)
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

extension InstagramConnector: DescribedConnector {
    public static let description = ConnectorDescription(
        kind: "instagram",
        apiBase: .init(setting: "INSTAGRAM_API_BASE", defaultURL: defaultInstagramAPIBase, help: "Instagram API (Instagram Login accounts)"),
        subProcessor: .init(name: "Meta Platforms Ireland Ltd. (Instagram)", region: "ie"),
        arrival: .pushed
    )

    public static func make(apiBase: URL?, now: @escaping @Sendable () -> Date) -> InstagramConnector {
        InstagramConnector(apiBase: apiBase ?? defaultInstagramAPIBase)
    }
}
