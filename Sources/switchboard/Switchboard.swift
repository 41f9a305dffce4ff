import ArgumentParser
import Foundation
import Logging
import SwitchboardApp

@main
struct Switchboard: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchboard",
        abstract: "A multi-tenant AI-agent gateway: messengers in, a PostgreSQL CRM, AI agents, exact credits.",
        discussion: """
            Every option is also an environment variable (named in its help). Without DATABASE_URL, \
            Switchboard runs its own PostgreSQL cluster under SWITCHBOARD_HOME/pg with the system's \
            PostgreSQL binaries, and stops it on exit.
            """,
        subcommands: [Serve.self, Migrate.self, Tenants.self, Demo.self, Health.self]
    )
}

/// The settings every command shares, each a flag and an environment variable.
struct ServerOptions: ParsableArguments {
    @Option(help: "PostgreSQL URL, logged in as the owner that runs migrations; absent: the embedded cluster. [env: DATABASE_URL]")
    var databaseURL: String?
    @Option(help: "Data folder: embedded cluster, generated keys. [env: SWITCHBOARD_HOME] (default: ./.switchboard)")
    var home: String?
    @Option(help: "Listen address. [env: SWITCHBOARD_HOST] (default: 127.0.0.1)")
    var host: String?
    @Option(help: "Listen port. [env: SWITCHBOARD_PORT] (default: 8080)")
    var port: Int?
    @Option(help: "URL the outside world reaches (webhook URLs). [env: SWITCHBOARD_PUBLIC_URL] (default: http://HOST:PORT)")
    var publicURL: String?
    @Option(help: "Bearer token of the operator API /admin/*; absent: operator API off. [env: SWITCHBOARD_ADMIN_TOKEN]")
    var adminToken: String?
    @Option(help: "Base64 32-byte key for secrets at rest; absent: generated into SWITCHBOARD_HOME/master.key. [env: SWITCHBOARD_MASTER_KEY]")
    var masterKey: String?
    @Option(help: "Telegram Bot API base. [env: SWITCHBOARD_TELEGRAM_API_BASE] (default: https://api.telegram.org)")
    var telegramAPIBase: String?
    @Option(help: "Meta Graph API base. [env: SWITCHBOARD_GRAPH_API_BASE] (default: https://graph.facebook.com)")
    var graphAPIBase: String?
    @Option(help: "Allow tenant-supplied URLs on loopback/private ranges (true/false). [env: SWITCHBOARD_EGRESS_ALLOW_PRIVATE] (default: false)")
    var egressAllowPrivate: String?
    @Option(help: "Concurrent reply/send jobs. [env: SWITCHBOARD_WORKERS] (default: 2 x cores)")
    var workers: Int?
    @Option(help: "Most database connections of the app role's pool. [env: SWITCHBOARD_DB_POOL] (default: 20)")
    var dbPool: Int?
    @Option(help: "Milliseconds a request waits for a database connection before answering 503. [env: SWITCHBOARD_DB_ACQUIRE_TIMEOUT_MS] (default: 5000)")
    var dbAcquireTimeoutMs: Int?
    @Option(help: "Most webhook deliveries committed in one shared transaction; 1 turns group commit off. [env: SWITCHBOARD_INGEST_BATCH] (default: 64)")
    var ingestBatch: Int?
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical. [env: SWITCHBOARD_LOG_LEVEL] (default: info)")
    var logLevel: String?
    @Option(help: "Run Swift Concurrency's tasks on NIO's event loops (true/false). [env: SWITCHBOARD_EVENT_LOOP_EXECUTOR] (default: true)")
    var eventLoopExecutor: String?
    @Option(help: "Bearer token /metrics asks for; absent: /metrics is open. [env: SWITCHBOARD_METRICS_TOKEN]")
    var metricsToken: String?
    @Option(help: "Requests per second per API key, burst twice that; 0: off. [env: SWITCHBOARD_RATE_LIMIT_KEY] (default: 100)")
    var rateLimitKey: Int?
    @Option(help: "Requests per second per tenant, burst twice that; 0: off. [env: SWITCHBOARD_RATE_LIMIT_TENANT] (default: 300)")
    var rateLimitTenant: Int?
    @Option(help: "Refused requests per minute per source address; 0: off. [env: SWITCHBOARD_RATE_LIMIT_FAILURES] (default: 60)")
    var rateLimitFailures: Int?
    @Option(help: "Webhook deliveries per second per channel; 0: off. [env: SWITCHBOARD_RATE_LIMIT_HOOK_CHANNEL] (default: 10000)")
    var rateLimitHookChannel: Int?
    @Option(help: "Milliseconds a connection has to send a complete request head. [env: SWITCHBOARD_HEADER_TIMEOUT_MS] (default: 15000)")
    var headerTimeoutMs: Int?
    @Option(help: "Milliseconds a connection may stay silent mid-request. [env: SWITCHBOARD_IDLE_TIMEOUT_MS] (default: 60000)")
    var idleTimeoutMs: Int?

    /// Environment first, flags over it.
    func configuration() throws -> AppConfiguration {
        var configuration = try AppConfiguration.fromEnvironment()
        var flags: [String: String] = [:]
        flags["DATABASE_URL"] = databaseURL
        flags["SWITCHBOARD_HOME"] = home
        flags["SWITCHBOARD_HOST"] = host
        flags["SWITCHBOARD_PORT"] = port.map(String.init)
        flags["SWITCHBOARD_PUBLIC_URL"] = publicURL
        flags["SWITCHBOARD_ADMIN_TOKEN"] = adminToken
        flags["SWITCHBOARD_MASTER_KEY"] = masterKey
        flags["SWITCHBOARD_TELEGRAM_API_BASE"] = telegramAPIBase
        flags["SWITCHBOARD_GRAPH_API_BASE"] = graphAPIBase
        flags["SWITCHBOARD_EGRESS_ALLOW_PRIVATE"] = egressAllowPrivate
        flags["SWITCHBOARD_WORKERS"] = workers.map(String.init)
        flags["SWITCHBOARD_DB_POOL"] = dbPool.map(String.init)
        flags["SWITCHBOARD_DB_ACQUIRE_TIMEOUT_MS"] = dbAcquireTimeoutMs.map(String.init)
        flags["SWITCHBOARD_INGEST_BATCH"] = ingestBatch.map(String.init)
        flags["SWITCHBOARD_LOG_LEVEL"] = logLevel
        flags["SWITCHBOARD_EVENT_LOOP_EXECUTOR"] = eventLoopExecutor
        flags["SWITCHBOARD_METRICS_TOKEN"] = metricsToken
        flags["SWITCHBOARD_RATE_LIMIT_KEY"] = rateLimitKey.map(String.init)
        flags["SWITCHBOARD_RATE_LIMIT_TENANT"] = rateLimitTenant.map(String.init)
        flags["SWITCHBOARD_RATE_LIMIT_FAILURES"] = rateLimitFailures.map(String.init)
        flags["SWITCHBOARD_RATE_LIMIT_HOOK_CHANNEL"] = rateLimitHookChannel.map(String.init)
        flags["SWITCHBOARD_HEADER_TIMEOUT_MS"] = headerTimeoutMs.map(String.init)
        flags["SWITCHBOARD_IDLE_TIMEOUT_MS"] = idleTimeoutMs.map(String.init)
        try configuration.apply(flags)
        return configuration
    }

    /// The configuration and logger of a command that serves (`serve`, `demo`): Swift
    /// Concurrency moves onto the event loops first, before any task of the server runs.
    func server() throws -> (AppConfiguration, Logger) {
        let configuration = try configuration()
        let tookOver = configuration.eventLoopExecutor && EventLoopExecutor.takeOver()
        let logger = logger(configuration)
        logger.info(tookOver ? "tasks run on the event loops" : "tasks run on the concurrency runtime's own threads")
        return (configuration, logger)
    }

    func logger(_ configuration: AppConfiguration) -> Logger {
        let level = configuration.logLevel
        LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: level) }
        return Logger(label: "switchboard")
    }
}

/// Prints a start-up failure as one clear line and exits non-zero (no stack trace).
func fail(_ error: any Error) -> ExitCode {
    let text = String(describing: error)
    FileHandle.standardError.write(Data("switchboard: \(text)\n".utf8))
    return ExitCode(1)
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the HTTP server (and the embedded PostgreSQL when DATABASE_URL is unset) until SIGINT/SIGTERM."
    )
    @OptionGroup var options: ServerOptions

    func run() async throws {
        do {
            let (configuration, logger) = try options.server()
            let app = try await buildApplication(configuration, logger: logger)
            try await app.runUntilSignalled()
        } catch {
            throw fail(error)
        }
    }
}

/// For a container's HEALTHCHECK: exit 0 when the server on this machine is ready.
struct Health: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Exit 0 when the server on this machine answers /ready with 200, 1 otherwise (a container's HEALTHCHECK)."
    )
    @Option(help: "Port the server listens on. [env: SWITCHBOARD_PORT] (default: 8080)")
    var port: Int?

    func run() async throws {
        let port: Int
        if let flag = self.port {
            port = flag
        } else if let variable = ProcessInfo.processInfo.environment["SWITCHBOARD_PORT"] {
            guard let value = Int(variable), (1...65535).contains(value) else {
                FileHandle.standardError.write(Data("switchboard: SWITCHBOARD_PORT must be a port number (1-65535), not \(variable)\n".utf8))
                throw ExitCode(1)
            }
            port = value
        } else {
            port = 8080
        }
        guard await ReadinessProbe.isReady(port: port) else {
            FileHandle.standardError.write(Data("switchboard: the server on port \(port) is not ready\n".utf8))
            throw ExitCode(1)
        }
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply the database migrations and exit (serve also applies them at start-up)."
    )
    @OptionGroup var options: ServerOptions

    func run() async throws {
        do {
            let configuration = try options.configuration()
            let logger = options.logger(configuration)
            let bootstrap = try await Bootstrap.prepare(configuration, logger: logger)
            try await bootstrap.run { _ in }
            print("migrations are current (\(bootstrap.expectedMigrations) applied)")
        } catch {
            throw fail(error)
        }
    }
}

struct Tenants: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage tenants from the command line.",
        subcommands: [Create.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a tenant and print its API key (shown once; only its hash is stored)."
        )
        @Argument(help: "The tenant's name.") var name: String
        @Option(help: "Trial credits in micro-credits (1 credit = 1,000,000).") var trialCreditsMicros: Int64 = 0
        @OptionGroup var options: ServerOptions

        func run() async throws {
            do {
                let configuration = try options.configuration()
                let logger = options.logger(configuration)
                let bootstrap = try await Bootstrap.prepare(configuration, logger: logger)
                let name = self.name
                let trial = self.trialCreditsMicros
                let created = try await bootstrap.run { bootstrap in
                    try await TenantCommands.create(name: name, trialCreditsMicros: trial, database: bootstrap.database)
                }
                print("tenant \(created.tenantID) created")
                print("API key (shown once): \(created.secret)")
            } catch {
                throw fail(error)
            }
        }
    }
}

struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve, and create a demo tenant whose API key and a curl line to try are printed once the server listens."
    )
    @OptionGroup var options: ServerOptions

    func run() async throws {
        do {
            let (configuration, logger) = try options.server()
            let bootstrap = try await Bootstrap.prepare(configuration, logger: logger)
            let base = configuration.effectivePublicURL
            let database = bootstrap.database
            let app = buildApplication(configuration, bootstrap: bootstrap, logger: logger, onServerRunning: { _ in
                do {
                    let created = try await TenantCommands.demoKey(database: database)
                    // Unbuffered: `make run` may pipe this, and the key must show at once.
                    FileHandle.standardOutput.write(Data(
                        """

                        Switchboard is running at \(base)
                        Demo tenant \(created.tenantID); its API key (shown once):
                            \(created.secret)
                        Try:
                            curl -s -H 'Authorization: Bearer \(created.secret)' \(base)/v1/tenant
                            curl -s -H 'Authorization: Bearer \(created.secret)' \(base)/v1/agents
                        The demo agent answers from a FAQ with no model provider: point a channel at it
                        (see README.md, "A five-minute tour").

                        Stop with Ctrl-C.

                        """.utf8
                    ))
                } catch {
                    logger.error("could not create the demo tenant", metadata: ["error": "\(error)"])
                }
            })
            try await app.runUntilSignalled()
        } catch {
            throw fail(error)
        }
    }
}
