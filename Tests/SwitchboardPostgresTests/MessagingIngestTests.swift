import Foundation
import Logging
import PostgresNIO
import SwitchboardCore
import SwitchboardPostgres
import SwitchboardTestSupport
import Testing

/// The ingest's rules for Meta's messaging events: the business's own echoes, unsends,
/// read watermarks, the messaging window's start and the profile look-up mark.
@Suite("Echoes, unsends, watermarks and windows in the ingest")
struct MessagingIngestTests {
    let logger = TestDatabase.logger

    func message(_ mid: String, from sender: String = "IGSID1", at time: Date, echo: Bool = false, lookup: Bool = false) -> IngestEvent {
        IngestEvent(
            kind: .message, eventID: mid, messageID: mid, sender: .init(externalID: sender),
            chat: .init(externalID: sender, kind: "direct"), text: "text of \(mid)", sentAt: time, fromBusiness: echo, lookupProfile: lookup
        )
    }

    func ingest(_ database: Database, _ route: ChannelRoute, _ events: [IngestEvent]) async throws -> [IngestResult] {
        try await PostgresIngestStore(database: database).ingest(batch: [IngestDelivery(route: route, payload: "batch", events: events)])[0]
    }

    func scalar<Value: PostgresDecodable & Sendable>(
        _ database: Database, _ route: ChannelRoute, _ sql: String, as type: Value.Type
    ) async throws -> Value? {
        try await database.withTenant(route.tenantID) { connection in
            for try await value in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger).decode(Value.self) { return value }
            return nil
        }
    }

    @Test("an echo of the business's own message is stored as sent, never answered, and does not open the window; the echo of one sent from here adds nothing")
    func echoes() async throws {
        try await withAppDatabase { database in
            let route = try await IngestFixtures.webhookRoute(database, tenantName: "echoes")
            let t0 = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 - 10 * 86400).rounded(.down))
            _ = try await ingest(database, route, [message("m.in", at: t0)])
            // Sent from the page's own inbox: stored as the business's, no reply job.
            _ = try await ingest(database, route, [message("m.echo", at: t0.addingTimeInterval(60), echo: true)])
            let tenant = route.tenantID.uuid.uuidString
            #expect(try await scalar(database, route, "SELECT direction FROM messages WHERE tenant_id = '\(tenant)' AND external_id = 'm.echo'", as: String.self) == "outbound")
            #expect(try await scalar(database, route, "SELECT delivery_status FROM messages WHERE tenant_id = '\(tenant)' AND external_id = 'm.echo'", as: String.self) == "sent")
            #expect(try await scalar(database, route, "SELECT count(*)::int FROM jobs WHERE tenant_id = '\(tenant)'", as: Int32.self) == 1, "only the inbound message has a reply job")
            let window = try await scalar(database, route, "SELECT extract(epoch FROM last_inbound_at)::float8 FROM conversations WHERE tenant_id = '\(tenant)'", as: Double.self)
            #expect(window == t0.timeIntervalSince1970, "the echo does not move the window")
            #expect(try await scalar(database, route, "SELECT count(*)::int FROM conversations WHERE tenant_id = '\(tenant)'", as: Int32.self) == 1)

            // A message sent from here, then its echo: one message.
            try await database.withTenant(route.tenantID) { connection in
                try await connection.query(
                    """
                    INSERT INTO messages (tenant_id, id, conversation_id, channel_id, direction, external_id, text, delivery_status)
                    SELECT tenant_id, gen_random_uuid(), id, channel_id, 'outbound', 'm.ours', 'ours', 'sent' FROM conversations
                    WHERE tenant_id = \(route.tenantID.uuid)
                    """,
                    logger: logger
                )
            }
            let echoed = try await ingest(database, route, [message("m.ours", at: t0.addingTimeInterval(120), echo: true)])
            #expect(echoed.first?.created == true)
            #expect(echoed.first?.messageID != nil, "the echo names the message it reports")
            #expect(try await scalar(database, route, "SELECT count(*)::int FROM messages WHERE tenant_id = '\(tenant)' AND external_id = 'm.ours'", as: Int32.self) == 1)
        }
    }

    @Test("an unsend marks the inbound message withdrawn; a read watermark moves every earlier sent message to read, not a later one")
    func unsendAndWatermark() async throws {
        try await withAppDatabase { database in
            let route = try await IngestFixtures.webhookRoute(database, tenantName: "unsend")
            let tenant = route.tenantID.uuid.uuidString
            let t0 = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 - 10 * 86400).rounded(.down))
            _ = try await ingest(database, route, [message("m.1", at: t0)])
            let deleted = try await ingest(database, route, [IngestEvent(kind: .delete, eventID: "delete:m.1", messageID: "m.1", sentAt: t0.addingTimeInterval(5))])
            #expect(deleted.first?.messageID != nil)
            #expect(try await scalar(database, route, "SELECT count(*)::int FROM messages WHERE tenant_id = '\(tenant)' AND deleted_at IS NOT NULL", as: Int32.self) == 1)
            #expect(try await scalar(database, route, "SELECT text FROM messages WHERE tenant_id = '\(tenant)' AND external_id = 'm.1'", as: String.self) == "text of m.1",
                    "the text stays as long as retention keeps messages")
            // Our two answers, one before the watermark and one after it.
            try await database.withTenant(route.tenantID) { connection in
                try await connection.query(
                    """
                    INSERT INTO messages (tenant_id, id, conversation_id, channel_id, direction, external_id, text, delivery_status, sent_at)
                    SELECT tenant_id, gen_random_uuid(), id, channel_id, 'outbound', x.mid, 'answer', 'sent', x.at FROM conversations,
                           (VALUES ('a.1', \(t0.addingTimeInterval(10))::timestamptz), ('a.2', \(t0.addingTimeInterval(100))::timestamptz)) x(mid, at)
                    WHERE tenant_id = \(route.tenantID.uuid)
                    """,
                    logger: logger
                )
            }
            _ = try await ingest(database, route, [
                IngestEvent(kind: .status, eventID: "read:IGSID1:1", chat: .init(externalID: "IGSID1", kind: "direct"), sentAt: t0.addingTimeInterval(50), status: "read")
            ])
            #expect(try await scalar(database, route, "SELECT delivery_status FROM messages WHERE tenant_id = '\(tenant)' AND external_id = 'a.1'", as: String.self) == "read")
            #expect(try await scalar(database, route, "SELECT delivery_status FROM messages WHERE tenant_id = '\(tenant)' AND external_id = 'a.2'", as: String.self) == "sent")
        }
    }

    @Test("the window starts at the platform's time of the contact's last message, never later than now; a sender without a name is marked for a profile look-up")
    func windowAndProfile() async throws {
        try await withAppDatabase { database in
            let route = try await IngestFixtures.webhookRoute(database, tenantName: "window")
            let tenant = route.tenantID.uuid.uuidString
            let past = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 - 3 * 3600).rounded(.down))
            _ = try await ingest(database, route, [message("m.1", at: past, lookup: true)])
            let start = try await scalar(database, route, "SELECT extract(epoch FROM last_inbound_at)::float8 FROM conversations WHERE tenant_id = '\(tenant)'", as: Double.self)
            #expect(start == past.timeIntervalSince1970)
            #expect(try await scalar(database, route, "SELECT count(*)::int FROM contacts WHERE tenant_id = '\(tenant)' AND profile_retry_at IS NOT NULL AND profile_channel_id IS NOT NULL", as: Int32.self) == 1)
            // A platform clock a year ahead cannot hold the window open.
            _ = try await ingest(database, route, [message("m.2", at: Date().addingTimeInterval(365 * 86400))])
            let moved = try #require(try await scalar(database, route, "SELECT extract(epoch FROM last_inbound_at)::float8 FROM conversations WHERE tenant_id = '\(tenant)'", as: Double.self))
            #expect(moved <= Date().timeIntervalSince1970 + 1)
            // A named sender, or a channel that looks up nothing, is not marked.
            var named = message("m.3", from: "IGSID2", at: past, lookup: true)
            named.sender?.name = "Aigerim"
            _ = try await ingest(database, route, [named, message("m.4", from: "IGSID3", at: past)])
            #expect(try await scalar(database, route, "SELECT count(*)::int FROM contacts WHERE tenant_id = '\(tenant)' AND profile_retry_at IS NOT NULL", as: Int32.self) == 1)
        }
    }
}
