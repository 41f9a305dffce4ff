import ConnectorKit
import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import NIOCore
import SwitchboardApp
import SwitchboardCore
import SwitchboardPipeline
import SwitchboardPostgres
import SwitchboardProvidersTesting
import SwitchboardTestSupport
import Testing

/// Instagram Direct and Messenger through the server, on a loopback Graph API: a signed
/// delivery is stored once and answered once; the 24-hour window and the 7-day human-agent
/// tag; the profile looked up once; echoes, unsends and standby events; hostile deliveries.
@Suite("Instagram and Messenger: deliveries, answers, windows and profiles")
struct MetaChannelTests {
    static let appSecret = "meta-app-secret-for-tests-0123456789"
    static let igUserID = "17841405822304914"
    static let pageID = "104581938201456"
    static let customer = "1254459154682919"

    /// A delivery of `object` (`instagram`, `page`) to `account` with these messaging events.
    static func delivery(_ events: [[String: Any]], object: String = "instagram", account: String = igUserID, standby: Bool = false) -> [UInt8] {
        let entry: [String: Any] = ["id": account, "time": 1_763_900_400_623, standby ? "standby" : "messaging": events]
        return Array(try! JSONSerialization.data(withJSONObject: ["object": object, "entry": [entry]], options: [.sortedKeys]))
    }

    static func message(_ mid: String, text: String, at time: Date, from sender: String = customer, to recipient: String = igUserID, echo: Bool = false) -> [String: Any] {
        var message: [String: Any] = ["mid": mid, "text": text]
        if echo { message["is_echo"] = true }
        return [
            "sender": ["id": sender], "recipient": ["id": recipient], "timestamp": Int64(time.timeIntervalSince1970 * 1000), "message": message,
        ]
    }

    static func signed(_ body: [UInt8], secret: String = appSecret) -> HTTPFields {
        var fields = HTTPFields()
        fields[HTTPField.Name("X-Hub-Signature-256")!] = "sha256=" + Signature.hmacSHA256Hex(message: body, key: Array(secret.utf8))
        return fields
    }

    /// A tenant with an agent answering an Instagram (or Messenger) channel on `graph`.
    func setUp(
        _ client: any TestClientProtocol, graph: FakeGraph, model: FakeModelServer, kind: String = "instagram"
    ) async throws -> (key: String, channel: String) {
        let tenant = try await createTenant(client, trialMicros: 100_000_000)
        let provider = try await createProvider(
            client, key: tenant.key, ["name": "OpenAI", "kind": "openai", "base_url": model.openAIBase, "api_key": "sk-test", "region": "us"]
        )
        let agent = try await createAgent(
            client, key: tenant.key, ["name": "Shop", "provider_id": provider, "model": "gpt-4o-mini", "system_prompt": "Be brief."]
        )
        var credentials = ["access_token": graph.token, "app_secret": Self.appSecret, "verify_token": "verify-me-long-enough"]
        if kind == "instagram" { credentials["ig_user_id"] = Self.igUserID } else { credentials["page_id"] = Self.pageID }
        let created = try await client.execute(
            uri: "/v1/channels", method: .post, headers: headers(bearer: tenant.key),
            body: json(["kind": kind, "name": kind, "agent_id": agent, "credentials": credentials])
        ) { $0 }
        #expect(created.status == .created, "\(String(buffer: created.body))")
        return (tenant.key, try #require(try object(created)["id"] as? String))
    }

    func lookups(_ harness: AgentHarness) -> ProfileLookups {
        ProfileLookups(
            store: PostgresProfileStore(database: harness.bootstrap.database),
            connectors: ConnectorRegistry.standard(harness.configuration, now: harness.clock.now),
            secrets: SecretBox(masterKey: harness.bootstrap.masterKey), http: harness.http
        )
    }

    func balance(_ client: any TestClientProtocol, key: String) async throws -> Int {
        try object(try await client.execute(uri: "/v1/credits", method: .get, headers: headers(bearer: key)) { $0 })["balance_micros"] as? Int ?? -1
    }

    @Test("a signed Instagram delivery: one stored message, one answer through /{ig_user_id}/messages, the profile looked up once; a redelivery and the answer's echo add nothing")
    func answered() async throws {
        try await FakeModelServer.withServer { model in
            try await withFakeGraph { graph in
                graph.setProfile(id: Self.customer, json: #"{"name": "Aigerim B.", "username": "aigerim.shop", "id": "\#(Self.customer)"}"#)
                try await withAgentApp(telegramBase: "http://127.0.0.1:9", graphBase: graph.base) { client, harness in
                    let (key, channel) = try await setUp(client, graph: graph, model: model)
                    let body = Self.delivery([Self.message("ig.mid.1", text: "Do you ship to Almaty?", at: harness.clock.now())])
                    #expect(try await deliver(client, channel: channel, body: body, headers: Self.signed(body)).status == .ok)
                    #expect(try await deliver(client, channel: channel, body: body, headers: Self.signed(body)).status == .ok, "Meta retries: 200, nothing twice")
                    #expect(try await harness.drain() == 1)
                    #expect(await model.requests.count == 1)
                    let sends = graph.log.calls("messages")
                    #expect(sends.count == 1)
                    #expect(sends.first?.path.hasSuffix("/\(Self.igUserID)/messages") == true)
                    let sent = try #require(try JSONSerialization.jsonObject(with: Data(sends.first?.body ?? [])) as? [String: Any])
                    #expect((sent["recipient"] as? [String: Any])?["id"] as? String == Self.customer)
                    #expect(sent["messaging_type"] as? String == "RESPONSE")
                    #expect(sent["tag"] == nil)
                    var (_, messages) = try await conversationMessages(client, key: key)
                    #expect(messages.count == 2)
                    let answerMID = try #require(messages.last?["external_id"] as? String)

                    // The answer's echo comes back: it is the stored answer, not a new message.
                    let echo = Self.delivery([Self.message(answerMID, text: "echo", at: harness.clock.now(), from: Self.igUserID, to: Self.customer, echo: true)])
                    #expect(try await deliver(client, channel: channel, body: echo, headers: Self.signed(echo)).status == .ok)
                    (_, messages) = try await conversationMessages(client, key: key)
                    #expect(messages.count == 2)

                    // The profile: looked up once, kept on the contact.
                    let found = try await lookups(harness).run(now: harness.clock.now().addingTimeInterval(60), logger: TestDatabase.logger)
                    #expect(found.found == 1)
                    let again = try await lookups(harness).run(now: harness.clock.now().addingTimeInterval(3600), logger: TestDatabase.logger)
                    #expect(again.found + again.failed == 0, "once")
                    let contacts = try object(try await client.execute(uri: "/v1/contacts", method: .get, headers: headers(bearer: key)) { $0 })
                    let contact = try #require((contacts["data"] as? [[String: Any]])?.first)
                    #expect(contact["display_name"] as? String == "Aigerim B.")
                    #expect(contact["username"] as? String == "aigerim.shop")
                    #expect(graph.log.all.filter { $0.method == "GET" && $0.path.contains("/\(Self.customer)?") }.count == 1)
                }
            }
        }
    }

    @Test("at 25 hours no model call and no charge, the reason visible; a person's answer at 3 days goes with HUMAN_AGENT; at 8 days it is refused")
    func windows() async throws {
        try await FakeModelServer.withServer { model in
            try await withFakeGraph { graph in
                try await withAgentApp(telegramBase: "http://127.0.0.1:9", graphBase: graph.base) { client, harness in
                    let (key, channel) = try await setUp(client, graph: graph, model: model)
                    let before = try await balance(client, key: key)
                    let body = Self.delivery([Self.message("ig.mid.late", text: "Hello?", at: harness.clock.now())])
                    #expect(try await deliver(client, channel: channel, body: body, headers: Self.signed(body)).status == .ok)
                    harness.clock.advance(seconds: 25 * 3600)
                    #expect(try await harness.drain() == 1)
                    #expect(await model.requests.isEmpty)
                    #expect(graph.sentCount == 0)
                    #expect(try await balance(client, key: key) == before)
                    var (conversation, messages) = try await conversationMessages(client, key: key)
                    let reason = messages.first?["reply_error"] as? String ?? ""
                    #expect(reason.hasPrefix("window_closed:") && reason.contains("HUMAN_AGENT"), "\(reason)")

                    harness.clock.advance(seconds: 47 * 3600)  // three days after the message
                    let answered = try await client.execute(
                        uri: "/v1/conversations/\(conversation)/messages", method: .post, headers: headers(bearer: key),
                        body: json(["text": "Sorry for the wait: yes, we ship to Almaty."])
                    ) { $0 }
                    #expect(answered.status == .accepted, "\(String(buffer: answered.body))")
                    #expect(try object(answered)["send_tag"] as? String == "HUMAN_AGENT")
                    #expect(try await harness.drain() == 1)
                    let send = try #require(graph.log.calls("messages").last)
                    let sent = try #require(try JSONSerialization.jsonObject(with: Data(send.body)) as? [String: Any])
                    #expect(sent["messaging_type"] as? String == "MESSAGE_TAG")
                    #expect(sent["tag"] as? String == "HUMAN_AGENT")

                    harness.clock.advance(seconds: 5 * 86400)  // eight days
                    let refused = try await client.execute(
                        uri: "/v1/conversations/\(conversation)/messages", method: .post, headers: headers(bearer: key), body: json(["text": "Hello again"])
                    ) { $0 }
                    #expect(refused.status == .conflict)
                    #expect((try object(refused)["error"] as? [String: Any])?["code"] as? String == "window_closed")
                    (conversation, messages) = try await conversationMessages(client, key: key)
                    #expect(messages.count == 2, "nothing stored for the refused answer")
                }
            }
        }
    }

    @Test("a failed profile look-up keeps the message and is tried again later; a restricted contact is not looked up")
    func profileRetried() async throws {
        try await FakeModelServer.withServer { model in
            try await withFakeGraph { graph in
                try await withAgentApp(telegramBase: "http://127.0.0.1:9", graphBase: graph.base) { client, harness in
                    let (key, channel) = try await setUp(client, graph: graph, model: model)
                    graph.failNext(path: "/\(Self.customer)", status: 500, code: 2, message: "An unexpected error has occurred")
                    let body = Self.delivery([Self.message("ig.mid.p", text: "Hi", at: harness.clock.now())])
                    #expect(try await deliver(client, channel: channel, body: body, headers: Self.signed(body)).status == .ok)
                    let now = harness.clock.now()
                    let first = try await lookups(harness).run(now: now, logger: TestDatabase.logger)
                    #expect(first.failed == 1)
                    #expect(try await harness.count("SELECT count(*)::int FROM messages") == 1, "the message stays")
                    // Not due again until the backoff passes.
                    let early = try await lookups(harness).run(now: now.addingTimeInterval(30), logger: TestDatabase.logger)
                    #expect(early.found + early.failed == 0)
                    graph.setProfile(id: Self.customer, json: #"{"name": "Dana", "username": "dana", "id": "\#(Self.customer)"}"#)
                    let later = try await lookups(harness).run(now: now.addingTimeInterval(61), logger: TestDatabase.logger)
                    #expect(later.found == 1)
                    #expect(try await harness.count("SELECT count(*)::int FROM contacts WHERE display_name = 'Dana' AND profile_retry_at IS NULL") == 1)

                    // A second customer, restricted before the look-up: never asked about.
                    let other = Self.delivery([Self.message("ig.mid.q", text: "Hi", at: harness.clock.now(), from: "999000111")])
                    #expect(try await deliver(client, channel: channel, body: other, headers: Self.signed(other)).status == .ok)
                    let contacts = try object(try await client.execute(uri: "/v1/contacts", method: .get, headers: headers(bearer: key)) { $0 })
                    let restricted = try #require((contacts["data"] as? [[String: Any]])?.first { $0["display_name"] as? String != "Dana" }?["id"] as? String)
                    let done = try await client.execute(uri: "/v1/contacts/\(restricted)/restrict", method: .post, headers: headers(bearer: key), body: json([:])) { $0 }
                    #expect(done.status == .ok, "\(String(buffer: done.body))")
                    let skipped = try await lookups(harness).run(now: now.addingTimeInterval(3600), logger: TestDatabase.logger)
                    #expect(skipped.found + skipped.failed == 0)
                    #expect(!graph.log.all.contains { $0.path.contains("/999000111?") })
                }
            }
        }
    }

    @Test("Messenger: the page's own echo is stored as the business's and not answered, standby events are not answered, an unsend withdraws the message before its reply")
    func messengerEvents() async throws {
        try await FakeModelServer.withServer { model in
            try await withFakeGraph { graph in
                try await withAgentApp(telegramBase: "http://127.0.0.1:9", graphBase: graph.base) { client, harness in
                    let (key, channel) = try await setUp(client, graph: graph, model: model, kind: "messenger")
                    let now = harness.clock.now()
                    func post(_ body: [UInt8]) async throws {
                        #expect(try await deliver(client, channel: channel, body: body, headers: Self.signed(body)).status == .ok)
                    }
                    try await post(Self.delivery([Self.message("fb.1", text: "Is it in stock?", at: now, to: Self.pageID)], object: "page", account: Self.pageID))
                    // Withdrawn before the worker came to it.
                    try await post(Self.delivery([[
                        "sender": ["id": Self.customer], "recipient": ["id": Self.pageID], "timestamp": Int64(now.timeIntervalSince1970 * 1000) + 5,
                        "message": ["mid": "fb.1", "is_deleted": true],
                    ]], object: "page", account: Self.pageID))
                    // The page answered from Meta's own inbox; another app holds a later message.
                    try await post(Self.delivery([Self.message("fb.echo", text: "Yes, two left.", at: now, from: Self.pageID, to: Self.customer, echo: true)], object: "page", account: Self.pageID))
                    try await post(Self.delivery([Self.message("fb.2", text: "Thanks!", at: now, to: Self.pageID)], object: "page", account: Self.pageID, standby: true))
                    #expect(try await harness.drain() >= 1)
                    #expect(await model.requests.isEmpty, "nothing here is the agent's to answer")
                    #expect(graph.sentCount == 0)
                    let (_, messages) = try await conversationMessages(client, key: key)
                    let byID = Dictionary(uniqueKeysWithValues: messages.map { ($0["external_id"] as? String ?? "", $0) })
                    #expect(byID["fb.1"]?["deleted_at"] is String)
                    #expect(byID["fb.1"]?["reply_status"] as? String == "skipped")
                    #expect(byID["fb.echo"]?["direction"] as? String == "outbound")
                    #expect(byID["fb.echo"]?["ai_generated"] as? Bool == false)
                    #expect(byID["fb.2"]?["reply_status"] as? String == "skipped")
                }
            }
        }
    }

    @Test("hostile deliveries: unsigned, wrongly signed, signed with another secret, truncated, oversized, another page's, unreadable — each a clear answer, nothing stored twice")
    func hostile() async throws {
        try await FakeModelServer.withServer { model in
            try await withFakeGraph { graph in
                try await withAgentApp(telegramBase: "http://127.0.0.1:9", graphBase: graph.base) { client, harness in
                    let (_, channel) = try await setUp(client, graph: graph, model: model)
                    let body = Self.delivery([Self.message("ig.h.1", text: "Hi", at: harness.clock.now())])
                    #expect(try await deliver(client, channel: channel, body: body, headers: [:]).status == .unauthorized)
                    #expect(try await deliver(client, channel: channel, body: body, headers: Self.signed(body, secret: "another-app-secret-0123456789abcdef")).status == .unauthorized)
                    var wrong = Self.signed(body)
                    wrong[HTTPField.Name("X-Hub-Signature-256")!] = "sha256=" + String(repeating: "0", count: 64)
                    #expect(try await deliver(client, channel: channel, body: body, headers: wrong).status == .unauthorized)
                    #expect(try await deliver(client, channel: channel, body: Array(body.dropLast(3)), headers: Self.signed(body)).status == .unauthorized)
                    let huge = Array(repeating: UInt8(ascii: " "), count: 4 << 20) + body  // deliveries over 4 MiB are 413
                    #expect(try await deliver(client, channel: channel, body: huge, headers: Self.signed(huge)).status == .contentTooLarge)
                    #expect(try await harness.count("SELECT count(*)::int FROM inbound_events") == 0)

                    let unreadable = Array(#"{"object": "instagram", "entry": "#.utf8)
                    let refused = try await deliver(client, channel: channel, body: unreadable, headers: Self.signed(unreadable))
                    #expect(refused.status == .badRequest)
                    #expect((try object(refused)["error"] as? [String: Any])?["code"] as? String == "invalid_request")
                    #expect(try await harness.count("SELECT count(*)::int FROM dead_letters") == 1)

                    let elsewhere = Self.delivery([Self.message("ig.h.2", text: "Hi", at: harness.clock.now(), to: "17840000000000000")], account: "17840000000000000")
                    #expect(try await deliver(client, channel: channel, body: elsewhere, headers: Self.signed(elsewhere)).status == .ok)
                    #expect(try await harness.count("SELECT count(*)::int FROM inbound_events WHERE kind = 'ignored'") == 1)
                    #expect(try await harness.count("SELECT count(*)::int FROM messages") == 0)

                    #expect(try await deliver(client, channel: channel, body: body, headers: Self.signed(body)).status == .ok)
                    #expect(try await deliver(client, channel: channel, body: body, headers: Self.signed(body)).status == .ok)
                    #expect(try await harness.count("SELECT count(*)::int FROM messages") == 1)

                    // Meta's subscription check.
                    let verified = try await client.execute(
                        uri: "/hooks/\(channel)?hub.mode=subscribe&hub.verify_token=verify-me-long-enough&hub.challenge=1158201444", method: .get
                    ) { $0 }
                    #expect(verified.status == .ok)
                    #expect(String(buffer: verified.body) == "1158201444")
                    let wrongToken = try await client.execute(
                        uri: "/hooks/\(channel)?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1158201444", method: .get
                    ) { $0 }
                    #expect(wrongToken.status == .unauthorized)
                }
            }
        }
    }
}
