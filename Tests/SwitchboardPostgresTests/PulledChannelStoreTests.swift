import Foundation
import Logging
import PostgresNIO
import SwitchboardCore
import SwitchboardPostgres
import SwitchboardTestSupport
import Testing

@Suite("Pulled channels in PostgreSQL")
struct PulledChannelStoreTests {
    let logger = TestDatabase.logger

    @Test("the live channels of the pulled kinds are listed across tenants with their cursors; a disabled or deleted one is not")
    func listsLiveChannels() async throws {
        try await withAppDatabase(ownDatabase: true) { database in
            let a = try await IngestFixtures.webhookRoute(database, tenantName: "A")
            let b = try await IngestFixtures.webhookRoute(database, tenantName: "B")
            let disabled = try await IngestFixtures.webhookRoute(database, tenantName: "C")
            let deleted = try await IngestFixtures.webhookRoute(database, tenantName: "D")
            let store = PostgresChannelStore(database: database)
            _ = try await store.update(disabled.tenantID, disabled.channelID, ChannelChanges(enabled: false))
            try await store.delete(deleted.tenantID, deleted.channelID)
            try await store.savePullCursor(b, cursor: "uid:42", logger: logger)

            let listed = try await store.pulledChannels(kinds: ["webhook"], logger: logger)
            #expect(Set(listed.map(\.route.channelID)) == [a.channelID, b.channelID])
            #expect(listed.first { $0.route.channelID == b.channelID }?.cursor == "uid:42")
            #expect(listed.first { $0.route.channelID == a.channelID }?.cursor == nil)
            #expect(listed.allSatisfy { $0.route.sealedCredentials == [1, 2, 3] })
            #expect(try await store.pulledChannels(kinds: ["email"], logger: logger).isEmpty)

            // Outside the function, the app role with no scope still sees no channel.
            let visible = try await database.withoutScope { connection in
                try await connection.integer("SELECT count(*)::int FROM channels", logger: logger)
            }
            #expect(visible == 0)
            // A cursor from outside is bounded by the schema.
            await #expect(throws: (any Error).self) {
                try await store.savePullCursor(a, cursor: String(repeating: "x", count: 2049), logger: logger)
            }
        }
    }
}
