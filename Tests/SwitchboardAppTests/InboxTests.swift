import AsyncHTTPClient
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOHTTP1
import PostgresNIO
@testable import SwitchboardApp
import SwitchboardCore
import SwitchboardPostgres
import SwitchboardTestSupport
import Testing

/// The app as production builds it: /app behind the session of a signed-in person.
func withInboxApp<Result: Sendable>(
    _ setup: TestingSetup = .router, _ body: @Sendable (any TestClientProtocol) async throws -> Result
) async throws -> Result {
    try await withApp(setup, body)
}

/// The CSRF token of the sessions `principal` opens.
let testCSRF = "csrf-test-token-1234"

/// Runs statements as the owner (row-level security does not hold it back).
func ownerExecute(_ sql: String) async throws {
    let owner = try await TestDatabase.shared.sharedDatabase()
    _ = try await PostgresAdministration.withConnection(owner, logger: TestDatabase.logger) { connection in
        try await connection.query(PostgresQuery(unsafeSQL: sql), logger: TestDatabase.logger)
    }
}

/// A person of the tenant, made as sign-up would leave it (users + user_directory).
func createUser(tenant: String, name: String, role: String = "operator") async throws -> String {
    let id = UUID().uuidString.lowercased()
    let email = "\(id.prefix(8))@example.kz"
    try await ownerExecute("INSERT INTO users (tenant_id, id, email, name, role) VALUES ('\(tenant)', '\(id)', '\(email)', '\(name)', '\(role)')")
    try await ownerExecute("INSERT INTO user_directory (email, tenant_id, user_id) VALUES ('\(email)', '\(tenant)', '\(id)')")
    return id
}

/// A session for the person (as sign-in would open one): the cookie and CSRF header a
/// browser would send.
func principal(_ tenant: String, _ user: String) async throws -> HTTPFields {
    let secret = UUID().uuidString + UUID().uuidString
    let hash = SHA256.hash(data: Array(secret.utf8)).map { String(format: "%02x", $0) }.joined()
    try await ownerExecute(
        """
        INSERT INTO user_sessions (tenant_id, id, user_id, token_hash, csrf_token, expires_at)
        VALUES ('\(tenant)', gen_random_uuid(), '\(user)', decode('\(hash)', 'hex'), '\(testCSRF)', now() + interval '1 hour')
        """
    )
    var fields = HTTPFields()
    fields[.cookie] = "sb_session=\(tenant).\(secret)"
    fields[HTTPField.Name("X-CSRF-Token")!] = testCSRF
    return fields
}

func text(_ response: TestResponse) -> String { String(buffer: response.body) }

@Suite("Inbox")
struct InboxTests {
    @Test("the inbox and conversation pages render for a signed-in person, escape what customers write, and count unread")
    func pages() async throws {
        try await withInboxApp { client in
            let tenant = try await createTenant(client)
            let channel = try await createChannel(client, key: tenant.key, kind: "telegram", credentials: ["bot_token": botToken], name: "Shop <bot>")
            let secret = try #require(channel.revealed["secret_token"])
            let hostile = "<script>alert(1)</script> & \"quotes\""
            for (index, message) in ["hello", hostile].enumerated() {
                let body = telegramUpdate(updateID: 5000 + index, userID: 771_001, messageID: index, text: message, name: "<b>Eve</b>")
                #expect(try await deliver(client, channel: channel.id, body: body, headers: telegramHeaders(secret)).status == .ok)
            }
            let conversation = try #require(try await listData(client, "/v1/conversations", key: tenant.key).first?["id"] as? String)
            let user = try await createUser(tenant: tenant.id, name: "Aliya")
            let me = try await principal(tenant.id, user)

            try await client.execute(uri: "/app/inbox", method: .get, headers: me) { response in
                #expect(response.status == .ok)
                let html = text(response)
                #expect(response.headers[.contentSecurityPolicy]?.contains("default-src 'self'") == true)
                #expect(response.headers[.contentType]?.hasPrefix("text/html") == true)
                #expect(html.contains("<meta name=\"csrf-token\" content=\"\(testCSRF)\">"))
                #expect(html.contains("id=\"conversation-list\""))
                #expect(html.contains("class=\"conversation-row unread\" data-id=\"\(conversation)\""), "\(html)")
                #expect(html.contains("<span class=\"badge\" aria-label=\"unread\">2</span>"))
                #expect(!html.contains("<script>alert(1)"))
                #expect(!html.contains("<b>Eve</b>"))
                #expect(html.contains("&lt;b&gt;Eve&lt;/b&gt;"))
                #expect(html.contains("Shop &lt;bot&gt;"))
                #expect(!html.contains("<script>"), "no inline script: only the external one")
                #expect(html.contains("<script src=\"/app/assets/app.js\" defer></script>"))
            }
            try await client.execute(uri: "/app/conversations/\(conversation)", method: .get, headers: me) { response in
                #expect(response.status == .ok)
                let html = text(response)
                #expect(html.contains("id=\"messages\""))
                #expect(html.contains("data-direction=\"inbound\" data-sender=\"customer\""))
                #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;"))
                #expect(!html.contains("<script>alert(1)"))
                for id in ["reply-text", "reply-send", "take-over", "assign-select", "note-text", "note-add", "close-conversation", "live-status"] {
                    #expect(html.contains("id=\"\(id)\""), "missing #\(id)")
                }
                #expect(html.contains("Aliya (operator)"), "teammates in the assign select")
                #expect(html.contains("telegram: 771001"), "the identity in the side panel")
            }
            // Read now: no badge.
            try await client.execute(uri: "/app/inbox", method: .get, headers: me) { response in
                #expect(!text(response).contains("class=\"badge\""))
                #expect(text(response).contains("class=\"conversation-row\" data-id=\"\(conversation)\""))
            }
            try await client.execute(uri: "/app/conversations/\(conversation)/messages", method: .get, headers: me) { response in
                #expect(response.status == .ok)
                #expect(text(response).contains("class=\"message customer\""))
                #expect(!text(response).contains("<html"))
            }
            try await client.execute(uri: "/app/inbox/list?view=all&q=eve", method: .get, headers: me) { response in
                #expect(text(response).contains("data-id=\"\(conversation)\""))
            }
            try await client.execute(uri: "/app/inbox?q=alert", method: .get, headers: me) { response in
                #expect(text(response).contains("data-id=\"\(conversation)\""), "message text is searched")
            }
            try await client.execute(uri: "/app/inbox?q=nobody-like-this", method: .get, headers: me) { response in
                #expect(text(response).contains("Nothing matches this search."))
            }
            try await client.execute(uri: "/app/inbox?view=mine", method: .get, headers: me) { response in
                #expect(text(response).contains("No conversations here yet."))
            }
            try await client.execute(uri: "/app/inbox?view=everything", method: .get, headers: me) { response in
                try expectError(response, .badRequest, "invalid_request", field: "view")
            }
            try await client.execute(uri: "/app/assets/app.js", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.cacheControl]?.contains("max-age") == true)
                #expect(text(response).contains("new EventSource('/app/events')"))
            }
            try await client.execute(uri: "/app/assets/app.css", method: .get) { response in
                #expect(response.headers[.contentType]?.hasPrefix("text/css") == true)
            }
            try await client.execute(uri: "/app/inbox", method: .get) { response in
                #expect(response.status == .unauthorized, "no principal, no page")
            }

            // Another tenant's person: the conversation and its fragment are not found.
            let other = try await createTenant(client)
            let stranger = try await createUser(tenant: other.id, name: "Boris")
            for uri in ["/app/conversations/\(conversation)", "/app/conversations/\(conversation)/messages", "/app/conversations/not-a-uuid"] {
                try await client.execute(uri: uri, method: .get, headers: try await principal(other.id, stranger)) { response in
                    try expectError(response, .notFound, "not_found")
                }
            }
            try await client.execute(uri: "/app/inbox", method: .get, headers: try await principal(other.id, stranger)) { response in
                #expect(!text(response).contains(conversation))
            }
        }
    }

    @Test("assign: another tenant's or an unknown person is not found; a person of the tenant is assigned and journaled")
    func assign() async throws {
        try await withInboxApp { client in
            let seeded = try await seededTenant(client, senders: [(881_001, "Dana")])
            let key = seeded.tenant.key
            let conversation = try #require(try await listData(client, "/v1/conversations", key: key).first?["id"] as? String)
            let aliya = try await createUser(tenant: seeded.tenant.id, name: "Aliya")
            let other = try await createTenant(client)
            let stranger = try await createUser(tenant: other.id, name: "Boris")
            let uri = "/v1/conversations/\(conversation)/assign"
            for user in [stranger, UUID().uuidString.lowercased(), "not-a-uuid"] {
                try await client.execute(uri: uri, method: .post, headers: headers(bearer: key), body: json(["user_id": user])) { response in
                    try expectError(response, .notFound, "not_found")
                }
            }
            try await client.execute(uri: uri, method: .post, headers: headers(bearer: key), body: json([:])) { response in
                try expectError(response, .badRequest, "invalid_request", field: "user_id")
            }
            try await client.execute(uri: uri, method: .post, headers: headers(bearer: other.key), body: json(["user_id": stranger])) { response in
                try expectError(response, .notFound, "not_found")
            }
            try await client.execute(uri: uri, method: .post, headers: headers(bearer: key), body: json(["user_id": aliya])) { response in
                #expect(response.status == .ok, "\(text(response))")
                let body = try object(response)
                #expect(body["assignee_user_id"] as? String == aliya)
            }
            #expect(try await ownerCount("""
                SELECT count(*) FROM audit_log WHERE tenant_id = '\(seeded.tenant.id)'
                  AND action = 'POST /v1/conversations/{id}/assign' AND subject_id = '\(conversation)'
                """) == 1)
            try await client.execute(uri: "/app/inbox?view=mine", method: .get, headers: try await principal(seeded.tenant.id, aliya)) { response in
                #expect(text(response).contains("data-id=\"\(conversation)\""))
                #expect(text(response).contains("Aliya"))
            }
            try await client.execute(uri: uri, method: .post, headers: headers(bearer: key), body: ByteBuffer(string: #"{"user_id": null}"#)) { response in
                #expect(response.status == .ok)
                let body = try object(response)
                #expect(body["assignee_user_id"] is NSNull)
            }
            try await client.execute(uri: "/app/inbox?view=unassigned", method: .get, headers: try await principal(seeded.tenant.id, aliya)) { response in
                #expect(text(response).contains("data-id=\"\(conversation)\""))
            }
        }
    }

    @Test("events: a person of tenant A sees A's inbound message from the real ingest, and never B's")
    func eventsAreTheTenantsOwn() async throws {
        try await withInboxApp(.live) { client in
            let port = try #require(client.port)
            let a = try await createTenant(client)
            let b = try await createTenant(client)
            let channelA = try await createChannel(client, key: a.key, kind: "telegram", credentials: ["bot_token": botToken])
            let channelB = try await createChannel(client, key: b.key, kind: "telegram", credentials: ["bot_token": botToken])
            let operatorA = try await createUser(tenant: a.id, name: "Aliya")

            let http = HTTPClient(eventLoopGroupProvider: .singleton)
            do {
                var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/app/events")
                for field in try await principal(a.id, operatorA) { request.headers.add(name: field.name.rawName, value: field.value) }
                let response = try await http.execute(request, timeout: .seconds(60))
                #expect(response.status == .ok)
                #expect(response.headers.first(name: "content-type")?.hasPrefix("text/event-stream") == true)
                var iterator = response.body.makeAsyncIterator()
                var received = ""
                // The stream says it listens before anything else: nothing after is missed.
                while !received.contains(": listening\n\n") {
                    guard let chunk = try await iterator.next() else { Issue.record("stream ended"); return }
                    received += String(buffer: chunk)
                }
                #expect(received.hasPrefix("retry: 2000\n"))

                // B's message first, then A's: B's events would arrive before A's.
                let bodyB = telegramUpdate(updateID: 9100, userID: 991_002, text: "for B only", name: "Bea")
                #expect(try await deliver(client, channel: channelB.id, body: bodyB, headers: telegramHeaders(try #require(channelB.revealed["secret_token"]))).status == .ok)
                let bodyA = telegramUpdate(updateID: 9101, userID: 991_001, text: "for A", name: "Ann")
                #expect(try await deliver(client, channel: channelA.id, body: bodyA, headers: telegramHeaders(try #require(channelA.revealed["secret_token"]))).status == .ok)
                let conversationA = try #require(try await listData(client, "/v1/conversations", key: a.key).first?["id"] as? String)
                let conversationB = try #require(try await listData(client, "/v1/conversations", key: b.key).first?["id"] as? String)

                var events: [(kind: String, data: [String: Any])] = []
                var buffer = received.components(separatedBy: ": listening\n\n").dropFirst().joined()
                while !events.contains(where: { $0.kind == "message" }) {
                    while let range = buffer.range(of: "\n\n") {
                        let block = String(buffer[..<range.lowerBound])
                        buffer = String(buffer[range.upperBound...])
                        var kind: String?
                        var data: [String: Any] = [:]
                        for line in block.split(separator: "\n") {
                            if line.hasPrefix("event: ") { kind = String(line.dropFirst(7)) }
                            if line.hasPrefix("data: ") {
                                data = (try? JSONSerialization.jsonObject(with: Data(line.dropFirst(6).utf8))) as? [String: Any] ?? [:]
                            }
                        }
                        if let kind { events.append((kind, data)) }
                    }
                    if events.contains(where: { $0.kind == "message" }) { break }
                    guard let chunk = try await iterator.next() else { Issue.record("stream ended"); return }
                    buffer += String(buffer: chunk)
                }
                let ids = events.compactMap { $0.data["conversation_id"] as? String }
                #expect(!ids.contains(conversationB), "B's events reached A: \(events.map(\.kind))")
                #expect(ids.allSatisfy { $0 == conversationA }, "\(ids)")
                #expect(events.map(\.kind).first == "conversation")
                let message = try #require(events.first { $0.kind == "message" })
                #expect(message.data["conversation_id"] as? String == conversationA)
                #expect(message.data["message_id"] is String)
            } catch {
                try await http.shutdown()
                throw error
            }
            try await http.shutdown()
        }
    }

    @Test("live events: a slow subscriber keeps the newest and is told to resync; subscribers per tenant are bounded")
    func liveEventsBounds() async throws {
        let configuration = try await testConfiguration()
        let bootstrap = try await Bootstrap.prepare(configuration, logger: TestDatabase.logger)
        let live = LiveEvents(database: bootstrap.database, logger: TestDatabase.logger, bufferSize: 4, perTenantLimit: 2, totalLimit: 3)
        let tenant = TenantID()
        let other = TenantID()
        let stream = try live.subscribe(tenant)
        let second = try live.subscribe(tenant)
        #expect(throws: SwitchboardError.self) { _ = try live.subscribe(tenant) as AsyncStream<LiveEvent> }
        let third = try live.subscribe(other)
        #expect(throws: SwitchboardError.self) { _ = try live.subscribe(TenantID()) as AsyncStream<LiveEvent> }
        #expect(live.subscriberCount == 3)
        for index in 0..<10 { live.publish(tenant, LiveEvent(kind: "message", conversationID: ConversationID(), messageID: nil)); _ = index }
        live.publish(other, LiveEvent(kind: "closed"))
        var received: [LiveEvent] = []
        for await event in stream {
            received.append(event)
            if received.count == 4 { break }
        }
        #expect(received.count == 4)
        #expect(received.last == .resync, "\(received.map(\.kind))")
        #expect(!received.contains { $0.kind == "closed" }, "another tenant's event")
        _ = second
        _ = third
        #expect(LiveEvent.parse(#"{"t":"\#(tenant)","c":"\#(ConversationID())","k":"message"}"#)?.0 == tenant)
        #expect(LiveEvent.parse(#"{"t":"\#(tenant)","k":"drop table"}"#) == nil)
        #expect(LiveEvent.parse("not json") == nil)
    }
}

@Suite("Inbox read model and triggers")
struct InboxStoreTests {
    /// Runs `body` with a pool of its own and a running `LiveEvents` on the test database.
    func withLive(_ body: @Sendable (Database, LiveEvents) async throws -> Void) async throws {
        let configuration = try await testConfiguration()
        let bootstrap = try await Bootstrap.prepare(configuration, logger: TestDatabase.logger)
        let database = bootstrap.database
        let live = LiveEvents(database: database, logger: TestDatabase.logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await database.client.run() }
            group.addTask { try await live.run() }
            defer { group.cancelAll() }
            // LiveEvents listens once someone subscribes: the body subscribes, then waits.
            try await body(database, live)
        }
    }

    @Test("views, counts, keyset pages; each change of a conversation is announced to its tenant with its kind")
    func viewsAndEvents() async throws {
        try await withInboxApp { client in
            let seeded = try await seededTenant(client, senders: [(661_001, "Dana"), (661_002, "Arman"), (661_003, "Aruzhan")])
            let key = seeded.tenant.key
            let tenant = try #require(TenantID(seeded.tenant.id))
            let user = try await createUser(tenant: seeded.tenant.id, name: "Aliya")
            let viewer = try #require(UserID(user))
            let ids = try await listData(client, "/v1/conversations", key: key).compactMap { $0["id"] as? String }
            #expect(ids.count == 3)
            try await withLive { database, live in
                let store = PostgresInboxStore(database: database)
                let first = try await store.list(tenant, viewer: viewer, filter: InboxFilter(view: .all), page: PageRequest(limit: 2))
                #expect(first.data.map(\.id.description) == Array(ids.prefix(2)))
                #expect(first.data.allSatisfy { $0.unread == 1 && $0.previewDirection == "inbound" })
                let second = try await store.list(
                    tenant, viewer: viewer, filter: InboxFilter(view: .all),
                    page: PageRequest(limit: 2, cursor: first.nextCursor.flatMap { Cursor(encoded: $0) })
                )
                #expect(second.data.map(\.id.description) == [ids[2]])
                #expect(second.nextCursor == nil)

                let events = try live.subscribe(tenant)
                await live.listening()
                let uri = "/v1/conversations/\(ids[0])"
                for (path, body) in [("/handoff", "{}"), ("/resume", ""), ("/assign", #"{"user_id":"\#(user)"}"#), ("/close", ""), ("/reopen", "")] {
                    try await client.execute(uri: uri + path, method: .post, headers: headers(bearer: key), body: ByteBuffer(string: body)) { response in
                        #expect(response.status == .ok, "\(path): \(text(response))")
                    }
                }
                var kinds: [String] = []
                for await event in events {
                    #expect(event.conversationID?.description == ids[0])
                    kinds.append(event.kind)
                    if kinds.count == 5 { break }
                }
                #expect(kinds == ["handed_off", "resumed", "assigned", "closed", "reopened"])

                try await client.execute(uri: "/v1/conversations/\(ids[1])/handoff", method: .post, headers: headers(bearer: key), body: ByteBuffer(string: "{}")) { _ in }
                try await client.execute(uri: "/v1/conversations/\(ids[2])/close", method: .post, headers: headers(bearer: key)) { _ in }
                let counts = try await store.counts(tenant, viewer: viewer, channelID: nil)
                #expect(counts == [.mine: 1, .unassigned: 1, .handedOff: 1, .ai: 1, .closed: 1, .all: 3])
                for (view, expected) in [(InboxView.mine, [ids[0]]), (.unassigned, [ids[1]]), (.handedOff, [ids[1]]), (.ai, [ids[0]]), (.closed, [ids[2]])] {
                    let page = try await store.list(tenant, viewer: viewer, filter: InboxFilter(view: view), page: PageRequest())
                    #expect(page.data.map(\.id.description) == expected, "\(view)")
                }
                // Opening marks read; another person still has it unread.
                let opened = try await store.conversation(tenant, try #require(ConversationID(ids[1])), viewer: viewer)
                #expect(opened.messages.count == 1 && opened.mode == "human")
                let after = try await store.list(tenant, viewer: viewer, filter: InboxFilter(view: .unassigned), page: PageRequest())
                #expect(after.data.first?.unread == 0)
                // A person's reply records who sent it and is announced; so is its delivery status.
                let conversationID = try #require(ConversationID(ids[1]))
                let reply = try await PostgresConversationStore(database: database).postPersonMessage(
                    tenant, conversationID, text: "On my way <3", sentBy: viewer
                )
                try await ownerExecute("UPDATE messages SET delivery_status = 'delivered' WHERE id = '\(reply.id)'")
                var announced: [LiveEvent] = []
                var before: [String] = []
                for await event in events {
                    guard event.messageID == reply.id else { before.append(event.kind); continue }
                    announced.append(event)
                    if announced.count == 2 { break }
                }
                #expect(before == ["handed_off", "closed"], "the two changes made above, in order")
                #expect(announced.map(\.kind) == ["message", "status"])
                #expect(announced.allSatisfy { $0.messageID == reply.id && $0.conversationID == conversationID })
                let page = try await store.conversation(tenant, conversationID, viewer: viewer)
                let sent = try #require(page.messages.last)
                #expect(sent.direction == "outbound" && sent.sentByName == "Aliya" && sent.deliveryStatus == "delivered" && !sent.aiGenerated)
                let me = try await principal(seeded.tenant.id, user)
                try await client.execute(uri: "/app/conversations/\(ids[1])", method: .get, headers: me) { response in
                    let html = text(response)
                    #expect(html.contains("data-direction=\"outbound\" data-sender=\"person\""))
                    #expect(html.contains("<span class=\"sender\">Aliya</span>"))
                    #expect(html.contains("On my way &lt;3"))
                    #expect(html.contains("data-status=\"delivered\""))
                }
                #expect(InboxFilter(search: String(repeating: "x", count: 500)).search?.count == InboxFilter.maximumSearch)
                #expect(InboxFilter(search: "   ").search == nil)
            }
        }
    }
}
