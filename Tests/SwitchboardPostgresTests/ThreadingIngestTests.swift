import Foundation
import Logging
import PostgresNIO
import SwitchboardCore
import SwitchboardPostgres
import SwitchboardTestSupport
import Testing

/// The ingest's rules for channels whose messages name the ones they answer (a mailbox):
/// which conversation a message joins, and which messages are stored but never answered.
@Suite("Threads and unanswered messages in the ingest")
struct ThreadingIngestTests {
    let logger = TestDatabase.logger

    func mail(
        _ id: String, from sender: String = "ann@example.com", root: String? = nil, subject: String = "Order 17",
        keys: [String] = [], noReply: String? = nil, replyLimit: Int? = nil
    ) -> IngestEvent {
        IngestEvent(
            kind: .message, eventID: id, messageID: id, sender: .init(externalID: sender, email: sender),
            chat: .init(externalID: root ?? id, kind: "direct", title: subject), text: "text of \(id)", payload: "raw \(id)",
            threadKeys: keys, matchTitle: true, noReply: noReply, replyLimit: replyLimit
        )
    }

    /// Each message's conversation, reply status and reply error, and whether it has a job.
    func stored(_ database: Database, _ route: ChannelRoute, _ events: [IngestEvent]) async throws -> [String: (UUID, String?, String?, Bool)] {
        let ingest = PostgresIngestStore(database: database)
        let results = try await ingest.ingest(batch: [IngestDelivery(route: route, payload: "batch", events: events)])
        #expect(results.first?.allSatisfy(\.created) == true)
        return try await database.withTenant(route.tenantID) { connection in
            var found: [String: (UUID, String?, String?, Bool)] = [:]
            let rows = try await connection.query(
                """
                SELECT m.external_id, m.conversation_id, m.reply_status, m.reply_error,
                       EXISTS (SELECT 1 FROM jobs j WHERE j.tenant_id = m.tenant_id AND j.message_id = m.id)
                FROM messages m WHERE m.tenant_id = \(route.tenantID.uuid) AND m.channel_id = \(route.channelID.uuid)
                """,
                logger: logger
            )
            for try await (id, conversation, status, error, job) in rows.decode((String, UUID, String?, String?, Bool).self) {
                found[id] = (conversation, status, error, job)
            }
            return found
        }
    }

    @Test("a reply joins the conversation of the message it names, then of its subject and sender; a new subject starts another")
    func threads() async throws {
        try await withAppDatabase { database in
            let route = try await IngestFixtures.webhookRoute(database, tenantName: "threads")
            let first = try await stored(database, route, [mail("<m1@x>")])
            // In-Reply-To names the first; its own root differs (Outlook keeps no References).
            let second = try await stored(database, route, [mail("<m2@x>", root: "<other@x>", keys: ["<m1@x>"])])
            // No references at all, same subject and sender: the subject rule.
            let third = try await stored(database, route, [mail("<m3@x>")])
            // Same sender, another subject: a conversation of its own.
            let fourth = try await stored(database, route, [mail("<m4@x>", subject: "Refund")])
            // Another sender, same subject: not Ann's conversation.
            let fifth = try await stored(database, route, [mail("<m5@x>", from: "bob@example.com")])
            let conversation = try #require(first["<m1@x>"]?.0)
            #expect(second["<m2@x>"]?.0 == conversation)
            #expect(third["<m3@x>"]?.0 == conversation)
            #expect(fourth["<m4@x>"]?.0 != conversation)
            #expect(fifth["<m5@x>"]?.0 != conversation)
            #expect(fifth["<m5@x>"]?.0 != fourth["<m4@x>"]?.0)
            // Each mail keeps its own raw form, not the batch's.
            let payloads = try await database.withTenant(route.tenantID) { connection in
                try await connection.integer(
                    "SELECT count(*)::int FROM inbound_events WHERE tenant_id = \(route.tenantID.uuid) AND payload LIKE 'raw <m%'", logger: logger
                )
            }
            #expect(payloads == 5)
        }
    }

    @Test("an auto-reply is stored as skipped with its reason and no job; past the hour's limit a contact's messages are too")
    func unanswered() async throws {
        try await withAppDatabase { database in
            let route = try await IngestFixtures.webhookRoute(database, tenantName: "loops")
            let auto = try await stored(database, route, [mail("<a1@x>", noReply: "auto_reply:auto-submitted")])
            #expect(auto["<a1@x>"]?.1 == "skipped")
            #expect(auto["<a1@x>"]?.2 == "auto_reply:auto-submitted")
            #expect(auto["<a1@x>"]?.3 == false)

            let limited = try await stored(database, route, (1...4).map { mail("<l\($0)@x>", from: "bot@example.com", replyLimit: 3) })
            #expect((1...3).allSatisfy { limited["<l\($0)@x>"]?.3 == true }, "the first three are answered")
            #expect(limited["<l4@x>"]?.3 == false)
            #expect(limited["<l4@x>"]?.2 == "reply_rate_limited")
            // The limit is the contact's: another sender is still answered.
            let other = try await stored(database, route, [mail("<o1@x>", from: "carol@example.com", replyLimit: 3)])
            #expect(other["<o1@x>"]?.3 == true)
        }
    }
}
