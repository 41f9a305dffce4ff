import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import NIOCore
import SwitchboardApp
import SwitchboardPostgres
import SwitchboardTestSupport
import Testing

@Suite("Database faults")
struct DatabaseFaultTests {
    let logger = TestDatabase.logger

    @Test("a database down at start-up is a clear error, not a crash")
    func downAtStartup() async throws {
        var configuration = try await testConfiguration()
        configuration.databaseURL = "postgres://nobody:pw@127.0.0.1:1/none?sslmode=disable"
        configuration.migrateOnStart = true
        let error = await #expect(throws: DatabaseError.self) {
            _ = try await Bootstrap.prepare(configuration, logger: logger)
        }
        #expect(error?.code == .unreachable)
        #expect(error?.message.contains("cannot connect to PostgreSQL at postgres://nobody@127.0.0.1:1/none") == true)
        #expect(error?.message.contains(":pw@") == false, "the password stays out of the message")
    }

    @Test("database lost while serving: /ready and requests answer 503, and the server recovers by itself")
    func lostWhileServing() async throws {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-fault-\(UUID().uuidString.prefix(8))")
        let launcher = EmbeddedPostgres(home: home, durable: false, logger: logger)
        let running = try await launcher.start()
        defer {
            launcher.stopBlocking()
            try? FileManager.default.removeItem(at: home)
        }
        var configuration = try await testConfiguration()
        configuration.databaseURL = running.ownerConfiguration.url
        configuration.migrateOnStart = true
        configuration.databaseAcquireTimeout = .milliseconds(300)
        let bootstrap = try await Bootstrap.prepare(configuration, logger: logger)
        let app = buildApplication(configuration, bootstrap: bootstrap, logger: logger)
        let port = running.ownerConfiguration.port

        try await app.test(.router) { client in
            let tenant = try await createTenant(client)
            try await client.execute(uri: "/v1/tenant", method: .get, headers: headers(bearer: tenant.key)) { response in
                #expect(response.status == .ok)
            }

            try await launcher.stop()
            let started = ContinuousClock.now
            try await client.execute(uri: "/ready", method: .get) { response in
                try expectError(response, .serviceUnavailable, "unavailable")
            }
            try await client.execute(uri: "/v1/tenant", method: .get, headers: headers(bearer: tenant.key)) { response in
                try expectError(response, .serviceUnavailable, "unavailable")
            }
            // Answered within the acquire timeout, not after the pool's minute-long breaker.
            #expect(ContinuousClock.now - started < .seconds(10))

            _ = try await EmbeddedPostgres(home: home, durable: false, port: port, logger: logger).start()
            // The pool reconnects on its own timer (postgres-nio's back-off, which cannot be
            // injected), so ask until it answers: bounded at 30 s, typically under a second.
            var status: HTTPResponse.Status = .serviceUnavailable
            let deadline = ContinuousClock.now + .seconds(30)
            while status != .ok, ContinuousClock.now < deadline {
                status = try await client.execute(uri: "/v1/tenant", method: .get, headers: headers(bearer: tenant.key)) { $0.status }
                if status != .ok { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(status == .ok)
            try await client.execute(uri: "/ready", method: .get) { response in
                #expect(response.status == .ok)
            }
        }
    }
}
