import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import PostgresNIO
import SwitchboardApp
import SwitchboardPostgres
import SwitchboardProviders
import SwitchboardProvidersTesting
import SwitchboardTestSupport
import Testing

@Suite("Data protection: the audit journal, consents, restriction, regions, redaction, the policy")
struct PrivacyTests {
    func post(_ client: any TestClientProtocol, _ uri: String, key: String, _ body: [String: Any]? = nil) async throws -> TestResponse {
        try await client.execute(uri: uri, method: .post, headers: headers(bearer: key), body: body.map(json)) { $0 }
    }

    func policy(_ client: any TestClientProtocol, key: String, _ body: [String: Any]) async throws -> TestResponse {
        try await client.execute(uri: "/v1/privacy/policy", method: .put, headers: headers(bearer: key), body: json(body)) { $0 }
    }

    @Test("reads and changes of a contact are journaled by their API key in one hash chain; verify finds an edited entry")
    func auditJournal() async throws {
        try await withApp { client in
            let seeded = try await seededTenant(client, senders: [(555_101, "Dana")])
            let key = seeded.tenant.key
            let contact = try #require(try await listData(client, "/v1/contacts", key: key).first?["id"] as? String)
            #expect(try await client.execute(uri: "/v1/contacts/\(contact)", method: .get, headers: headers(bearer: key)) { $0 }.status == .ok)
            #expect(try await client.execute(
                uri: "/v1/contacts/\(contact)", method: .patch, headers: headers(bearer: key), body: json(["email": "dana@example.kz"])
            ) { $0 }.status == .ok)
            #expect(try await post(client, "/v1/contacts/\(contact)/notes", key: key, ["body": "prefers calls"]).status == .created)
            // A failed change is not journaled as done.
            let bad = try await client.execute(
                uri: "/v1/contacts/\(contact)", method: .patch, headers: headers(bearer: key), body: json(["bogus": 1])
            ) { $0 }
            #expect(bad.status == .badRequest)

            let entries = try await listData(client, "/v1/audit-log?subject_kind=contact&subject_id=\(contact)", key: key)
            #expect(entries.map { $0["action"] as? String } == [
                "POST /v1/contacts/{id}/notes", "PATCH /v1/contacts/{id}", "GET /v1/contacts/{id}",
            ])
            #expect(entries.allSatisfy { ($0["actor"] as? String)?.hasPrefix("api_key:") == true })
            #expect(!String(describing: entries).contains("dana@example.kz"), "the journal holds no values")
            let all = try await listData(client, "/v1/audit-log", key: key)
            #expect(all.count == 4, "the list of contacts is journaled too")
            var verify = try await client.execute(uri: "/v1/audit-log/verify", method: .get, headers: headers(bearer: key)) { try object($0) }
            #expect(verify["intact"] as? Bool == true)
            #expect(verify["checked"] as? Int == 4)

            // Someone with the database's keys edits an entry behind the API's back.
            let owner = try await TestDatabase.shared.sharedDatabase()
            try await PostgresAdministration.withConnection(owner, logger: TestDatabase.logger) { connection in
                try await connection.query("SET session_replication_role = replica", logger: TestDatabase.logger)
                try await connection.query(
                    "UPDATE audit_log SET action = 'GET /v1/nothing' WHERE tenant_id = \(UUID(uuidString: seeded.tenant.id)!) AND seq = 2",
                    logger: TestDatabase.logger
                )
            }
            verify = try await client.execute(uri: "/v1/audit-log/verify", method: .get, headers: headers(bearer: key)) { try object($0) }
            #expect(verify["intact"] as? Bool == false)
            #expect(verify["broken_at_seq"] as? Int == 2)

            // Another tenant sees none of it.
            let other = try await createTenant(client)
            #expect(try await listData(client, "/v1/audit-log", key: other.key).isEmpty)
            let theirs = try await client.execute(uri: "/v1/audit-log/verify", method: .get, headers: headers(bearer: other.key)) { try object($0) }
            #expect(theirs["intact"] as? Bool == true)
        }
    }

    @Test("a contact who withdraws consent to AI processing gets a person; a restricted contact gets no answer and no send")
    func consentAndRestriction() async throws {
        try await withAgentWorld { model, telegram, client, harness in
            let setup = try await setUpAgent(client, model: model)
            let key = setup.tenant.key
            _ = try await deliver(client, channel: setup.channel.id, body: telegramUpdate(updateID: 1, messageID: 1, text: "Привет"), headers: telegramHeaders(setup.secret))
            #expect(try await harness.drain() == 1)
            let contact = try #require(try await listData(client, "/v1/contacts", key: key).first?["id"] as? String)

            let withdrawn = try await post(client, "/v1/contacts/\(contact)/consents", key: key, ["purpose": "ai_processing", "granted": false, "source": "chat: asked for a person"])
            #expect(withdrawn.status == .created)
            _ = try await deliver(client, channel: setup.channel.id, body: telegramUpdate(updateID: 2, messageID: 2, text: "Ещё вопрос"), headers: telegramHeaders(setup.secret))
            #expect(try await harness.drain() == 1)
            #expect(await model.requests.count == 1)
            let (conversationID, messages) = try await conversationMessages(client, key: key)
            #expect(messages.last?["reply_status"] as? String == "handed_off")
            #expect(try await conversation(client, key: key, conversationID)["handoff_reason"] as? String == "consent_withdrawn")
            let consents = try await client.execute(uri: "/v1/contacts/\(contact)/consents", method: .get, headers: headers(bearer: key)) { try object($0) }
            #expect((consents["current"] as? [String: Any])?["ai_processing"] as? Bool == false)
            #expect((consents["current"] as? [String: Any])?["marketing"] as? Bool == true)

            // Restricted: a person's answer is not sent either.
            let restricted = try await post(client, "/v1/contacts/\(contact)/restrict", key: key)
            #expect(try object(restricted)["restricted"] as? Bool == true)
            #expect(try await post(client, "/v1/conversations/\(conversationID)/messages", key: key, ["text": "Здравствуйте, это Алия"]).status == .accepted)
            #expect(try await harness.drain() == 1)
            #expect(telegram.calls("sendMessage").count == 1, "only the first answer, from before")
            let lifted = try await post(client, "/v1/contacts/\(contact)/unrestrict", key: key)
            #expect(try object(lifted)["restricted"] as? Bool == false)

            let kinds = try await listData(client, "/v1/privacy/requests", key: key).map { $0["kind"] as? String }
            #expect(kinds == ["unrestriction", "restriction", "consent"])
            for (uri, body) in [
                ("/v1/contacts/\(contact)/consents", ["purpose": "telepathy", "granted": true, "source": "x"] as [String: Any]),
                ("/v1/contacts/\(contact)/consents", ["purpose": "marketing", "granted": "yes", "source": "x"]),
                ("/v1/contacts/\(contact)/consents", ["purpose": "marketing", "granted": true, "source": ""]),
            ] {
                #expect(try await post(client, uri, key: key, body).status == .badRequest, "\(body)")
            }
            let other = try await createTenant(client)
            try expectError(try await post(client, "/v1/contacts/\(contact)/restrict", key: other.key), .notFound, "not_found")
            try expectError(
                try await post(client, "/v1/contacts/\(contact)/consents", key: other.key, ["purpose": "marketing", "granted": true, "source": "x"]),
                .notFound, "not_found"
            )
        }
    }

    @Test("another tenant's contact is 404 on every privacy route, and nothing of it changes")
    func foreignContact() async throws {
        try await withApp { client in
            let seeded = try await seededTenant(client, senders: [(555_301, "Dana")])
            let contact = try #require(try await listData(client, "/v1/contacts", key: seeded.tenant.key).first?["id"] as? String)
            let other = try await createTenant(client)
            for (method, uri) in [
                (HTTPRequest.Method.get, "/v1/contacts/\(contact)/export"), (.delete, "/v1/contacts/\(contact)"),
                (.get, "/v1/contacts/\(contact)/consents"), (.post, "/v1/contacts/\(contact)/unrestrict"),
                (.post, "/v1/contacts/\(contact)/restrict"),
            ] {
                let response = try await client.execute(uri: uri, method: method, headers: headers(bearer: other.key)) { $0 }
                try expectError(response, .notFound, "not_found")
            }
            // The operator's price routes know no such tenant either.
            let missing = UUID().uuidString.lowercased()
            try expectError(
                try await client.execute(uri: "/admin/tenants/\(missing)/prices", method: .get, headers: headers(bearer: adminToken)) { $0 },
                .notFound, "not_found"
            )
            try expectError(
                try await client.execute(
                    uri: "/admin/tenants/\(missing)/prices", method: .put, headers: headers(bearer: adminToken),
                    body: json(["provider_kind": "openai", "model": "m", "input_micros_per_million": 1, "output_micros_per_million": 1])
                ) { $0 },
                .notFound, "not_found"
            )
            // The contact is whole: not erased, not restricted, no request recorded for it.
            #expect(try await client.execute(uri: "/v1/contacts/\(contact)", method: .get, headers: headers(bearer: seeded.tenant.key)) { $0 }.status == .ok)
            #expect(try await ownerCount("SELECT count(*)::int FROM contacts WHERE id = '\(contact)' AND restricted_at IS NULL") == 1)
            #expect(try await ownerCount("SELECT count(*)::int FROM privacy_requests WHERE contact_id = '\(contact)'") == 0)
            #expect(try await listData(client, "/v1/privacy/requests", key: other.key).isEmpty)
        }
    }

    @Test("merging contacts keeps the consents and the restriction of the one merged away")
    func mergeKeepsRights() async throws {
        try await withApp { client in
            let seeded = try await seededTenant(client, senders: [(555_201, "Dana"), (555_202, "Dana B")])
            let key = seeded.tenant.key
            let contacts = try await listData(client, "/v1/contacts", key: key).compactMap { $0["id"] as? String }
            #expect(contacts.count == 2)
            let (target, source) = (contacts[0], contacts[1])
            #expect(try await post(client, "/v1/contacts/\(source)/consents", key: key, ["purpose": "ai_processing", "granted": false, "source": "chat"]).status == .created)
            #expect(try await post(client, "/v1/contacts/\(source)/restrict", key: key).status == .ok)
            #expect(try await post(client, "/v1/contacts/\(target)/merge", key: key, ["contact_id": source]).status == .ok)
            let consents = try await client.execute(uri: "/v1/contacts/\(target)/consents", method: .get, headers: headers(bearer: key)) { try object($0) }
            #expect((consents["current"] as? [String: Any])?["ai_processing"] as? Bool == false)
            #expect((consents["data"] as? [Any])?.count == 1)
            #expect(try await ownerCount("SELECT count(*)::int FROM contacts WHERE id = '\(target)' AND restricted_at IS NOT NULL") == 1)
            let export = try await client.execute(uri: "/v1/contacts/\(target)/export", method: .get, headers: headers(bearer: key)) { try object($0) }
            #expect((export["consents"] as? [Any])?.count == 1)
        }
    }

    @Test("allowed regions: a provider outside them is never called, a fallback inside them answers; with none the message says why")
    func regions() async throws {
        try await withAgentWorld { model, telegram, client, harness in
            let setup = try await setUpAgent(client, model: model)
            let key = setup.tenant.key
            #expect(try await policy(client, key: key, ["allowed_regions": ["eu", "kz"]]).status == .ok)
            _ = try await deliver(client, channel: setup.channel.id, body: telegramUpdate(updateID: 1, messageID: 1, text: "Привет"), headers: telegramHeaders(setup.secret))
            #expect(try await harness.drain() == 1)
            #expect(await model.requests.isEmpty)
            let (_, messages) = try await conversationMessages(client, key: key)
            #expect(messages.first?["reply_status"] as? String == "failed")
            #expect((messages.first?["reply_error"] as? String)?.contains("region") == true)

            let eu = try await createProvider(
                client, key: key, ["name": "EU", "kind": "openai_compatible", "base_url": model.openAIBase, "region": "eu"]
            )
            #expect(try await client.execute(
                uri: "/v1/agents/\(setup.agentID)", method: .patch, headers: headers(bearer: key),
                body: json(["fallbacks": [["provider_id": eu, "model": "eu-model"]]])
            ) { $0 }.status == .ok)
            _ = try await client.execute(uri: "/v1/conversations/\(try await conversationMessages(client, key: key).id)/resume", method: .post, headers: headers(bearer: key)) { $0 }
            _ = try await deliver(client, channel: setup.channel.id, body: telegramUpdate(updateID: 2, messageID: 2, text: "Ещё раз"), headers: telegramHeaders(setup.secret))
            #expect(try await harness.drain() == 1)
            #expect(await model.requests.map { $0.json?["model"]?.string } == ["eu-model"])
            #expect(telegram.calls("sendMessage").count == 1)
        }
    }

    @Test("with redact_pii, IINs, phones, emails and card numbers never reach the provider; the answer has them back; the AI label is added")
    func redaction() async throws {
        try await withAgentWorld { model, telegram, client, harness in
            let setup = try await setUpAgent(client, model: model)
            let key = setup.tenant.key
            #expect(try await policy(client, key: key, ["redact_pii": true, "ai_label": "Ответ ИИ"]).status == .ok)
            let iin = Self.validIIN()
            let text = "ИИН \(iin), тел. +7 701 123 45 67, почта dana@example.kz, карта 4111 1111 1111 1111"
            _ = try await deliver(client, channel: setup.channel.id, body: telegramUpdate(updateID: 1, messageID: 1, text: text), headers: telegramHeaders(setup.secret))
            #expect(try await harness.drain() == 1)
            let sent = String(decoding: try #require(await model.requests.first?.body), as: UTF8.self)
            for secret in [iin, "701 123 45 67", "dana@example.kz", "4111 1111 1111 1111"] {
                #expect(!sent.contains(secret), "\(secret) reached the provider")
            }
            let answer = try #require(telegram.calls("sendMessage").first?.json["text"] ?? nil)
            #expect(answer == "reply to: \(text)\n\nОтвет ИИ")
        }
    }

    @Test("the policy answers its defaults, takes a whole new one, and refuses what it cannot hold naming the field")
    func policyRoute() async throws {
        try await withApp { client in
            let tenant = try await createTenant(client)
            let initial = try await client.execute(uri: "/v1/privacy/policy", method: .get, headers: headers(bearer: tenant.key)) { try object($0) }
            #expect(initial["redact_pii"] as? Bool == false)
            #expect((initial["retention"] as? [String: Any])?["log_days"] as? Int == 180)
            #expect(initial["allowed_regions"] is NSNull)
            let set = try await policy(client, key: tenant.key, [
                "retention": ["conversation_days": 365, "log_days": 90, "ledger_years": 6], "redact_pii": true, "allowed_regions": ["KZ"],
                "home_region": "kz", "ai_label": "AI",
            ])
            #expect(set.status == .ok)
            let read = try await client.execute(uri: "/v1/privacy/policy", method: .get, headers: headers(bearer: tenant.key)) { try object($0) }
            #expect((read["retention"] as? [String: Any])?["conversation_days"] as? Int == 365)
            #expect(read["allowed_regions"] as? [String] == ["kz"])
            #expect(read["ai_label"] as? String == "AI")
            for (body, field) in [
                (["retention": ["conversation_days": 0]] as [String: Any], "retention.conversation_days"),
                (["retention": ["ledger_years": 50]], "retention.ledger_years"),
                (["allowed_regions": ["no such region!"]], "allowed_regions"),
                (["home_region": ""], "home_region"),
                (["redact_pii": "yes"], "redact_pii"),
                (["tenant_id": "x"], "tenant_id"),
            ] {
                try expectError(try await policy(client, key: tenant.key, body), .badRequest, "invalid_request", field: field)
            }
        }
    }

    /// Every row of every table whose text, JSON, array or bytes contain `needle`, as the owner sees them.
    static func scan(_ harness: AgentHarness, for needle: String) async throws -> [String: Int] {
        try await PostgresAdministration.withConnection(harness.bootstrap.ownerConfiguration, logger: TestDatabase.logger) { connection in
            var columns: [(String, String, String)] = []
            for try await row in try await connection.query(
                """
                SELECT c.table_name::text, c.column_name::text, c.data_type::text FROM information_schema.columns c
                JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name AND t.table_type = 'BASE TABLE'
                WHERE c.table_schema = 'public'
                  AND c.data_type IN ('text', 'character varying', 'jsonb', 'json', 'ARRAY', 'bytea', 'USER-DEFINED')
                """,
                logger: TestDatabase.logger
            ).decode((String, String, String).self) { columns.append(row) }
            #expect(columns.count > 40, "the scan sees the schema")
            var hits: [String: Int] = [:]
            let literal = needle.replacingOccurrences(of: "'", with: "''")
            for (table, column, type) in columns {
                let condition = type == "bytea"
                    ? "position(convert_to('\(literal)', 'UTF8') IN \"\(column)\") > 0"
                    : "\"\(column)\"::text LIKE '%\(literal)%'"
                var count = 0
                for try await value in try await connection.query(
                    PostgresQuery(unsafeSQL: "SELECT count(*)::int FROM \"\(table)\" WHERE \(condition)"), logger: TestDatabase.logger
                ).decode(Int.self) { count = value }
                if count > 0 { hits["\(table).\(column)"] = count }
            }
            return hits
        }
    }

    @Test("erasure: a contact seeded with a canary in every field, message, edit, note, deal, answer and cached reply leaves no trace; old deliveries do not bring it back")
    func erasure() async throws {
        try await withAgentWorld { model, telegram, client, harness in
            let setup = try await setUpAgent(client, model: model)
            let key = setup.tenant.key
            let canary = "Kanareyka\(UUID().uuidString.prefix(8))"
            let userID = 777_000_111
            let first = telegramUpdate(updateID: 1, userID: userID, messageID: 1, text: "Привет, я \(canary)", name: canary)
            _ = try await deliver(client, channel: setup.channel.id, body: first, headers: telegramHeaders(setup.secret))
            #expect(try await harness.drain() == 1)
            let edit = Array(try JSONSerialization.data(withJSONObject: [
                "update_id": 2,
                "edited_message": [
                    "message_id": 1, "date": 1_763_900_000, "edit_date": 1_763_900_100,
                    "from": ["id": userID, "is_bot": false, "first_name": canary],
                    "chat": ["id": userID, "first_name": canary, "type": "private"], "text": "Исправлено: \(canary) 2",
                ] as [String: Any],
            ]))
            #expect(try await deliver(client, channel: setup.channel.id, body: edit, headers: telegramHeaders(setup.secret)).status == .ok)
            let unreadable = Array("{\"message\": {\"from\": {\"id\": \(userID)}, \"text\": \"\(canary)\"".utf8)
            #expect(try await deliver(client, channel: setup.channel.id, body: unreadable, headers: telegramHeaders(setup.secret)).status == .badRequest)
            let contact = try #require(try await listData(client, "/v1/contacts", key: key).first?["id"] as? String)
            var keyed = headers(bearer: key)
            keyed[HTTPField.Name("Idempotency-Key")!] = "rectify-1"
            #expect(try await client.execute(
                uri: "/v1/contacts/\(contact)", method: .patch, headers: keyed, body: json(["email": "\(canary.lowercased())@example.kz", "phone": "+7 701 555 00 11"])
            ) { $0 }.status == .ok)
            #expect(try await post(client, "/v1/contacts/\(contact)/notes", key: key, ["body": "VIP \(canary)"]).status == .created)
            #expect(try await post(client, "/v1/deals", key: key, ["contact_id": contact, "title": "Sofa for \(canary)"]).status == .created)
            #expect(try await post(client, "/v1/contacts/\(contact)/consents", key: key, ["purpose": "marketing", "granted": true, "source": "form \(canary)"]).status == .created)
            let (conversationID, _) = try await conversationMessages(client, key: key)
            #expect(try await post(client, "/v1/conversations/\(conversationID)/messages", key: key, ["text": "Спасибо, \(canary)"]).status == .accepted)
            #expect(try await harness.drain() == 1)

            // The export has it all.
            let export = try await client.execute(uri: "/v1/contacts/\(contact)/export", method: .get, headers: headers(bearer: key)) { try object($0) }
            #expect((export["contact"] as? [String: Any])?["display_name"] as? String == canary)
            #expect((export["identities"] as? [Any])?.count == 1)
            let conversations = try #require(export["conversations"] as? [[String: Any]])
            let messages = try #require(conversations.first?["messages"] as? [[String: Any]])
            #expect(messages.count == 3)
            #expect((messages.first?["edits"] as? [Any])?.count == 1)
            #expect((export["notes"] as? [Any])?.count == 1)
            #expect((export["deals"] as? [Any])?.count == 1)
            #expect((export["consents"] as? [Any])?.count == 1)
            #expect((export["audit_log"] as? [Any])?.count == 3, "the patch, the note, the consent")

            let before = try await Self.scan(harness, for: canary)
            #expect(before.count >= 8, "the canary was seeded widely: \(before)")
            let ledgerBefore = try await harness.count("SELECT count(*)::int FROM credit_entries WHERE tenant_id = '\(setup.tenant.id)'")

            let erased = try await client.execute(uri: "/v1/contacts/\(contact)", method: .delete, headers: headers(bearer: key)) { $0 }
            #expect(erased.status == .ok)
            #expect(try object(erased)["erased"] as? Bool == true)
            let after = try await Self.scan(harness, for: canary)
            #expect(after.isEmpty, "the canary survived in \(after)")
            #expect(try await Self.scan(harness, for: String(userID)).isEmpty, "the platform id survived")
            // The ledger keeps every entry and amount, without the message references.
            #expect(try await harness.count("SELECT count(*)::int FROM credit_entries WHERE tenant_id = '\(setup.tenant.id)'") == ledgerBefore)
            #expect(try await harness.count("SELECT count(*)::int FROM credit_entries WHERE tenant_id = '\(setup.tenant.id)' AND message_id IS NOT NULL") == 0)
            #expect(try await listData(client, "/v1/privacy/requests", key: key).first?["kind"] as? String == "erasure")
            try expectError(try await client.execute(uri: "/v1/contacts/\(contact)", method: .get, headers: headers(bearer: key)) { $0 }, .notFound, "not_found")
            try expectError(try await client.execute(uri: "/v1/contacts/\(contact)", method: .delete, headers: headers(bearer: key)) { $0 }, .notFound, "not_found")

            // The messenger redelivers the old message: a duplicate, the person does not come back.
            #expect(try await deliver(client, channel: setup.channel.id, body: first, headers: telegramHeaders(setup.secret)).status == .ok)
            #expect(try await harness.drain() == 0)
            #expect(try await listData(client, "/v1/contacts", key: key).isEmpty)
            #expect(telegram.calls("sendMessage").count == 2)
            #expect(await model.requests.count == 1)
        }
    }

    @Test("retention with a moved clock: conversations past the policy go with their messages, logs past theirs go, each run recorded")
    func retention() async throws {
        try await withAgentWorld { model, _, client, harness in
            let setup = try await setUpAgent(client, model: model)
            let key = setup.tenant.key
            #expect(try await policy(client, key: key, ["retention": ["conversation_days": 30, "log_days": 90]]).status == .ok)
            // A conversation answered now, and one whose last message the platform dated a
            // year ago (the fixtures' date), left unanswered.
            _ = try await deliver(client, channel: setup.channel.id, body: telegramUpdate(updateID: 1, userID: 1_001, messageID: 1, text: "новое"), headers: telegramHeaders(setup.secret))
            #expect(try await harness.drain() == 1)
            _ = try await deliver(client, channel: setup.channel.id, body: telegramUpdate(updateID: 2, userID: 1_002, messageID: 2, text: "старое"), headers: telegramHeaders(setup.secret))
            _ = try await deliver(client, channel: setup.channel.id, body: Array("{broken".utf8), headers: telegramHeaders(setup.secret))
            let privacy = PostgresPrivacyStore(database: harness.bootstrap.database)
            let tenant = "tenant_id = '\(setup.tenant.id)'"
            func messages() async throws -> Int { try await harness.count("SELECT count(*)::int FROM messages WHERE \(tenant)") }

            // Today: the year-old conversation goes with its message and queued job; its
            // event stays as a tombstone. Today's conversation stays.
            let today = try await privacy.retentionSweep(now: harness.clock.now())
            #expect(today["conversations"] == 1)
            #expect(today["messages"] == 1)
            #expect(try await messages() == 2)
            #expect(try await harness.count("SELECT count(*)::int FROM jobs WHERE \(tenant) AND status = 'queued'") == 0)
            #expect(try await harness.count("SELECT count(*)::int FROM inbound_events WHERE \(tenant) AND payload = '' AND ignored_reason = 'retention'") == 1)
            // Day 29: nothing is due. Day 31: today's conversation is past its 30 days.
            #expect(try await privacy.retentionSweep(now: harness.clock.now().addingTimeInterval(29 * 86_400)).isEmpty)
            let day31 = try await privacy.retentionSweep(now: harness.clock.now().addingTimeInterval(31 * 86_400))
            #expect(day31["conversations"] == 1)
            #expect(day31["messages"] == 2)
            #expect(try await messages() == 0)
            #expect(try await harness.count("SELECT count(*)::int FROM credit_entries WHERE \(tenant) AND message_id IS NOT NULL") == 0)
            #expect(try await harness.count("SELECT count(*)::int FROM dead_letters WHERE \(tenant)") == 1)
            // Day 91: the logs go (raw events, dead letters, model calls, finished jobs).
            let day91 = try await privacy.retentionSweep(now: harness.clock.now().addingTimeInterval(91 * 86_400))
            #expect(day91["dead_letters"] == 1)
            #expect(day91["inbound_events"] == 2)
            #expect(try await harness.count("SELECT count(*)::int FROM dead_letters WHERE \(tenant)") == 0)
            #expect(try await harness.count("SELECT count(*)::int FROM inbound_events WHERE \(tenant)") == 0)
            #expect(try await harness.count("SELECT count(*)::int FROM retention_deletions WHERE \(tenant)") == 3)
            #expect(try await harness.count("SELECT count(*)::int FROM retention_runs WHERE finished_at IS NOT NULL") == 4)
            // The ledger is kept whole: amounts do not expire with the conversations.
            #expect(try await harness.count("SELECT count(*)::int FROM credit_entries WHERE \(tenant) AND kind = 'capture'") == 1)
        }
    }

    @Test("the processing record lists each category with role, purpose, basis, the tenant's retention, and the sub-processors configured")
    func processingRecord() async throws {
        try await withAgentWorld { model, _, client, _ in
            let setup = try await setUpAgent(client, model: model)
            let key = setup.tenant.key
            #expect(try await policy(client, key: key, ["retention": ["conversation_days": 365], "allowed_regions": ["us", "kz"]]).status == .ok)
            let record = try await client.execute(uri: "/v1/privacy/processing-record", method: .get, headers: headers(bearer: key)) { try object($0) }
            let categories = try #require(record["categories"] as? [[String: Any]])
            let conversations = try #require(categories.first { $0["category"] as? String == "conversations" })
            #expect(conversations["role"] as? String == "processor")
            #expect(conversations["retention"] as? String == "deleted 365 days after the conversation's last message")
            #expect((conversations["tables"] as? [String])?.contains("messages") == true)
            let processors = try #require(conversations["sub_processors"] as? [[String: Any]])
            #expect(Set(processors.compactMap { $0["kind"] as? String }) == ["openai", "telegram"])
            #expect(processors.first { $0["kind"] as? String == "openai" }?["region"] as? String == "us")
            // A messenger's entry is what its connector says of itself (`ConnectorDescription`).
            let telegram = processors.first { $0["kind"] as? String == "telegram" }
            #expect(telegram?["name"] as? String == "Telegram FZ-LLC (Telegram Bot API)")
            #expect(telegram?["region"] as? String == "ae")
            let ledger = try #require(categories.first { $0["category"] as? String == "billing_ledger" })
            #expect(ledger["role"] as? String == "controller")
            #expect((ledger["sub_processors"] as? [Any])?.isEmpty == true)
            #expect((record["transfers"] as? [String: Any])?["allowed_regions"] as? [String] == ["us", "kz"])
            let listed = try await listData(client, "/v1/privacy/subprocessors", key: key)
            #expect(listed.count == 2)
            let other = try await createTenant(client)
            #expect(try await listData(client, "/v1/privacy/subprocessors", key: other.key).isEmpty)
        }
    }

    @Test("deleting a channel or an agent keeps their data by default, and with data=delete takes what they brought")
    func deletionCascades() async throws {
        try await withAgentWorld { model, _, client, harness in
            let setup = try await setUpAgent(client, model: model)
            let key = setup.tenant.key
            let tenant = "tenant_id = '\(setup.tenant.id)'"
            _ = try await deliver(client, channel: setup.channel.id, body: telegramUpdate(updateID: 1, text: "Привет"), headers: telegramHeaders(setup.secret))
            #expect(try await harness.drain() == 1)
            try expectError(
                try await client.execute(uri: "/v1/channels/\(setup.channel.id)?data=maybe", method: .delete, headers: headers(bearer: key)) { $0 },
                .badRequest, "invalid_request", field: "data"
            )
            // A second agent on a second channel, answered too; deleted with its data after.
            let second = try await createAgent(client, key: key, ["name": "Second", "provider_id": setup.providerID, "model": "gpt-4o-mini", "system_prompt": ""])
            #expect(try await client.execute(
                uri: "/v1/channels/\(setup.channel.id)", method: .patch, headers: headers(bearer: key), body: json(["agent_id": second])
            ) { $0 }.status == .ok)
            _ = try await deliver(client, channel: setup.channel.id, body: telegramUpdate(updateID: 2, messageID: 2, text: "Ещё"), headers: telegramHeaders(setup.secret))
            #expect(try await harness.drain() == 1)
            #expect(try await client.execute(
                uri: "/v1/channels/\(setup.channel.id)", method: .patch, headers: headers(bearer: key), body: json(["agent_id": setup.agentID])
            ) { $0 }.status == .ok)
            #expect(try await client.execute(uri: "/v1/agents/\(second)?data=delete", method: .delete, headers: headers(bearer: key)) { $0 }.status == .ok)
            #expect(try await harness.count("SELECT count(*)::int FROM messages WHERE \(tenant) AND agent_id = '\(second)'") == 0)
            #expect(try await harness.count("SELECT count(*)::int FROM messages WHERE \(tenant)") == 3, "two questions and the first agent's answer")

            // The channel with its data: conversations, messages, events, and the contact.
            let deleted = try await client.execute(
                uri: "/v1/channels/\(setup.channel.id)?data=delete", method: .delete, headers: headers(bearer: key)
            ) { try object($0) }
            #expect((deleted["removed"] as? [String: Any])?["contacts"] as? Int == 1)
            for table in ["messages", "conversations", "contacts", "inbound_events", "contact_identities", "channels"] {
                #expect(try await harness.count("SELECT count(*)::int FROM \(table) WHERE \(tenant)") == 0, "\(table)")
            }
            #expect(try await harness.count("SELECT count(*)::int FROM credit_entries WHERE \(tenant) AND kind = 'capture'") == 2)
        }
    }

    static func voiceUpdate(updateID: Int, messageID: Int, fileID: String = "voice-file", size: Int = 12) -> [UInt8] {
        Array(try! JSONSerialization.data(withJSONObject: [
            "update_id": updateID,
            "message": [
                "message_id": messageID, "date": 1_763_900_000, "from": ["id": 520011223, "is_bot": false, "first_name": "Айгерим"],
                "chat": ["id": 520011223, "first_name": "Айгерим", "type": "private"],
                "voice": ["file_id": fileID, "file_unique_id": "u1", "duration": 3, "mime_type": "audio/ogg", "file_size": size],
            ] as [String: Any],
        ]))
    }

    @Test("a voice note over 4 MiB but within Telegram's 20 MB is downloaded whole and transcribed")
    func largeVoice() async throws {
        try await withAgentWorld { model, telegram, client, harness in
            let setup = try await setUpAgent(client, model: model, agent: ["speech_to_text_model": "whisper-1"])
            let size = 6 << 20
            _ = try await deliver(
                client, channel: setup.channel.id, body: Self.voiceUpdate(updateID: 1, messageID: 1, fileID: "size-\(size)", size: size),
                headers: telegramHeaders(setup.secret)
            )
            #expect(try await harness.drain() == 1)
            #expect(telegram.all.filter { $0.path.hasPrefix("/file/") }.count == 1)
            let upload = try #require(await model.transcriptions.first, "the note was transcribed")
            #expect(upload.body.count > size, "the whole note went to the provider")
            let (_, messages) = try await conversationMessages(client, key: setup.tenant.key)
            #expect((messages.first?["text"] as? String)?.hasPrefix("transcript of ") == true)
            #expect(telegram.calls("sendMessage").count == 1)
        }
    }

    @Test("a voice note over Telegram's 20 MB is not downloaded, and its message says why instead of staying silent")
    func oversizedVoice() async throws {
        try await withAgentWorld { model, telegram, client, harness in
            let setup = try await setUpAgent(client, model: model, agent: ["speech_to_text_model": "whisper-1"])
            let size = 21 << 20
            _ = try await deliver(
                client, channel: setup.channel.id, body: Self.voiceUpdate(updateID: 1, messageID: 1, fileID: "size-\(size)", size: size),
                headers: telegramHeaders(setup.secret)
            )
            #expect(try await harness.drain() == 1)
            #expect(telegram.calls("getFile").count == 1)
            #expect(telegram.all.filter { $0.path.hasPrefix("/file/") }.isEmpty, "nothing downloaded")
            #expect(await model.transcriptions.isEmpty)
            #expect(await model.requests.last?.json?["messages"]?.array?.last?["content"]?.string == "[voice]")
            let (_, messages) = try await conversationMessages(client, key: setup.tenant.key)
            let attachment = try #require((messages.first?["attachments"] as? [[String: Any]])?.first)
            let said = try #require((attachment["details"] as? [String: Any])?["transcription_error"] as? String)
            #expect(said.contains("too large") && said.contains("20 MB"), "\(said)")
        }
    }

    @Test("retention reaches contacts: one with no conversation left past the window goes with its identities, notes and deals, unless it has an open deal or is kept")
    func retentionOfContacts() async throws {
        try await withAgentWorld { model, _, client, harness in
            let setup = try await setUpAgent(client, model: model)
            let key = setup.tenant.key
            let tenant = "tenant_id = '\(setup.tenant.id)'"
            #expect(try await policy(client, key: key, ["retention": ["conversation_days": 30]]).status == .ok)
            for (index, name) in ["Gone", "OpenDeal", "Kept", "ClosedDeal"].enumerated() {
                _ = try await deliver(
                    client, channel: setup.channel.id,
                    body: telegramUpdate(updateID: index + 1, userID: 3_000 + index, messageID: index + 1, text: "Привет", name: name),
                    headers: telegramHeaders(setup.secret)
                )
            }
            #expect(try await harness.drain() == 4)
            var ids: [String: String] = [:]
            for contact in try await listData(client, "/v1/contacts", key: key) {
                ids[try #require(contact["display_name"] as? String)] = try #require(contact["id"] as? String)
            }
            let openDeal = try await client.execute(
                uri: "/v1/deals", method: .post, headers: headers(bearer: key), body: json(["contact_id": ids["OpenDeal"]!, "title": "Sofa", "stage": "proposal"])
            ) { try object($0) }
            #expect(try await post(client, "/v1/deals", key: key, ["contact_id": ids["ClosedDeal"]!, "title": "Chair", "stage": "won"]).status == .created)
            #expect(try await post(client, "/v1/contacts/\(ids["ClosedDeal"]!)/notes", key: key, ["body": "paid"]).status == .created)
            let kept = try await client.execute(
                uri: "/v1/contacts/\(ids["Kept"]!)/retention", method: .put, headers: headers(bearer: key), body: json(["keep": true])
            ) { try object($0) }
            #expect(kept["keep"] as? Bool == true)
            try expectError(
                try await client.execute(uri: "/v1/contacts/\(UUID())/retention", method: .put, headers: headers(bearer: key), body: json(["keep": true])) { $0 },
                .notFound, "not_found"
            )
            // Another tenant's contact is not found either, and keeps its flag.
            let other = try await createTenant(client)
            try expectError(
                try await client.execute(
                    uri: "/v1/contacts/\(ids["Kept"]!)/retention", method: .put, headers: headers(bearer: other.key), body: json(["keep": false])
                ) { $0 },
                .notFound, "not_found"
            )
            try expectError(
                try await client.execute(uri: "/v1/contacts/\(ids["Kept"]!)/retention", method: .put, headers: headers(bearer: key), body: json(["keep": "yes"])) { $0 },
                .badRequest, "invalid_request"
            )

            let privacy = PostgresPrivacyStore(database: harness.bootstrap.database)
            #expect(try await privacy.retentionSweep(now: harness.clock.now().addingTimeInterval(29 * 86_400)).isEmpty)
            let day31 = try await privacy.retentionSweep(now: harness.clock.now().addingTimeInterval(31 * 86_400))
            #expect(day31["conversations"] == 4)
            #expect(day31["contacts"] == 2)
            let left = try await listData(client, "/v1/contacts", key: key).compactMap { $0["display_name"] as? String }
            #expect(Set(left) == ["OpenDeal", "Kept"])
            #expect(try await harness.count("SELECT count(*)::int FROM contact_identities WHERE \(tenant)") == 2)
            #expect(try await harness.count("SELECT count(*)::int FROM notes WHERE \(tenant)") == 0)
            #expect(try await harness.count("SELECT count(*)::int FROM deals WHERE \(tenant)") == 1)

            // The tenant keeps every contact: nothing goes, though the deal closed and the flag is off.
            #expect(try await client.execute(
                uri: "/v1/deals/\(try #require(openDeal["id"] as? String))", method: .patch, headers: headers(bearer: key), body: json(["stage": "lost"])
            ) { $0 }.status == .ok)
            #expect(try await client.execute(
                uri: "/v1/contacts/\(ids["Kept"]!)/retention", method: .put, headers: headers(bearer: key), body: json(["keep": false])
            ) { $0 }.status == .ok)
            let keepAll = try await policy(client, key: key, ["retention": ["conversation_days": 30, "keep_contacts": true]])
            #expect(((try object(keepAll))["retention"] as? [String: Any])?["keep_contacts"] as? Bool == true)
            #expect(try await privacy.retentionSweep(now: harness.clock.now().addingTimeInterval(62 * 86_400))["contacts"] == nil)
            #expect(try await policy(client, key: key, ["retention": ["conversation_days": 30]]).status == .ok)
            #expect(try await privacy.retentionSweep(now: harness.clock.now().addingTimeInterval(62 * 86_400))["contacts"] == 2)
            #expect(try await listData(client, "/v1/contacts", key: key).isEmpty)
            #expect(try await harness.count("SELECT count(*)::int FROM deals WHERE \(tenant)") == 0)
        }
    }

    @Test("export and erasure go by author: a contact's messages in someone else's group are exported and erased; erasing a group's owner leaves the others' messages")
    func groupsByAuthor() async throws {
        try await withAgentWorld { model, _, client, harness in
            let setup = try await setUpAgent(client, model: model)
            let key = setup.tenant.key
            let canary = "Dana\(UUID().uuidString.prefix(8))"
            let (owned, joined) = (-100_000_001, -100_000_002)
            // Dana opens one group (its conversation is hers) and writes in Erlan's.
            let said: [(user: Int, name: String, chat: Int, text: String)] = [
                (4_001, canary, owned, "\(canary) opens the group"),
                (4_002, "Erlan", owned, "Erlan answers in Dana's group"),
                (4_002, "Erlan", joined, "Erlan opens his group"),
                (4_001, canary, joined, "\(canary) writes in the second group"),
            ]
            for (index, line) in said.enumerated() {
                _ = try await deliver(
                    client, channel: setup.channel.id,
                    body: telegramUpdate(updateID: 10 + index, userID: line.user, chatID: line.chat, messageID: 10 + index, text: line.text,
                                         name: line.name, chatType: "supergroup"),
                    headers: telegramHeaders(setup.secret)
                )
                #expect(try await harness.drain() == 1)
            }
            var ids: [String: String] = [:]
            for contact in try await listData(client, "/v1/contacts", key: key) {
                ids[try #require(contact["display_name"] as? String)] = try #require(contact["id"] as? String)
            }
            let dana = try #require(ids[canary])

            // The export has both groups, and in each only Dana's messages and our answers to them.
            let export = try await client.execute(uri: "/v1/contacts/\(dana)/export", method: .get, headers: headers(bearer: key)) { try object($0) }
            let conversations = try #require(export["conversations"] as? [[String: Any]])
            #expect(conversations.count == 2)
            let texts = conversations.flatMap { ($0["messages"] as? [[String: Any]] ?? []).compactMap { $0["text"] as? String } }
            #expect(texts.filter { $0.hasPrefix(canary) }.count == 2)
            #expect(texts.filter { $0.hasPrefix("reply to: \(canary)") }.count == 2)
            #expect(!texts.contains { $0.contains("Erlan") }, "the other member's messages are not Dana's: \(texts)")

            // Erasing Dana: her messages and our answers to them go, Erlan's stay in both
            // groups, and the group she opened is his now.
            let erased = try await client.execute(uri: "/v1/contacts/\(dana)", method: .delete, headers: headers(bearer: key)) { try object($0) }
            #expect((erased["removed"] as? [String: Any])?["messages"] as? Int == 4)
            let remaining = try await harness.count(
                "SELECT count(*)::int FROM messages WHERE tenant_id = '\(setup.tenant.id)' AND text LIKE '%Erlan%'"
            )
            #expect(remaining == 4, "Erlan's two messages and our two answers to them")
            #expect(try await harness.count(
                "SELECT count(*)::int FROM conversations WHERE tenant_id = '\(setup.tenant.id)' AND contact_id = '\(ids["Erlan"]!)'"
            ) == 2)
            #expect(try await Self.scan(harness, for: canary).isEmpty, "Dana survived somewhere")
        }
    }

    @Test("a voice note is transcribed by the agent's speech-to-text model and answered; only the transcript is kept; without voice consent it is not")
    func voice() async throws {
        try await withAgentWorld { model, telegram, client, harness in
            let setup = try await setUpAgent(client, model: model, agent: ["speech_to_text_model": "whisper-1"])
            let key = setup.tenant.key
            _ = try await deliver(client, channel: setup.channel.id, body: Self.voiceUpdate(updateID: 1, messageID: 1), headers: telegramHeaders(setup.secret))
            #expect(try await harness.drain() == 1)
            #expect(telegram.calls("getFile").count == 1)
            let upload = try #require(await model.transcriptions.first)
            let form = String(decoding: upload.body, as: UTF8.self)
            #expect(form.contains("whisper-1") && form.contains("OggS fake voice"))
            #expect(upload.header("authorization") == "Bearer sk-test-secret")
            let transcript = try #require(await model.requests.first?.json?["messages"]?.array?.last?["content"]?.string)
            #expect(transcript.hasPrefix("transcript of ") && transcript.hasSuffix(" by whisper-1"))
            #expect(telegram.calls("sendMessage").first?.json["text"] == "reply to: \(transcript)")
            let (_, messages) = try await conversationMessages(client, key: key)
            #expect(messages.first?["text"] as? String == transcript)
            #expect(try await Self.scan(harness, for: "OggS fake voice").isEmpty, "the audio is stored nowhere")

            // Without voice consent the note stays untranscribed: the agent sees [voice].
            let contact = try #require(try await listData(client, "/v1/contacts", key: key).first?["id"] as? String)
            #expect(try await post(client, "/v1/contacts/\(contact)/consents", key: key, ["purpose": "voice", "granted": false, "source": "call"]).status == .created)
            _ = try await deliver(client, channel: setup.channel.id, body: Self.voiceUpdate(updateID: 2, messageID: 2), headers: telegramHeaders(setup.secret))
            #expect(try await harness.drain() == 1)
            #expect(await model.transcriptions.count == 1)
            #expect(await model.requests.last?.json?["messages"]?.array?.last?["content"]?.string == "[voice]")
        }
    }

    /// A Kazakh IIN with a valid checksum.
    static func validIIN() -> String {
        while true {
            var digits = [9, 0, 0, 1, 0, 1, 3] + (0..<4).map { _ in Int.random(in: 0...9) }
            var check = zip(digits, 1...11).reduce(0) { $0 + $1.0 * $1.1 } % 11
            if check == 10 {
                check = zip(digits, [3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2]).reduce(0) { $0 + $1.0 * $1.1 } % 11
            }
            guard check != 10 else { continue }
            digits.append(check)
            return digits.map(String.init).joined()
        }
    }
}
