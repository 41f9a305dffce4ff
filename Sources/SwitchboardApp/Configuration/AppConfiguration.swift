public import ConnectorKit
public import Foundation
public import Logging

/// The operator's configuration: every environment variable of the README's "Configuration", each also a
/// `serve` flag.
public struct AppConfiguration: Sendable {
    /// `DATABASE_URL`: the PostgreSQL server, logged in as the owner that runs migrations.
    /// `nil` starts the embedded cluster under `home`.
    public var databaseURL: String?
    /// `SWITCHBOARD_HOME`: the data folder (embedded cluster, generated keys).
    public var home: URL
    /// `SWITCHBOARD_HOST`: the listen address.
    public var host: String
    /// `SWITCHBOARD_PORT`: the listen port; 0 picks a free one.
    public var port: Int
    /// `SWITCHBOARD_PUBLIC_URL`: how the outside world reaches this server.
    public var publicURL: String?
    /// `SWITCHBOARD_ADMIN_TOKEN`: bearer token of `/admin/*`; `nil` turns the operator API off.
    public var adminToken: String?
    /// `SWITCHBOARD_MASTER_KEY`: base64 of 32 bytes; `nil` generates `home/master.key`.
    public var masterKey: String?
    /// The platform API bases, by channel kind: `SWITCHBOARD_TELEGRAM_API_BASE` and the
    /// like, one per connector that calls a platform (`ConnectorDescription.apiBase`). URLs by
    /// type: a malformed setting stops start-up, it never falls back to the public default.
    public var platformBases: [String: URL]
    /// `SWITCHBOARD_EGRESS_ALLOW_PRIVATE`: let tenant-supplied URLs reach loopback and private ranges.
    public var egressAllowPrivate: Bool
    /// `SWITCHBOARD_MAIL_CA_FILE`: a PEM file of CA certificates that mailbox channels'
    /// IMAP and SMTP connections trust besides the system's (a private CA's mail server).
    public var mailTrustFile: String? = nil
    /// `SWITCHBOARD_SMTP_URL`: the platform's own mail (invitations, sign-up verification).
    public var smtpURL: String? = nil
    /// `SWITCHBOARD_MAIL_FROM`: the sender of that mail.
    public var mailFrom: String? = nil
    /// `SWITCHBOARD_BCRYPT_COST`: the work factor of the team's password hashes.
    public var bcryptCost: Int = 12
    /// `SWITCHBOARD_SIGN_UP_TRIAL_MICROS`: what a business that signs up itself gets once,
    /// when its owner's address is verified.
    public var signUpTrialMicros: Int = 0
    /// `SWITCHBOARD_SIGN_UPS_PER_HOUR`: sign-ups per hour per source address; 0 turns the
    /// sign-up page off.
    public var signUpsPerHour: Int = 5
    /// `SWITCHBOARD_WORKERS`: concurrent reply and send jobs.
    public var workers: Int
    /// `SWITCHBOARD_DB_POOL`: the most connections the app role's pool opens.
    public var databasePoolSize: Int
    /// `SWITCHBOARD_DB_ACQUIRE_TIMEOUT_MS`: how long a request waits for a database
    /// connection before it is answered 503 `unavailable`.
    public var databaseAcquireTimeout: Duration
    /// `SWITCHBOARD_INGEST_BATCH`: the most webhook deliveries committed in one shared
    /// transaction (group commit); 1 commits each delivery on its own.
    public var ingestBatch: Int
    /// `SWITCHBOARD_LOG_LEVEL`: trace, debug, info, notice, warning, error or critical.
    public var logLevel: Logger.Level
    /// `SWITCHBOARD_EVENT_LOOP_EXECUTOR`: run Swift Concurrency's tasks on NIO's event loops
    /// (`serve` and `demo`; see `EventLoopExecutor`); false keeps the runtime's own pool.
    public var eventLoopExecutor: Bool
    /// Apply migrations at start-up (`serve` does; tests that migrated already may skip it).
    public var migrateOnStart: Bool
    /// `SWITCHBOARD_METRICS_TOKEN`: when set, `/metrics` answers only `Authorization: Bearer <token>`.
    public var metricsToken: String?
    /// `SWITCHBOARD_RATE_LIMIT_KEY`: requests per second per API key (burst: twice that); 0 turns it off.
    public var rateLimitPerKey: Int
    /// `SWITCHBOARD_RATE_LIMIT_TENANT`: requests per second per tenant, over all its keys (burst: twice that); 0 off.
    public var rateLimitPerTenant: Int
    /// `SWITCHBOARD_RATE_LIMIT_FAILURES`: refused requests per minute per source address (bad or
    /// unknown keys, operator token, webhook deliveries to unknown channels or with bad
    /// signatures), all at once if need be; beyond it 429. 0 turns it off.
    public var rateLimitFailures: Int
    /// `SWITCHBOARD_RATE_LIMIT_HOOK_CHANNEL`: webhook deliveries per second per channel (burst: the same); 0 off.
    public var rateLimitHookChannel: Int
    /// `SWITCHBOARD_HEADER_TIMEOUT_MS`: how long a connection may take to send a complete request
    /// head, from its opening or the end of its last response (also the keep-alive idle time).
    public var headerTimeout: Duration
    /// `SWITCHBOARD_IDLE_TIMEOUT_MS`: a connection with nothing read or written for this long
    /// (a request body that stopped arriving) is closed; a response being worked on is not.
    public var idleTimeout: Duration

    public init(
        databaseURL: String? = nil,
        home: URL = URL(fileURLWithPath: ".switchboard"),
        host: String = "127.0.0.1",
        port: Int = 8080,
        publicURL: String? = nil,
        adminToken: String? = nil,
        masterKey: String? = nil,
        platformBases: [String: URL] = ConnectorRegistry.defaultPlatformBases,
        egressAllowPrivate: Bool = false,
        workers: Int = 2 * ProcessInfo.processInfo.activeProcessorCount,
        databasePoolSize: Int = 20,
        databaseAcquireTimeout: Duration = .seconds(5),
        ingestBatch: Int = 64,
        logLevel: Logger.Level = .info,
        eventLoopExecutor: Bool = true,
        migrateOnStart: Bool = true,
        metricsToken: String? = nil,
        rateLimitPerKey: Int = 100,
        rateLimitPerTenant: Int = 300,
        rateLimitFailures: Int = 60,
        rateLimitHookChannel: Int = 10_000,
        headerTimeout: Duration = .seconds(15),
        idleTimeout: Duration = .seconds(60)
    ) {
        self.databaseURL = databaseURL
        self.home = home
        self.host = host
        self.port = port
        self.publicURL = publicURL
        self.adminToken = adminToken
        self.masterKey = masterKey
        self.platformBases = platformBases
        self.egressAllowPrivate = egressAllowPrivate
        self.workers = workers
        self.databasePoolSize = databasePoolSize
        self.databaseAcquireTimeout = databaseAcquireTimeout
        self.ingestBatch = ingestBatch
        self.logLevel = logLevel
        self.eventLoopExecutor = eventLoopExecutor
        self.migrateOnStart = migrateOnStart
        self.metricsToken = metricsToken
        self.rateLimitPerKey = rateLimitPerKey
        self.rateLimitPerTenant = rateLimitPerTenant
        self.rateLimitFailures = rateLimitFailures
        self.rateLimitHookChannel = rateLimitHookChannel
        self.headerTimeout = headerTimeout
        self.idleTimeout = idleTimeout
    }

    /// The URL webhooks and links are built from: `SWITCHBOARD_PUBLIC_URL`, else `http://HOST:PORT`.
    public var effectivePublicURL: String {
        publicURL ?? "http://\(host):\(port)"
    }

    /// Reads the environment variables (README, "Configuration") over the defaults.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> AppConfiguration {
        var configuration = AppConfiguration()
        try configuration.apply(environment)
        return configuration
    }

    /// Overrides settings with the variables present in `environment` (empty ones are
    /// absent), each read through its ``AppSetting``.
    public mutating func apply(_ environment: [String: String]) throws {
        for setting in AppSetting.all {
            guard let value = environment[setting.variable]?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { continue }
            try setting.read(&self, value)
        }
    }

    static func integer(_ text: String, _ name: String, _ range: ClosedRange<Int>) throws -> Int {
        guard let value = Int(text), range.contains(value) else {
            throw ConfigurationError("\(name) must be an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    /// A platform API base: an absolute http or https URL with a host, no query or fragment.
    static func platformBase(_ text: String, _ name: String) throws -> URL {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "https" || scheme == "http",
              let host = url.host, !host.isEmpty, url.query == nil, url.fragment == nil
        else {
            throw ConfigurationError("\(name) must be an http or https URL with a host, like https://api.example.com (not \(text))")
        }
        return url
    }

    static func boolean(_ text: String, _ name: String) throws -> Bool {
        switch text.lowercased() {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default: throw ConfigurationError("\(name) must be true or false")
        }
    }
}

/// A setting the operator must fix; the message says which and how.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
