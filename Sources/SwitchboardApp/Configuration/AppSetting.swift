import ConnectorKit
public import Foundation
import Logging

/// One setting of the operator's configuration, declared once: its environment variable,
/// the command-line flag named after it, its help, its default, and how a value is read
/// and checked. The environment and the flags are both read through these declarations
/// (`AppConfiguration.apply`, `AppSetting.flags(in:)`), `switchboard --help` lists them,
/// and a test holds the README's configuration table to them.
public struct AppSetting: Sendable {
    /// `SWITCHBOARD_PORT`.
    public let variable: String
    public let help: String
    /// Reads a value into a configuration; throws a ``ConfigurationError`` naming the
    /// variable when the value is malformed.
    let read: @Sendable (inout AppConfiguration, String) throws -> Void
    /// The default as written for people (`8080`, `2 × cores`, `absent → …`).
    public let defaultText: String

    /// `--port` for `SWITCHBOARD_PORT`, `--database-url` for `DATABASE_URL`.
    public var flag: String {
        let name = variable.hasPrefix("SWITCHBOARD_") ? String(variable.dropFirst("SWITCHBOARD_".count)) : variable
        return "--" + name.lowercased().replacingOccurrences(of: "_", with: "-")
    }

    init(
        _ variable: String, _ help: String, default defaultText: String? = nil,
        show: @escaping @Sendable (AppConfiguration) -> String = { _ in "" },
        read: @escaping @Sendable (inout AppConfiguration, String) throws -> Void
    ) {
        self.variable = variable
        self.help = help
        self.read = read
        self.defaultText = defaultText ?? show(AppConfiguration())
    }

    static func text(
        _ variable: String, _ help: String, absent: String, _ set: @escaping @Sendable (inout AppConfiguration, String) -> Void
    ) -> AppSetting {
        AppSetting(variable, help, default: absent) { set(&$0, $1) }
    }

    static func integer(
        _ variable: String, _ range: ClosedRange<Int>, _ help: String, default note: String? = nil,
        show: @escaping @Sendable (AppConfiguration) -> Int, _ set: @escaping @Sendable (inout AppConfiguration, Int) -> Void
    ) -> AppSetting {
        AppSetting(variable, help, default: note, show: { String(show($0)) }) {
            set(&$0, try AppConfiguration.integer($1, variable, range))
        }
    }

    static func milliseconds(
        _ variable: String, _ range: ClosedRange<Int>, _ help: String,
        show: @escaping @Sendable (AppConfiguration) -> Duration, _ set: @escaping @Sendable (inout AppConfiguration, Duration) -> Void
    ) -> AppSetting {
        AppSetting(variable, help, show: { String(Int(show($0) / .milliseconds(1))) }) {
            set(&$0, .milliseconds(try AppConfiguration.integer($1, variable, range)))
        }
    }

    static func boolean(
        _ variable: String, _ help: String,
        show: @escaping @Sendable (AppConfiguration) -> Bool, _ set: @escaping @Sendable (inout AppConfiguration, Bool) -> Void
    ) -> AppSetting {
        AppSetting(variable, help, show: { String(show($0)) }) { set(&$0, try AppConfiguration.boolean($1, variable)) }
    }

    static func platformBase(
        _ variable: String, _ help: String,
        show: @escaping @Sendable (AppConfiguration) -> URL, _ set: @escaping @Sendable (inout AppConfiguration, URL) -> Void
    ) -> AppSetting {
        AppSetting(variable, help, show: { show($0).absoluteString }) { set(&$0, try AppConfiguration.platformBase($1, variable)) }
    }

    /// One setting per API base, in the connectors' order: kinds that share a base
    /// (WhatsApp and Messenger: the Graph API) share its setting, which sets all of them.
    static var platformBaseSettings: [AppSetting] {
        var bases: [ConnectorDescription.APIBase] = []
        var kinds: [String: [String]] = [:]
        for connector in ConnectorRegistry.available {
            guard let base = connector.description.apiBase else { continue }
            if kinds[base.setting] == nil { bases.append(base) }
            kinds[base.setting, default: []].append(connector.description.kind)
        }
        return bases.map { base in
            let shared = kinds[base.setting] ?? []
            return .platformBase(
                "SWITCHBOARD_" + base.setting, base.help, show: { $0.platformBases[shared[0]] ?? base.defaultURL }
            ) { configuration, url in
                for kind in shared { configuration.platformBases[kind] = url }
            }
        }
    }

    /// Every setting, in the order the README's table and `--help` list them; the platform
    /// API bases come from the connectors' descriptions.
    public static let all: [AppSetting] = [
        .text(
            "DATABASE_URL", "PostgreSQL server, logged in as the owner that runs migrations", absent: "absent → embedded cluster"
        ) { $0.databaseURL = $1 },
        AppSetting("SWITCHBOARD_HOME", "data folder: the embedded cluster, its password, the generated master key", default: "./.switchboard") {
            $0.home = URL(fileURLWithPath: $1)
        },
        AppSetting("SWITCHBOARD_HOST", "listen address", show: \.host) { $0.host = $1 },
        .integer("SWITCHBOARD_PORT", 0...65535, "listen port; 0 picks a free one", show: \.port) { $0.port = $1 },
        .text("SWITCHBOARD_PUBLIC_URL", "URL the outside world reaches (webhook URLs)", absent: "http://HOST:PORT") { $0.publicURL = $1 },
        .text("SWITCHBOARD_ADMIN_TOKEN", "bearer token of the operator API /admin/*", absent: "absent → operator API off (404)") {
            $0.adminToken = $1
        },
        .text(
            "SWITCHBOARD_MASTER_KEY", "base64 of 32 bytes: encrypts secrets at rest, derives the app role's database password",
            absent: "absent → generated into $SWITCHBOARD_HOME/master.key"
        ) { $0.masterKey = $1 },
    ] + platformBaseSettings + [
        .boolean(
            "SWITCHBOARD_EGRESS_ALLOW_PRIVATE", "let tenant-supplied URLs reach loopback, private and other non-public addresses",
            show: \.egressAllowPrivate
        ) { $0.egressAllowPrivate = $1 },
        .text(
            "SWITCHBOARD_MAIL_CA_FILE", "PEM file of CA certificates mailbox channels' IMAP and SMTP trust besides the system's",
            absent: "absent → the system's only"
        ) { $0.mailTrustFile = $1 },
        .integer(
            "SWITCHBOARD_WORKERS", 0...1024, "reply and send jobs run at once; 0 runs none (an API-only replica)",
            default: "2 × cores", show: \.workers
        ) { $0.workers = $1 },
        .integer("SWITCHBOARD_DB_POOL", 1...500, "most connections of the app role's pool", show: \.databasePoolSize) {
            $0.databasePoolSize = $1
        },
        .milliseconds(
            "SWITCHBOARD_DB_ACQUIRE_TIMEOUT_MS", 10...600_000, "how long a request waits for a database connection before 503",
            show: \.databaseAcquireTimeout
        ) { $0.databaseAcquireTimeout = $1 },
        .integer(
            "SWITCHBOARD_INGEST_BATCH", 1...1000, "most webhook deliveries committed in one shared transaction; 1 turns group commit off",
            show: \.ingestBatch
        ) { $0.ingestBatch = $1 },
        .boolean(
            "SWITCHBOARD_EVENT_LOOP_EXECUTOR", "run Swift Concurrency's tasks on NIO's event loops", show: \.eventLoopExecutor
        ) { $0.eventLoopExecutor = $1 },
        AppSetting("SWITCHBOARD_LOG_LEVEL", "trace, debug, info, notice, warning, error or critical", show: { $0.logLevel.rawValue }) {
            guard let level = Logger.Level(rawValue: $1.lowercased()) else {
                throw ConfigurationError("SWITCHBOARD_LOG_LEVEL must be one of trace, debug, info, notice, warning, error, critical")
            }
            $0.logLevel = level
        },
        .text("SWITCHBOARD_METRICS_TOKEN", "bearer token /metrics asks for", absent: "absent → /metrics open") { $0.metricsToken = $1 },
        .integer(
            "SWITCHBOARD_RATE_LIMIT_KEY", 0...1_000_000, "requests per second per API key, bursts of twice that; 0 off",
            show: \.rateLimitPerKey
        ) { $0.rateLimitPerKey = $1 },
        .integer(
            "SWITCHBOARD_RATE_LIMIT_TENANT", 0...1_000_000, "requests per second per tenant over all its keys, bursts of twice that; 0 off",
            show: \.rateLimitPerTenant
        ) { $0.rateLimitPerTenant = $1 },
        .integer(
            "SWITCHBOARD_RATE_LIMIT_FAILURES", 0...1_000_000, "refused requests per minute per source address; 0 off",
            show: \.rateLimitFailures
        ) { $0.rateLimitFailures = $1 },
        .integer(
            "SWITCHBOARD_RATE_LIMIT_HOOK_CHANNEL", 0...1_000_000, "verified webhook deliveries per second per channel; 0 off",
            show: \.rateLimitHookChannel
        ) { $0.rateLimitHookChannel = $1 },
        AppSetting(
            "SWITCHBOARD_SMTP_URL", "the platform's own mail: smtp://user:password@host:port (STARTTLS) or smtps://… (TLS)",
            default: "absent → invitation links only in the API's answer; the operator verifies sign-ups"
        ) { configuration, value in
            _ = try PlatformMail.parse(value)
            configuration.smtpURL = value
        },
        AppSetting("SWITCHBOARD_MAIL_FROM", "sender address of the platform's mail", default: "absent → no-reply@<SMTP host>") {
            configuration, value in
            guard PlatformMail.isAddress(value) else { throw ConfigurationError("SWITCHBOARD_MAIL_FROM must be an email address") }
            configuration.mailFrom = value
        },
        .integer(
            "SWITCHBOARD_BCRYPT_COST", 4...16, "bcrypt work factor of the team's passwords (each step doubles the work)",
            show: \.bcryptCost
        ) { $0.bcryptCost = $1 },
        .integer(
            "SWITCHBOARD_SIGN_UP_TRIAL_MICROS", 0...1_000_000_000_000, "credits a self-signed-up business gets once its owner's email is verified",
            show: \.signUpTrialMicros
        ) { $0.signUpTrialMicros = $1 },
        .integer(
            "SWITCHBOARD_SIGN_UPS_PER_HOUR", 0...1_000_000, "sign-ups per hour per source address; 0 turns sign-up off",
            show: \.signUpsPerHour
        ) { $0.signUpsPerHour = $1 },
        .milliseconds(
            "SWITCHBOARD_HEADER_TIMEOUT_MS", 10...3_600_000, "time a connection has to send a complete request head",
            show: \.headerTimeout
        ) { $0.headerTimeout = $1 },
        .milliseconds(
            "SWITCHBOARD_IDLE_TIMEOUT_MS", 10...3_600_000, "a connection silent this long mid-request is closed", show: \.idleTimeout
        ) { $0.idleTimeout = $1 },
    ]

    /// The settings' lines for `--help`.
    public static var helpText: String {
        "Every setting is an environment variable and a flag (the flag wins):\n"
            + all.map { "  \($0.flag) <value>  [\($0.variable)] \($0.help) (default: \($0.defaultText))" }.joined(separator: "\n")
    }

    /// Takes the settings' flags out of a command line (`--port 8080`, `--port=8080`),
    /// wherever they stand: answers their values by variable, and the arguments left for the
    /// command's own parser. A setting's flag without a value is an error naming it.
    public static func flags(in arguments: [String]) throws -> (settings: [String: String], rest: [String]) {
        let byFlag = Dictionary(uniqueKeysWithValues: all.map { ($0.flag, $0) })
        var settings: [String: String] = [:]
        var rest: [String] = []
        var index = arguments.startIndex
        while index < arguments.endIndex {
            let argument = arguments[index]
            if argument == "--" {
                rest += arguments[index...]
                break
            }
            let (name, inline) = argument.split(separator: "=", maxSplits: 1).map(String.init).pairOrSingle
            guard let setting = byFlag[name] else {
                rest.append(argument)
                index += 1
                continue
            }
            if let inline {
                settings[setting.variable] = inline
            } else {
                guard index + 1 < arguments.endIndex else {
                    throw ConfigurationError("\(setting.flag) needs a value (\(setting.variable): \(setting.help))")
                }
                index += 1
                settings[setting.variable] = arguments[index]
            }
            index += 1
        }
        return (settings, rest)
    }
}

extension Array where Element == String {
    /// `["--port", "8080"]` → `("--port", "8080")`; `["--port"]` → `("--port", nil)`.
    fileprivate var pairOrSingle: (String, String?) {
        count > 1 ? (self[0], self[1]) : (first ?? "", nil)
    }
}
