import Foundation
import Logging
import PostgresNIO
import SwitchboardPostgres
import SwitchboardTestSupport
import Testing

@Suite("Embedded PostgreSQL launcher")
struct EmbeddedPostgresTests {
    let logger = TestDatabase.logger

    @Test("starts a cluster in a temporary home, reuses it with its data, and stops it")
    func startReuseStop() async throws {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-launcher-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: home) }
        let launcher = EmbeddedPostgres(home: home, durable: false, logger: logger)

        let first = try await launcher.start()
        #expect(first.startedHere)
        #expect(first.ownerConfiguration.host == "127.0.0.1")
        try await PostgresAdministration.withConnection(first.ownerConfiguration, logger: logger) { connection in
            try await connection.query("CREATE TABLE kept (note text)", logger: logger)
            try await connection.query("INSERT INTO kept VALUES ('still here')", logger: logger)
        }
        try await launcher.stop()
        #expect(try await launcher.isRunning() == false)

        // The second start reuses the cluster: no initdb, the data is there.
        let second = try await launcher.start()
        #expect(second.startedHere)
        let note = try await PostgresAdministration.withConnection(second.ownerConfiguration, logger: logger) { connection in
            try await connection.query("SELECT note FROM kept", logger: logger).strings()
        }
        #expect(note == ["still here"])
        // Autovacuum looks every few seconds, so a new cluster's tables are analyzed soon
        // after their first rows, and the plans made while they were empty are replaced.
        let naptime = try await PostgresAdministration.withConnection(second.ownerConfiguration, logger: logger) { connection in
            try await connection.query("SHOW autovacuum_naptime", logger: logger).strings()
        }
        #expect(naptime == ["\(EmbeddedPostgres.autovacuumNaptimeSeconds)s"])
        #expect(EmbeddedPostgres.autovacuumNaptimeSeconds < 60)

        // A start while it runs adopts the running server and will not stop it.
        let adopted = try await launcher.start()
        #expect(adopted.startedHere == false)
        #expect(adopted.ownerConfiguration.port == second.ownerConfiguration.port)

        try await launcher.stop()
        #expect(try await launcher.isRunning() == false)
    }

    @Test("the password file is private to the process's user")
    func passwordFileIsPrivate() async throws {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-launcher-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: home) }
        let launcher = EmbeddedPostgres(home: home, durable: false, logger: logger)
        _ = try await launcher.start()
        defer { launcher.stopBlocking() }
        let attributes = try FileManager.default.attributesOfItem(atPath: home.appendingPathComponent("pg.password").path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
    }
}
