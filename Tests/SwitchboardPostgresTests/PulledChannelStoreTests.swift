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
            let now = Date()
            _ = try await store.claimPulledChannel(b, owner: "r1", now: now, until: now.addingTimeInterval(40), logger: logger)
            try await store.savePullCursor(b, cursor: "uid:42", owner: "r1", logger: logger)

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
                try await store.savePullCursor(b, cursor: String(repeating: "x", count: 2049), owner: "r1", logger: logger)
            }
        }
    }

    @Test("one replica at a time holds a channel's lease; another takes it once it ran out or was given up, with the cursor committed last")
    func leases() async throws {
        try await withAppDatabase(ownDatabase: true) { database in
            let route = try await IngestFixtures.webhookRoute(database, tenantName: "lease")
            let store = PostgresChannelStore(database: database)
            let start = Date()
            let first = try await store.claimPulledChannel(route, owner: "r1", now: start, until: start.addingTimeInterval(40), logger: logger)
            #expect(first == PullClaim(cursor: nil))
            #expect(try await store.claimPulledChannel(route, owner: "r2", now: start.addingTimeInterval(39), until: start.addingTimeInterval(79), logger: logger) == nil)
            // r2 cannot move the cursor or the state of a channel it does not hold.
            try await store.savePullCursor(route, cursor: "7:10", owner: "r2", logger: logger)
            try await store.savePullCursor(route, cursor: "7:5", owner: "r1", logger: logger)
            try await store.recordPullState(route, PullState(phase: .failing, error: "login refused", retryAt: start, checkedAt: start), owner: "r1", logger: logger)
            try await store.recordPullState(route, PullState(phase: .connected, checkedAt: start), owner: "r2", logger: logger)
            let state = try await database.withTenant(route.tenantID) { connection -> String? in
                let rows = try await connection.query(
                    "SELECT pull_state || ' ' || pull_error || ' ' || pull_cursor FROM channels WHERE id = \(route.channelID.uuid)", logger: logger
                )
                for try await text in rows.decode(String.self) { return text }
                return nil
            }
            #expect(state == "failing login refused 7:5")
            // The lease ran out: r2 takes the channel, resuming from r1's cursor.
            let taken = try await store.claimPulledChannel(route, owner: "r2", now: start.addingTimeInterval(41), until: start.addingTimeInterval(81), logger: logger)
            #expect(taken == PullClaim(cursor: "7:5"))
            let listed = try await store.pulledChannels(kinds: ["webhook"], logger: logger).first { $0.route.channelID == route.channelID }
            #expect(listed?.owner == "r2")
            #expect(listed?.isClaimable(by: "r1", at: start.addingTimeInterval(42)) == false)
            // Given up: r1 may take it at once.
            try await store.releasePulledChannel(route, owner: "r2", logger: logger)
            #expect(try await store.claimPulledChannel(route, owner: "r1", now: start.addingTimeInterval(42), until: start.addingTimeInterval(82), logger: logger) != nil)
        }
    }

    @Test("a pulled batch's cursor is committed with its messages, and only by the lease's holder")
    func cursorMovesWithTheIngest() async throws {
        try await withAppDatabase(ownDatabase: true) { database in
            let route = try await IngestFixtures.webhookRoute(database, tenantName: "cursor")
            let store = PostgresChannelStore(database: database)
            let ingest = PostgresIngestStore(database: database)
            let now = Date()
            _ = try await store.claimPulledChannel(route, owner: "r1", now: now, until: now.addingTimeInterval(40), logger: logger)
            let event = IngestEvent(
                kind: .message, eventID: "<a@mail>", messageID: "<a@mail>", sender: .init(externalID: "ann@example.com"),
                chat: .init(externalID: "<a@mail>", kind: "direct"), text: "hello"
            )
            _ = try await ingest.ingest(batch: [IngestDelivery(route: route, payload: "", events: [event], cursor: "9:1", leaseOwner: "r1")])
            // A replica that lost the lease stores the messages (deduped later) but moves no cursor.
            let late = IngestEvent(
                kind: .message, eventID: "<b@mail>", messageID: "<b@mail>", sender: .init(externalID: "ann@example.com"),
                chat: .init(externalID: "<b@mail>", kind: "direct"), text: "again"
            )
            _ = try await ingest.ingest(batch: [IngestDelivery(route: route, payload: "", events: [late], cursor: "9:2", leaseOwner: "r0")])
            let claim = try await store.claimPulledChannel(route, owner: "r1", now: now, until: now.addingTimeInterval(40), logger: logger)
            #expect(claim?.cursor == "9:1")
        }
    }
}
