import ConnectorKit
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import PostgresNIO
import SwitchboardApp
import SwitchboardCore
import SwitchboardPostgres
import SwitchboardTestSupport
import Testing
import WebhookConnector

@Suite("Inbound text: bytes PostgreSQL refuses, platform length limits, a bounded reply context")
struct InboundTextTests {
    /// A generic webhook event signed now with `secret`.
    func signed(_ body: [UInt8], secret: String) -> HTTPFields {
        var fields = HTTPFields()
        fields[HTTPField.Name("X-Switchboard-Signature")!] = WebhookConnector.signatureHeader(secret: secret, timestamp: Date(), body: body)
        return fields
    }

    @Test("a NUL in a webhook's text and sender name is stored as U+FFFD with a 200, not a 500 redelivered forever")
    func nulThroughTheGenericWebhook() async throws {
        try await withApp(.live) { client in
            let tenant = try await createTenant(client)
            let channel = try await createChannel(client, key: tenant.key, kind: "webhook", credentials: [:])
            let secret = try #require(channel.revealed["signing_secret"])
            let body = Array(#"{"event_id":"nul-1","sender":{"id":"s\u0000 1","name":"Da\u0000na"},"text":"before\u0000after"}"#.utf8)
            let response = try await deliver(client, channel: channel.id, body: body, headers: signed(body, secret: secret))
            #expect(response.status == .ok, "\(String(buffer: response.body))")
            // The messenger's redelivery is a duplicate, not a second failure.
            let again = try await deliver(client, channel: channel.id, body: body, headers: signed(body, secret: secret))
            #expect(try object(again)["duplicates"] as? Int == 1)

            let contact = try #require(try await listData(client, "/v1/contacts", key: tenant.key).first)
            #expect(contact["display_name"] as? String == "Da\u{FFFD}na")
            let conversation = try #require(try await listData(client, "/v1/conversations", key: tenant.key).first?["id"] as? String)
            let message = try #require(try await listData(client, "/v1/conversations/\(conversation)/messages", key: tenant.key).first)
            #expect(message["text"] as? String == "before\u{FFFD}after")
        }
    }

    @Test("a NUL in a Telegram text is stored as U+FFFD with a 200")
    func nulThroughTelegram() async throws {
        try await withApp(.live) { client in
            let tenant = try await createTenant(client)
            let channel = try await createChannel(client, key: tenant.key, kind: "telegram", credentials: ["bot_token": botToken])
            let secret = try #require(channel.revealed["secret_token"])
            let body = telegramUpdate(updateID: 7001, text: "a\u{0}b", name: "Ai\u{0}gerim")
            let response = try await deliver(client, channel: channel.id, body: body, headers: telegramHeaders(secret))
            #expect(response.status == .ok, "\(String(buffer: response.body))")
            #expect(try await ownerCount(
                "SELECT count(*)::int FROM messages WHERE tenant_id = '\(tenant.id)' AND text = 'a' || chr(65533) || 'b'") == 1)
            #expect(try await ownerCount(
                "SELECT count(*)::int FROM contacts WHERE tenant_id = '\(tenant.id)' AND display_name = 'Ai' || chr(65533) || 'gerim'") == 1)
        }
    }

    @Test("a text longer than the channel kind allows is 400 naming the field, kept as a dead letter, not stored")
    func oversizedText() async throws {
        try await withApp(.live) { client in
            let tenant = try await createTenant(client)
            let webhook = try await createChannel(client, key: tenant.key, kind: "webhook", credentials: [:])
            let secret = try #require(webhook.revealed["signing_secret"])
            let long = String(repeating: "ж", count: 16_385)  // 32,770 bytes of UTF-8
            let body = Array(try JSONSerialization.data(withJSONObject: ["event_id": "long-1", "sender": ["id": "s1"], "text": long]))
            let refused = try await deliver(client, channel: webhook.id, body: body, headers: signed(body, secret: secret))
            try expectError(refused, .badRequest, "invalid_request")
            #expect(try object(refused)["error"].flatMap { ($0 as? [String: Any])?["field"] as? String } == "text")
            let fits = Array(try JSONSerialization.data(withJSONObject: [
                "event_id": "long-2", "sender": ["id": "s1"], "text": String(repeating: "ж", count: 16_384),
            ]))
            #expect(try await deliver(client, channel: webhook.id, body: fits, headers: signed(fits, secret: secret)).status == .ok)

            let telegram = try await createChannel(client, key: tenant.key, kind: "telegram", credentials: ["bot_token": botToken])
            let token = try #require(telegram.revealed["secret_token"])
            let tooLong = telegramUpdate(updateID: 9001, text: String(repeating: "a", count: 4097))
            try expectError(try await deliver(client, channel: telegram.id, body: tooLong, headers: telegramHeaders(token)), .badRequest, "invalid_request")
            let atLimit = telegramUpdate(updateID: 9002, text: String(repeating: "a", count: 4096))
            #expect(try await deliver(client, channel: telegram.id, body: atLimit, headers: telegramHeaders(token)).status == .ok)

            #expect(try await ownerCount("SELECT count(*)::int FROM dead_letters WHERE tenant_id = '\(tenant.id)'") == 2)
            #expect(try await ownerCount("SELECT count(*)::int FROM messages WHERE tenant_id = '\(tenant.id)'") == 2)
        }
    }

    @Test("the reply context keeps the newest history within 256 KiB, each text cut at 16,384 characters")
    func replyContextIsBounded() async throws {
        try await withApp(.live) { client in
            let tenant = try await createTenant(client)
            let channel = try await createChannel(client, key: tenant.key, kind: "telegram", credentials: ["bot_token": botToken])
            let secret = try #require(channel.revealed["secret_token"])
            _ = try await deliver(client, channel: channel.id, body: telegramUpdate(updateID: 1, text: "first"), headers: telegramHeaders(secret))
            // Forty texts of 100,000 characters (stored before inbound texts were capped, or
            // by the API): the history the count allows (20) was 2 MB.
            _ = try await ownerCount("""
                WITH c AS (SELECT id, channel_id, contact_id FROM conversations WHERE tenant_id = '\(tenant.id)')
                INSERT INTO messages (tenant_id, id, conversation_id, channel_id, contact_id, direction, text)
                SELECT '\(tenant.id)', gen_random_uuid(), c.id, c.channel_id, c.contact_id, 'inbound', repeat('x', 100000)
                FROM c, generate_series(1, 40) RETURNING 0
                """)
            _ = try await deliver(client, channel: channel.id, body: telegramUpdate(updateID: 2, messageID: 18, text: "newest"), headers: telegramHeaders(secret))
            let document = """
                reply_context('\(tenant.id)', (SELECT id FROM messages WHERE tenant_id = '\(tenant.id)' AND text = 'newest'))
                """
            let size = try await ownerCount("SELECT octet_length((\(document))::text)")
            #expect(size > 200_000 && size < 300_000, "the document is \(size) bytes")
            #expect(try await ownerCount("SELECT max(length(h->>'text'))::int FROM jsonb_array_elements((\(document))->'history') h") == 16_384)
            #expect(try await ownerCount(
                "SELECT count(*)::int FROM jsonb_array_elements((\(document))->'history') h WHERE h->>'text' = 'newest'") == 1)
            #expect(try await ownerCount("SELECT jsonb_array_length((\(document))->'history')") == 16)
        }
    }

    @Test("a database error's log detail names its SQLSTATE and never the value PostgreSQL quotes")
    func logDetailQuotesNoValue() async throws {
        let owner = try await TestDatabase.shared.sharedDatabase()
        let error: any Error = try await PostgresAdministration.withConnection(owner, logger: TestDatabase.logger) { connection in
            do {
                _ = try await connection.query("SELECT 'a customer wrote this'::uuid", logger: TestDatabase.logger)
                Issue.record("the cast succeeded")
                return CancellationError()
            } catch {
                return error
            }
        }
        #expect(String(reflecting: error).contains("a customer wrote this"), "the test shows what would leak")
        let detail = Database.logDetail(SwitchboardError(.internalError, "x", underlying: error))
        #expect(!detail.contains("a customer wrote this"))
        #expect(detail.contains("sqlstate=22P02"))
    }
}
