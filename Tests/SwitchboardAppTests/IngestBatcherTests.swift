import Foundation
import Logging
import PostgresNIO
@testable import SwitchboardApp
import SwitchboardCore
import SwitchboardPipeline
import SwitchboardPostgres
import SwitchboardTestSupport
import Testing

@Suite("Group commit of deliveries")
struct IngestBatcherTests {
    /// A database handle of the app role on the shared test database, with its pool running.
    func withDatabase<Result: Sendable>(_ body: @Sendable (Database) async throws -> Result) async throws -> Result {
        let owner = try await TestDatabase.shared.sharedDatabase()
        let database = Database(
            configuration: owner.with(username: Migrator.appRole, password: TestDatabase.appRolePassword),
            maximumConnections: 4, logger: TestDatabase.logger
        )
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await database.client.run() }
            defer { group.cancelAll() }
            return try await body(database)
        }
    }

    func route(_ database: Database, tenantName: String) async throws -> ChannelRoute {
        try await IngestFixtures.webhookRoute(database, tenantName: tenantName)
    }

    func delivery(_ route: ChannelRoute, event: String, sender: String) -> IngestDelivery {
        IngestFixtures.message(route, event: event, sender: sender, text: "hi \(event)")
    }

    @Test("deliveries of two tenants in one transaction each land in their own tenant")
    func batchAcrossTenants() async throws {
        try await withDatabase { database in
            let a = try await route(database, tenantName: "A")
            let b = try await route(database, tenantName: "B")
            let store = PostgresIngestStore(database: database)
            let results = try await store.ingest(batch: [
                delivery(a, event: "e1", sender: "s1"), delivery(b, event: "e1", sender: "s1"), delivery(a, event: "e1", sender: "s1"),
            ])
            #expect(results.map { $0.map(\.created) } == [[true], [true], [false]], "the third is a duplicate of the first")
            let countA = try await database.withTenant(a.tenantID) { connection in
                var count = 0
                for try await value in try await connection.query("SELECT count(*)::int FROM messages", logger: TestDatabase.logger).decode(Int.self) { count = value }
                return count
            }
            let countB = try await database.withTenant(b.tenantID) { connection in
                var count = 0
                for try await value in try await connection.query("SELECT count(*)::int FROM messages", logger: TestDatabase.logger).decode(Int.self) { count = value }
                return count
            }
            #expect(countA == 1)
            #expect(countB == 1)
        }
    }

    @Test("a delivery that fails its shared transaction costs the others nothing")
    func failedBatchFallsBack() async throws {
        try await withDatabase { database in
            let good = try await route(database, tenantName: "Good")
            // A channel that does not exist: its delivery breaks the batch's foreign key.
            var broken = good
            broken.channelID = ChannelID()
            let batcher = IngestBatcher(store: PostgresIngestStore(database: database), maximumBatch: 64, maximumInFlight: 1)
            let outcomes = await withTaskGroup(of: Bool.self) { group in
                for index in 0..<12 {
                    let target = index == 5 ? broken : good
                    let item = delivery(target, event: "evt-\(index)", sender: "sender-\(index % 3)")
                    group.addTask { (try? await batcher.ingest(item, logger: TestDatabase.logger)) != nil }
                }
                var outcomes: [Bool] = []
                for await outcome in group { outcomes.append(outcome) }
                return outcomes
            }
            #expect(outcomes.filter { $0 }.count == 11)
            #expect(outcomes.filter { !$0 }.count == 1)
            let stored = try await database.withTenant(good.tenantID) { connection in
                var count = 0
                for try await value in try await connection.query("SELECT count(*)::int FROM messages", logger: TestDatabase.logger).decode(Int.self) { count = value }
                return count
            }
            #expect(stored == 11)
        }
    }
}
