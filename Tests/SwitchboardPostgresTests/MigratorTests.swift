import Foundation
import Logging
import PostgresNIO
import SwitchboardPostgres
import SwitchboardTestSupport
import Testing

@Suite("Migrations")
struct MigratorTests {
    let logger = TestDatabase.logger

    @Test("apply to an empty database, then change nothing on the second run")
    func appliesThenIsIdempotent() async throws {
        let owner = try await TestDatabase.shared.freshDatabase()
        let migrator = try TestDatabase.migrator(owner)
        let first = try await migrator.migrate()
        #expect(first.map(\.version) == Array(1...migrator.migrations.count))
        let second = try await migrator.migrate()
        #expect(second.isEmpty)

        let recorded = try await PostgresAdministration.withConnection(owner, logger: logger) { connection in
            var rows: [(Int, String)] = []
            for try await row in try await connection.query("SELECT version, checksum FROM schema_migrations ORDER BY version", logger: logger)
                .decode((Int, String).self) {
                rows.append(row)
            }
            return rows.map { "\($0.0):\($0.1)" }
        }
        #expect(recorded == migrator.migrations.map { "\($0.version):\($0.checksum)" })
    }

    @Test("an applied migration whose file changed stops start-up, naming the file")
    func refusesChangedMigration() async throws {
        let owner = try await TestDatabase.shared.freshDatabase()
        try await TestDatabase.migrator(owner).migrate()

        var edited = try Migration.bundled()
        edited[0].sql += "\n-- an innocent-looking edit\n"
        let error = await #expect(throws: DatabaseError.self) {
            try await TestDatabase.migrator(owner, migrations: edited).migrate()
        }
        #expect(error?.code == .migrationChanged)
        #expect(error?.message.contains(edited[0].fileName) == true)
    }

    @Test("a tampered checksum in the database is refused")
    func refusesTamperedChecksum() async throws {
        let owner = try await TestDatabase.shared.freshDatabase()
        try await TestDatabase.migrator(owner).migrate()
        _ = try await PostgresAdministration.withConnection(owner, logger: logger) { connection in
            try await connection.query("UPDATE schema_migrations SET checksum = 'tampered' WHERE version = 1", logger: logger)
        }
        let error = await #expect(throws: DatabaseError.self) {
            try await TestDatabase.migrator(owner).migrate()
        }
        #expect(error?.code == .migrationChanged)
    }

    @Test("a database migrated by a newer build is refused")
    func refusesUnknownMigration() async throws {
        let owner = try await TestDatabase.shared.freshDatabase()
        try await TestDatabase.migrator(owner).migrate()
        _ = try await PostgresAdministration.withConnection(owner, logger: logger) { connection in
            try await connection.query("INSERT INTO schema_migrations (version, name, checksum) VALUES (9999, 'future', 'x')", logger: logger)
        }
        let error = await #expect(throws: DatabaseError.self) {
            try await TestDatabase.migrator(owner).migrate()
        }
        #expect(error?.code == .migrationFailed)
        #expect(error?.message.contains("9999") == true)
    }

    @Test("a failing migration leaves nothing applied")
    func failingMigrationRollsBack() async throws {
        let owner = try await TestDatabase.shared.freshDatabase()
        var migrations = try Migration.bundled()
        migrations.append(Migration(version: migrations.count + 1, name: "broken", sql: "CREATE TABLE half (id int); SELECT * FROM no_such_table;"))
        let error = await #expect(throws: DatabaseError.self) {
            try await TestDatabase.migrator(owner, migrations: migrations).migrate()
        }
        #expect(error?.message.contains("_broken.sql") == true, "\(String(describing: error))")
        let tables = try await PostgresAdministration.withConnection(owner, logger: logger) { connection in
            var count = 0
            for try await value in try await connection.query(
                "SELECT count(*)::int FROM pg_tables WHERE schemaname = 'public' AND tablename IN ('tenants', 'half')", logger: logger
            ).decode(Int.self) { count = value }
            return count
        }
        #expect(tables == 0)
    }

    @Test("two migrators starting together on one database both succeed, and apply once")
    func concurrentMigratorsBothComeUp() async throws {
        let owner = try await TestDatabase.shared.freshDatabase()
        let migrator = try TestDatabase.migrator(owner)
        async let first = migrator.migrate()
        async let second = migrator.migrate()
        let applied = try await [first, second]
        #expect(applied.map(\.count).sorted() == [0, migrator.migrations.count])
    }

    @Test("migration files are numbered without gaps")
    func bundledMigrationsAreNumbered() throws {
        let migrations = try Migration.bundled()
        #expect(!migrations.isEmpty)
        #expect(migrations.map(\.version) == Array(1...migrations.count))
        #expect(migrations.allSatisfy { $0.fileName.hasSuffix(".sql") })
    }
}
