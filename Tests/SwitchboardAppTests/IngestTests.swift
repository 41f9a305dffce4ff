import ConnectorKit
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import SwitchboardApp
import SwitchboardTestSupport
import Testing
import WebhookConnector

@Suite("Ingest: deliveries through the live server, raw bytes")
struct IngestTests {
    @Test("a Telegram delivery lands once in the tenant's CRM, readable over the API, with a reply job")
    func telegramEndToEnd() async throws {
        try await withApp(.live) { client in
            let tenant = try await createTenant(client)
            let channel = try await createChannel(client, key: tenant.key, kind: "telegram", credentials: ["bot_token": botToken])
            let secret = try #require(channel.revealed["secret_token"])
            let update = try fixture("text_private")

            let first = try await deliver(client, channel: channel.id, body: update, headers: telegramHeaders(secret))
            #expect(first.status == .ok)
            // Telegram retries: the same update again changes nothing.
            let again = try await deliver(client, channel: channel.id, body: update, headers: telegramHeaders(secret))
            #expect(again.status == .ok)
            #expect(try object(again)["duplicates"] as? Int == 1)

            let contacts = try await listData(client, "/v1/contacts", key: tenant.key)
            #expect(contacts.count == 1)
            let contact = try #require(contacts.first)
            #expect(contact["display_name"] as? String == "Айгерим Сапарова")
            #expect(contact["username"] as? String == "aigerim_s")
            let identities = try #require(contact["identities"] as? [[String: Any]])
            #expect(identities.first?["external_id"] as? String == "520011223")
            #expect(identities.first?["channel_kind"] as? String == "telegram")

            let conversations = try await listData(client, "/v1/conversations?channel_id=\(channel.id)", key: tenant.key)
            #expect(conversations.count == 1)
            let conversationID = try #require(conversations.first?["id"] as? String)
            let messages = try await listData(client, "/v1/conversations/\(conversationID)/messages", key: tenant.key)
            #expect(messages.count == 1)
            #expect(messages.first?["text"] as? String == "Здравствуйте! Сколько стоит доставка в Астану?")
            #expect(messages.first?["direction"] as? String == "inbound")
            #expect(messages.first?["ai_generated"] as? Bool == false)

            #expect(try await ownerCount("SELECT count(*)::int FROM jobs WHERE tenant_id = '\(tenant.id)' AND kind = 'reply'") == 1)
            #expect(try await ownerCount("SELECT count(*)::int FROM inbound_events WHERE tenant_id = '\(tenant.id)' AND payload LIKE '%811000101%'") == 1)
        }
    }

    @Test("a wrong or missing secret is 401 and stores nothing")
    func badSecretStoresNothing() async throws {
        try await withApp(.live) { client in
            let tenant = try await createTenant(client)
            let channel = try await createChannel(client, key: tenant.key, kind: "telegram", credentials: ["bot_token": botToken])
            for headers in [telegramHeaders("wrong"), HTTPFields()] {
                let response = try await deliver(client, channel: channel.id, body: try fixture("text_private"), headers: headers)
                try expectError(response, .unauthorized, "unauthorized")
            }
            #expect(try await ownerCount("SELECT count(*)::int FROM inbound_events WHERE tenant_id = '\(tenant.id)'") == 0)
            #expect(try await ownerCount("SELECT count(*)::int FROM dead_letters WHERE tenant_id = '\(tenant.id)'") == 0)
            #expect(try await listData(client, "/v1/contacts", key: tenant.key).isEmpty)
        }
    }

    @Test("unknown, deleted and disabled channels are 404; oversized bodies 413")
    func channelStatesAndLimits() async throws {
        try await withApp(.live) { client in
            let tenant = try await createTenant(client)
            let unknown = try await deliver(client, channel: UUID().uuidString.lowercased(), body: try fixture("text_private"), headers: telegramHeaders("x"))
            try expectError(unknown, .notFound, "not_found")
            let notAnID = try await deliver(client, channel: "nope", body: try fixture("text_private"), headers: telegramHeaders("x"))
            try expectError(notAnID, .notFound, "not_found")

            let channel = try await createChannel(client, key: tenant.key, kind: "telegram", credentials: ["bot_token": botToken])
            let secret = try #require(channel.revealed["secret_token"])
            let huge = [UInt8](repeating: 0x20, count: (4 << 20) + 1)
            try expectError(try await deliver(client, channel: channel.id, body: huge, headers: telegramHeaders(secret)), .contentTooLarge, "payload_too_large")

            _ = try await client.execute(uri: "/v1/channels/\(channel.id)", method: .patch, headers: headers(bearer: tenant.key), body: json(["enabled": false])) { $0 }
            try expectError(try await deliver(client, channel: channel.id, body: try fixture("text_private"), headers: telegramHeaders(secret)), .notFound, "not_found")
            _ = try await client.execute(uri: "/v1/channels/\(channel.id)", method: .delete, headers: headers(bearer: tenant.key, json: false)) { $0 }
            try expectError(try await deliver(client, channel: channel.id, body: try fixture("text_private"), headers: telegramHeaders(secret)), .notFound, "not_found")
            #expect(try await ownerCount("SELECT count(*)::int FROM inbound_events WHERE tenant_id = '\(tenant.id)'") == 0)
        }
    }

    @Test("a signed but unreadable delivery is 400 and kept as a dead letter")
    func deadLetters() async throws {
        try await withApp(.live) { client in
            let tenant = try await createTenant(client)
            let channel = try await createChannel(client, key: tenant.key, kind: "telegram", credentials: ["bot_token": botToken])
            let secret = try #require(channel.revealed["secret_token"])
            for body in [Array("{not json".utf8), Array(#"{"message": {"text": "no update id"}}"#.utf8)] {
                let response = try await deliver(client, channel: channel.id, body: body, headers: telegramHeaders(secret))
                try expectError(response, .badRequest, "invalid_request")
            }
            #expect(try await ownerCount("SELECT count(*)::int FROM dead_letters WHERE tenant_id = '\(tenant.id)' AND channel_id = '\(channel.id)'") == 2)
            #expect(try await ownerCount("SELECT count(*)::int FROM inbound_events WHERE tenant_id = '\(tenant.id)'") == 0)
        }
    }

    @Test("kinds Switchboard does not handle are 200 and recorded as ignored; edits keep their history")
    func ignoredAndEdited() async throws {
        try await withApp(.live) { client in
            let tenant = try await createTenant(client)
            let channel = try await createChannel(client, key: tenant.key, kind: "telegram", credentials: ["bot_token": botToken])
            let secret = try #require(channel.revealed["secret_token"])
            for name in ["text_private", "edited_text", "my_chat_member"] {
                let response = try await deliver(client, channel: channel.id, body: try fixture(name), headers: telegramHeaders(secret))
                #expect(response.status == .ok, "\(name)")
            }
            #expect(try await ownerCount("SELECT count(*)::int FROM inbound_events WHERE tenant_id = '\(tenant.id)' AND kind = 'ignored' AND ignored_reason = 'my_chat_member'") == 1)
            let conversation = try #require(try await listData(client, "/v1/conversations", key: tenant.key).first?["id"] as? String)
            let messages = try await listData(client, "/v1/conversations/\(conversation)/messages", key: tenant.key)
            #expect(messages.count == 1)
            #expect(messages.first?["text"] as? String == "Здравствуйте! Сколько стоит доставка в Алматы?")
            #expect(messages.first?["edited_at"] is String)
            #expect(try await ownerCount(
                "SELECT count(*)::int FROM message_edits WHERE tenant_id = '\(tenant.id)' AND previous_text = 'Здравствуйте! Сколько стоит доставка в Астану?'"
            ) == 1)
            #expect(try await ownerCount("SELECT count(*)::int FROM jobs WHERE tenant_id = '\(tenant.id)'") == 1, "edits and ignored kinds enqueue no reply")
        }
    }

    @Test("concurrent first messages of one new sender make one contact; concurrent replays one message")
    func concurrentDeliveries() async throws {
        // Many connections (AsyncHTTPClient) and no group commit: each delivery is its own
        // transaction, racing the others for the new sender's identity.
        try await withApp(.ahc(.http), configure: { $0.ingestBatch = 1 }) { client in
            let tenant = try await createTenant(client)
            let channel = try await createChannel(client, key: tenant.key, kind: "telegram", credentials: ["bot_token": botToken])
            let secret = try #require(channel.revealed["secret_token"])
            let userID = Int.random(in: 100_000...999_999_999)
            try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for index in 0..<16 {
                    group.addTask {
                        let body = telegramUpdate(updateID: 900_000 + index, userID: userID, messageID: index, text: "message \(index)")
                        return try await deliver(client, channel: channel.id, body: body, headers: telegramHeaders(secret)).status
                    }
                }
                let replay = telegramUpdate(updateID: 950_000, userID: userID, messageID: 99, text: "replayed")
                for _ in 0..<8 {
                    group.addTask { try await deliver(client, channel: channel.id, body: replay, headers: telegramHeaders(secret)).status }
                }
                for try await status in group { #expect(status == .ok) }
            }
            #expect(try await ownerCount("SELECT count(*)::int FROM contacts WHERE tenant_id = '\(tenant.id)'") == 1)
            #expect(try await ownerCount("SELECT count(*)::int FROM conversations WHERE tenant_id = '\(tenant.id)'") == 1)
            #expect(try await ownerCount("SELECT count(*)::int FROM messages WHERE tenant_id = '\(tenant.id)'") == 17)
            #expect(try await ownerCount("SELECT count(*)::int FROM messages WHERE tenant_id = '\(tenant.id)' AND text = 'replayed'") == 1)
        }
    }

    @Test("any Unicode is stored exactly: RTL, emoji, zero-width, 4096 characters")
    func unicodeIsExact() async throws {
        try await withApp(.live) { client in
            let tenant = try await createTenant(client)
            let channel = try await createChannel(client, key: tenant.key, kind: "telegram", credentials: ["bot_token": botToken])
            let secret = try #require(channel.revealed["secret_token"])
            let pieces = ["مرحبا", "👩🏽‍💻", "\u{200B}", "\u{200D}", "\u{202E}", "Қазақ", "e\u{301}", "🇰🇿", " "]
            var text = ""
            var index = 0
            while text.utf16.count < 4096 - 8 {
                text += pieces[index % pieces.count]
                index += 1
            }
            let response = try await deliver(client, channel: channel.id, body: telegramUpdate(updateID: 4096, text: text), headers: telegramHeaders(secret))
            #expect(response.status == .ok)
            let conversation = try #require(try await listData(client, "/v1/conversations", key: tenant.key).first?["id"] as? String)
            let stored = try #require(try await listData(client, "/v1/conversations/\(conversation)/messages", key: tenant.key).first?["text"] as? String)
            #expect(Array(stored.unicodeScalars) == Array(text.unicodeScalars))
        }
    }

    @Test("WhatsApp: the verification GET, a signed message, and a refused signature")
    func whatsapp() async throws {
        try await withApp(.live) { client in
            let tenant = try await createTenant(client)
            let appSecret = "wa-app-secret-for-tests-0123456789"
            let channel = try await createChannel(client, key: tenant.key, kind: "whatsapp", credentials: [
                "phone_number_id": "106540352242922", "access_token": "EAAG-test", "app_secret": appSecret, "verify_token": "verify-me-long-enough",
            ])
            try await client.execute(
                uri: "/hooks/\(channel.id)?hub.mode=subscribe&hub.verify_token=verify-me-long-enough&hub.challenge=1158201444", method: .get
            ) { response in
                #expect(response.status == .ok)
                #expect(String(decoding: response.body.readableBytesView, as: UTF8.self) == "1158201444")
            }
            try await client.execute(uri: "/hooks/\(channel.id)?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1", method: .get) { response in
                try expectError(response, .unauthorized, "unauthorized")
            }
            let body = try fixture("text")
            var signed = HTTPFields()
            signed[HTTPField.Name("X-Hub-Signature-256")!] = "sha256=" + Signature.hmacSHA256Hex(message: body, key: Array(appSecret.utf8))
            #expect(try await deliver(client, channel: channel.id, body: body, headers: signed).status == .ok)
            var forged = HTTPFields()
            forged[HTTPField.Name("X-Hub-Signature-256")!] = "sha256=" + Signature.hmacSHA256Hex(message: body, key: Array("other".utf8))
            try expectError(try await deliver(client, channel: channel.id, body: body, headers: forged), .unauthorized, "unauthorized")

            let contacts = try await listData(client, "/v1/contacts?q=77011234567", key: tenant.key)
            #expect(contacts.count == 1)
            #expect(contacts.first?["display_name"] as? String == "Nurlan")
        }
    }

    @Test("the generic webhook: a signed event within the replay window is stored, a stale one refused")
    func genericWebhook() async throws {
        let now = Date(timeIntervalSince1970: 1_763_900_000)
        let configuration = try await testConfiguration()
        let bootstrap = try await Bootstrap.prepare(configuration, logger: TestDatabase.logger)
        let app = buildApplication(configuration, bootstrap: bootstrap, logger: TestDatabase.logger, now: { now })
        try await app.test(.live) { client in
            let tenant = try await createTenant(client)
            let channel = try await createChannel(client, key: tenant.key, kind: "webhook", credentials: ["callback_url": "https://crm.example.kz/inbox"])
            let secret = try #require(channel.revealed["signing_secret"])
            let body = try fixture("webhook_generic")
            func signed(at time: Date) -> HTTPFields {
                var fields = HTTPFields()
                fields[HTTPField.Name("X-Switchboard-Signature")!] = WebhookConnector.signatureHeader(
                    secret: secret, timestamp: time, body: body
                )
                return fields
            }
            try expectError(try await deliver(client, channel: channel.id, body: body, headers: signed(at: now - 301)), .unauthorized, "unauthorized")
            #expect(try await deliver(client, channel: channel.id, body: body, headers: signed(at: now - 300)).status == .ok)
            let contacts = try await listData(client, "/v1/contacts?q=dana", key: tenant.key)
            #expect(contacts.first?["email"] as? String == "dana@example.kz")
        }
    }
}
