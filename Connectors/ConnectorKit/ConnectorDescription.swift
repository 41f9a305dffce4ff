public import Foundation

/// What a connector says about itself, so that the server needs nothing else to offer it:
/// its channel kind, the platform API base the operator may point elsewhere (a setting
/// of its own), its entry in the privacy register's sub-processors, and how its traffic
/// arrives. Adding a messenger is its folder, its name in the manifest's connector list,
/// and its line in the server's `ConnectorRegistry`.
public struct ConnectorDescription: Sendable {
    /// The channel kind (`telegram`).
    public var kind: String
    /// The platform API base, when the connector calls one.
    public var apiBase: APIBase?
    /// Who operates the platform the channel's messages pass through, and where.
    public var subProcessor: SubProcessor
    public var arrival: Arrival

    public init(kind: String, apiBase: APIBase?, subProcessor: SubProcessor, arrival: Arrival) {
        self.kind = kind
        self.apiBase = apiBase
        self.subProcessor = subProcessor
        self.arrival = arrival
    }

    /// A platform API base setting: `SWITCHBOARD_<setting>`, `--<setting in kebab case>`.
    public struct APIBase: Sendable {
        /// The setting's name after `SWITCHBOARD_`: `TELEGRAM_API_BASE`.
        public var setting: String
        public var defaultURL: URL
        /// For `--help` and the README: what the base is.
        public var help: String

        public init(setting: String, defaultURL: URL, help: String) {
            self.setting = setting
            self.defaultURL = defaultURL
            self.help = help
        }
    }

    /// The privacy register's entry for a channel of this kind.
    public struct SubProcessor: Sendable {
        public var name: String
        /// ISO 3166 code of where the operator processes the data; `nil` when it is the
        /// tenant's own system.
        public var region: String?

        public init(name: String, region: String?) {
            self.name = name
            self.region = region
        }
    }

    /// How a channel's messages reach the server.
    public enum Arrival: Sendable {
        /// The platform calls `/hooks/{channel_id}` (Telegram's webhook, Meta's, signed webhooks).
        case pushed
        /// The server fetches them: a long-lived service per channel (a mailbox over IMAP,
        /// Telegram's `getUpdates` for a bot without a public URL) that feeds the same ingest.
        case pulled
    }
}

/// A connector the server makes from its description and the configuration.
public protocol DescribedConnector: Connector {
    static var description: ConnectorDescription { get }
    /// The connector for this configuration: `apiBase` is the operator's setting (or the
    /// description's default), `now` the server's clock.
    static func make(apiBase: URL?, now: @escaping @Sendable () -> Date) -> Self
    /// The connector for this server: connectors that open connections of their own (a
    /// mailbox's IMAP and SMTP) take the egress gate's address from it. By default
    /// `make(apiBase:now:)`.
    static func make(_ environment: ConnectorEnvironment) -> Self
}

extension DescribedConnector {
    public static func make(_ environment: ConnectorEnvironment) -> Self {
        make(apiBase: environment.apiBase, now: environment.now)
    }
}

/// What the server gives the connectors it makes.
public struct ConnectorEnvironment: Sendable {
    /// The operator's platform API base for this kind, or `nil` for the default.
    public var apiBase: URL?
    public var now: @Sendable () -> Date
    /// The egress gate, an HTTP `CONNECT` proxy on loopback: every connection a connector
    /// opens itself (IMAP, SMTP) tunnels through it, so the gate's address rules hold for
    /// them as for HTTP. `nil` only in a connector's own tests.
    public var egressProxy: EgressProxy?
    /// A PEM file of certificates to trust besides the system's, for servers the operator
    /// knows with a private CA (and the tests' throwaway one).
    public var extraTrustRootsFile: String?

    public struct EgressProxy: Sendable, Hashable {
        public var host: String
        public var port: Int
        /// The `Proxy-Authorization` header value the gate asks of its clients.
        public var authorization: String?
        public init(host: String, port: Int, authorization: String? = nil) {
            self.host = host
            self.port = port
            self.authorization = authorization
        }
    }

    public init(apiBase: URL? = nil, now: @escaping @Sendable () -> Date, egressProxy: EgressProxy? = nil, extraTrustRootsFile: String? = nil) {
        self.apiBase = apiBase
        self.now = now
        self.egressProxy = egressProxy
        self.extraTrustRootsFile = extraTrustRootsFile
    }
}
