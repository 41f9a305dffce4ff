import Foundation
public import Logging
import PostgresNIO
public import SwitchboardPostgres

#if canImport(Glibc)
import Glibc
#endif

/// The PostgreSQL server every database test runs against: `DATABASE_URL` (logged in as a
/// role that may create databases) when it is set, otherwise an embedded cluster started
/// once per test process in a temporary home and stopped when the process exits.
///
/// There is no skip: without a server, this starts one or the tests fail.
public actor TestDatabase {
    public static let shared = TestDatabase()

    /// A fixed master key for tests: the app role's password derives from it.
    public static let masterKey = Data(repeating: 7, count: 32).base64EncodedString()
    public static let logger: Logger = {
        var logger = Logger(label: "switchboard.tests")
        logger.logLevel = .warning
        return logger
    }()

    // Tasks, not values: the actor is reentrant across awaits, and concurrent first callers
    // must share one start-up rather than each start a cluster.
    private var serverTask: Task<DatabaseConfiguration, any Error>?
    private var sharedTask: Task<DatabaseConfiguration, any Error>?

    /// The server, logged in as a superuser or owner, on its maintenance database.
    public func server() async throws -> DatabaseConfiguration {
        if serverTask == nil { serverTask = Task { try await Self.startServer() } }
        return try await serverTask!.value
    }

    private static func startServer() async throws -> DatabaseConfiguration {
        let configuration: DatabaseConfiguration
        if let url = ProcessInfo.processInfo.environment["DATABASE_URL"], !url.isEmpty {
            configuration = try DatabaseConfiguration(url: url)
        } else {
            let home = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-tests-\(getpid())")
            try? FileManager.default.removeItem(at: home)
            let embedded = EmbeddedPostgres(home: home, durable: false, logger: Self.logger)
            let running = try await embedded.start()
            TestCluster.register(embedded)
            configuration = running.ownerConfiguration
        }
        return configuration
    }

    /// A database migrated once and shared by the tests of this process: each test makes
    /// its own tenants, so none needs a clean slate.
    public func sharedDatabase() async throws -> DatabaseConfiguration {
        if sharedTask == nil {
            sharedTask = Task {
                let database = try await self.freshDatabase(prefix: "shared")
                try await Self.migrator(database).migrate()
                return database
            }
        }
        return try await sharedTask!.value
    }

    /// A new database of its own, migrated: for tests whose workers take jobs across
    /// tenants, which must not take another test's.
    public func migratedDatabase(prefix: String = "own") async throws -> DatabaseConfiguration {
        let database = try await freshDatabase(prefix: prefix)
        try await Self.migrator(database).migrate()
        return database
    }

    /// A new, empty database on the server (for migration tests).
    public func freshDatabase(prefix: String = "fresh") async throws -> DatabaseConfiguration {
        let server = try await server()
        let name = "sb_test_\(prefix)_\(UUID().uuidString.prefix(8).lowercased())"
        try await PostgresAdministration.withConnection(server, logger: Self.logger) { connection in
            _ = try await connection.query(PostgresAdministration.createDatabase(name), logger: Self.logger)
        }
        return server.with(database: name)
    }

    /// The migrator of a database, with the test master key's app-role password.
    public static func migrator(
        _ owner: DatabaseConfiguration, migrations: [Migration]? = nil, functions: [SQLFunctionFile]? = nil
    ) throws -> Migrator {
        Migrator(
            owner: owner, migrations: try migrations ?? Migration.bundled(), functions: try functions ?? SQLFunctionFile.bundled(),
            appRolePassword: appRolePassword, logger: logger
        )
    }

    /// The app role's password under `masterKey`, derived as the server derives it.
    public static var appRolePassword: String {
        Migrator.appRolePassword(masterKey: Array(Data(base64Encoded: masterKey)!))
    }
}

/// Stops the embedded test cluster when the test process exits, and removes its files.
enum TestCluster {
    nonisolated(unsafe) static var embedded: EmbeddedPostgres?

    static func register(_ cluster: EmbeddedPostgres) {
        embedded = cluster
        atexit {
            guard let cluster = TestCluster.embedded else { return }
            cluster.stopBlocking()
            try? FileManager.default.removeItem(at: cluster.home)
        }
    }
}
