import Foundation
import Logging
import PostgresNIO
import SwitchboardPostgres
import SwitchboardTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

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

    @Test("starts from a folder only its owner may enter, as `make run` does from /root or a mktemp -d folder")
    func startsFromAPrivateFolder() async throws {
        let parent = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-private-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: parent, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        let home = parent.appendingPathComponent(".switchboard")
        let launcher = EmbeddedPostgres(home: home, durable: false, logger: logger)
        defer {
            launcher.stopBlocking()
            // The cluster may live outside the home (the `postgres` user cannot enter it): remove it too.
            try? FileManager.default.removeItem(at: launcher.dataDirectory.deletingLastPathComponent())
            try? FileManager.default.removeItem(at: parent)
        }

        let running = try await launcher.start()
        #expect(running.startedHere)
        let answer = try await PostgresAdministration.withConnection(running.ownerConfiguration, logger: logger) { connection in
            try await connection.query("SELECT 'up'", logger: logger).strings()
        }
        #expect(answer == ["up"])
        if getuid() == 0 {
            // Root runs the server as `postgres`, who cannot pass the 0700 folder: the cluster is
            // kept where that user can reach it, and home/pg names it.
            let link = try FileManager.default.destinationOfSymbolicLink(atPath: home.appendingPathComponent("pg").path)
            #expect(!link.hasPrefix(parent.path))
            #expect(launcher.dataDirectory.path == link)
        } else {
            #expect(launcher.dataDirectory == home.appendingPathComponent("pg", isDirectory: true))
        }
        // The password stays in the home, readable by its owner alone.
        let attributes = try FileManager.default.attributesOfItem(atPath: home.appendingPathComponent("pg.password").path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)

        // A second start finds the same cluster through the link and adopts the running server.
        let again = try await launcher.start()
        #expect(again.startedHere == false)
        #expect(again.ownerConfiguration.port == running.ownerConfiguration.port)
    }
}
