public import Foundation

/// A message template the platform approved for starting or reopening a conversation
/// (WhatsApp's `message_templates`).
public struct MessageTemplate: Sendable, Hashable {
    public var name: String
    /// The template's language code (`en_US`, `ru`, `kk`).
    public var language: String
    /// `APPROVED`, `PENDING`, `REJECTED`, `PAUSED`, `DISABLED`.
    public var status: String
    /// `MARKETING`, `UTILITY`, `AUTHENTICATION`.
    public var category: String?
    /// The body component's text with its `{{1}}` placeholders, when it has one.
    public var body: String?
    /// How many `{{n}}` placeholders the body has.
    public var parameterCount: Int

    public init(name: String, language: String, status: String, category: String? = nil, body: String? = nil, parameterCount: Int = 0) {
        self.name = name
        self.language = language
        self.status = status
        self.category = category
        self.body = body
        self.parameterCount = parameterCount
    }
}

/// A template to send: its name, language and the body's parameters in order.
public struct TemplateMessage: Sendable, Hashable, Codable {
    public var name: String
    public var language: String
    public var parameters: [String]

    public init(name: String, language: String, parameters: [String] = []) {
        self.name = name
        self.language = language
        self.parameters = parameters
    }
}

/// A connector whose platform keeps approved templates (WhatsApp). Sending one is an
/// `OutboundMessage` with `template` set, through `send`.
public protocol TemplateConnector: Connector {
    /// The channel's templates, as the platform lists them (every status).
    func templates(credentials: ChannelCredentials, http: any OutboundHTTPClient) async throws(ConnectorError) -> [MessageTemplate]
}
