import ArgumentParser
import Foundation
import Logging
import SwitchboardApp
import Synchronization

@main
struct Switchboard: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchboard",
        abstract: "A multi-tenant AI-agent gateway: messengers in, a PostgreSQL CRM, AI agents, exact credits.",
        discussion: """
            Without DATABASE_URL, Switchboard runs its own PostgreSQL cluster under SWITCHBOARD_HOME/pg \
            with the system's PostgreSQL binaries, and stops it on exit.

            """ + AppSetting.helpText,
        subcommands: [Serve.self, Migrate.self, Tenants.self, Demo.self, Health.self]
    )

    /// The settings' flags are taken out of the command line first, wherever they stand
    /// (`AppSetting`: one declaration per setting gives its variable and its flag), and
    /// the commands parse what is left.
    static func main() async {
        do {
            let (settings, rest) = try AppSetting.flags(in: Array(CommandLine.arguments.dropFirst()))
            settingFlags.withLock { $0 = settings }
            await main(rest)
        } catch {
            FileHandle.standardError.write(Data("switchboard: \(error)\n".utf8))
            Foundation.exit(1)
        }
    }
}

/// Where a command's help points for the settings it reads.
let settingsPointer = "Every setting (switchboard --help lists them) is read from its environment variable or its flag, here too."

/// The values of the settings' flags on this command line, by variable.
let settingFlags = Mutex<[String: String]>([:])

/// What every command that reads the configuration shares: the environment with the
/// settings' flags over it, and the logger.
struct ServerOptions: ParsableArguments {
    /// Environment first, flags over it.
    func configuration() throws -> AppConfiguration {
        var environment = ProcessInfo.processInfo.environment
        environment.merge(settingFlags.withLock { $0 }) { $1 }
        return try AppConfiguration.fromEnvironment(environment)
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
        abstract: "Run the HTTP server (and the embedded PostgreSQL when DATABASE_URL is unset) until SIGINT/SIGTERM.",
        discussion: settingsPointer
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
    @OptionGroup var options: ServerOptions

    func run() async throws {
        // The port is the server's own setting (SWITCHBOARD_PORT, or --port).
        let port: Int
        do {
            port = try options.configuration().port
        } catch {
            throw fail(error)
        }
        guard await ReadinessProbe.isReady(port: port) else {
            FileHandle.standardError.write(Data("switchboard: the server on port \(port) is not ready\n".utf8))
            throw ExitCode(1)
        }
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply the database migrations and exit (serve also applies them at start-up).",
        discussion: settingsPointer
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
            abstract: "Create a tenant and print its API key (shown once; only its hash is stored).",
        discussion: settingsPointer
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
        abstract: "Serve, and create a demo tenant whose API key and a curl line to try are printed once the server listens.",
        discussion: settingsPointer
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
