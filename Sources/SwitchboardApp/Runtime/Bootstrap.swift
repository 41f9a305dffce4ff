import Foundation
import PostgresNIO
public import Logging
public import ServiceLifecycle
public import SwitchboardPostgres

/// The database side of start-up: the embedded cluster when there is no `DATABASE_URL`,
/// the migrations, and the app role's pool.
///
/// The pool and the embedded cluster are Services: the application runs them and shuts
/// them down in reverse order, so the cluster stops last.
public struct Bootstrap: Sendable {
    public let database: Database
    public let masterKey: MasterKey
    public let ownerConfiguration: DatabaseConfiguration
    /// The embedded cluster, when this process runs one.
    public let embedded: RunningEmbeddedPostgres?
    public let expectedMigrations: Int

    /// Services in start order: the embedded cluster (if any) first, then the pool.
    public var services: [any Service] {
        var services: [any Service] = []
        if let embedded { services.append(embedded) }
        services.append(database.client)
        return services
    }

    /// Prepares the database: starts the embedded cluster if needed, migrates (when
    /// `migrateOnStart`), and makes the app role's pool (not yet running).
    public static func prepare(_ configuration: AppConfiguration, logger: Logger) async throws -> Bootstrap {
        let masterKey = try MasterKey.resolve(configured: configuration.masterKey, home: configuration.home, logger: logger)
        let owner: DatabaseConfiguration
        var embedded: RunningEmbeddedPostgres?
        if let url = configuration.databaseURL {
            owner = try DatabaseConfiguration(url: url)
        } else {
            let running = try await EmbeddedPostgres(home: configuration.home, logger: logger).start()
            owner = running.ownerConfiguration
            embedded = running
        }
        do {
            let migrations = try Migration.bundled()
            let migrator = Migrator(
                owner: owner, migrations: migrations, functions: try SQLFunctionFile.bundled(),
                appRolePassword: masterKey.appRolePassword, logger: logger
            )
            if configuration.migrateOnStart {
                try await migrator.migrate()
            }
            let database = Database(
                configuration: migrator.appConfiguration, maximumConnections: configuration.databasePoolSize,
                acquireTimeout: configuration.databaseAcquireTimeout, logger: logger
            )
            return Bootstrap(
                database: database, masterKey: masterKey, ownerConfiguration: owner, embedded: embedded,
                expectedMigrations: migrations.count
            )
        } catch {
            // Leave no server running behind a failed start.
            if let embedded, embedded.startedHere { try? await embedded.launcher.stop() }
            throw error
        }
    }

    /// Runs `body` with the pool running, then shuts down what was started here: for CLI
    /// commands that do one thing and exit.
    public func run<Result: Sendable>(_ body: @Sendable (Bootstrap) async throws -> Result) async throws -> Result {
        let client = database.client
        let result: Result
        do {
            result = try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await client.run() }
                defer { group.cancelAll() }
                return try await body(self)
            }
        } catch {
            if let embedded, embedded.startedHere { try? await embedded.launcher.stop() }
            throw error
        }
        if let embedded, embedded.startedHere { try await embedded.launcher.stop() }
        return result
    }
}
