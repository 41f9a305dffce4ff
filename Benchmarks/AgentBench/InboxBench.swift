// switchboard-bench inbox [--runs 500] [--conversations 100000] [--messages-per 20] [--subscribers 200] [--rate 100] [--duration 20]
//     The inbox read model and its live events, against a durable PostgreSQL (the embedded
//     cluster under $SWITCHBOARD_HOME, or DATABASE_URL as a superuser owner).
//
//     Seeds (once; a tenant with the fixed id below is reused when present) one tenant with
//     `conversations` conversations of `messages-per` messages each (100,000 and 2,000,000
//     by default; generate_series, in one statement each), 10 people, reads, notes and
//     deals, and 5 other tenants of 1,000 conversations each. Then times, on ONE database
//     connection, `runs` calls each of: the list (view all, first page), the list of one
//     person's view `mine`, a search, the views' counts, the conversation page (random
//     conversations, marking them read), and the whole conversation page as
//     GET /app/conversations/{id} asks for it (counts + list + conversation + teammates).
//
//     Then live latency: `subscribers` LiveEvents subscribers in this process (one LISTEN
//     connection, as a replica runs it) while inbound messages go through the real ingest
//     statement (`ingest_deliveries`, PostgresIngestStore) at `rate` per second for
//     `duration` seconds; each message's latency is from the ingest's return (its commit)
//     to each subscriber's receipt, and from the ingest's call, over every subscriber.
import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import SwitchboardApp
import SwitchboardCore
import SwitchboardPostgres
import Synchronization

struct InboxBench {
    let runs: Int
    let conversations: Int
    let messagesPer: Int
    let subscribers: Int
    let rate: Int
    let duration: Int

    static let big = TenantID(UUID(uuidString: "00000000-0000-4000-8000-0000000000b1")!)

    func run() async throws {
        let logger = {
            var logger = Logger(label: "bench")
            logger.logLevel = .error
            return logger
        }()
        var configuration = try AppConfiguration.fromEnvironment()
        // One connection for the timed reads; the live part gets its own below.
        configuration.databasePoolSize = 1
        configuration.databaseAcquireTimeout = .seconds(120)
        let bootstrap = try await Bootstrap.prepare(configuration, logger: logger)
        let owner = PostgresClient(
            configuration: bootstrap.ownerConfiguration.clientConfiguration(maximumConnections: 2), backgroundLogger: logger
        )
        try await bootstrap.run { bootstrap in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await owner.run() }
                defer { group.cancelAll() }
                try await seed(owner, logger: logger)
                try await measureReads(bootstrap.database, owner: owner, logger: logger)
                try await measureLive(bootstrap, owner: owner, logger: logger)
            }
        }
    }

    // MARK: Seed

    func seed(_ owner: PostgresClient, logger: Logger) async throws {
        let t = Self.big.description
        var present = 0
        for try await n in try await owner.query("SELECT count(*)::int FROM tenants WHERE id = \(Self.big.uuid)", logger: logger).decode(Int.self) {
            present = n
        }
        if present == 1 {
            print("seed: reusing the seeded tenant \(t)")
            return
        }
        let clock = ContinuousClock()
        let started = clock.now
        let n = conversations
        let per = messagesPer
        var statements: [String] = []
        func tenant(_ id: String, conversations n: Int, per: Int, users: Int) -> [String] {
            [
                "INSERT INTO tenants (id, name) VALUES ('\(id)', 'inbox bench \(id.prefix(8))')",
                """
                INSERT INTO channels (tenant_id, id, kind, name)
                SELECT '\(id)', md5('\(id)' || 'ch' || g)::uuid, (ARRAY['telegram', 'whatsapp', 'webhook'])[g], 'Channel ' || g
                FROM generate_series(1, 3) g
                """,
                """
                INSERT INTO users (tenant_id, id, email, name, role)
                SELECT '\(id)', md5('\(id)' || 'user' || g)::uuid, 'person' || g || '@' || left('\(id)', 8) || '.example',
                       'Person ' || g, CASE WHEN g = 1 THEN 'owner' ELSE 'operator' END
                FROM generate_series(1, \(users)) g
                """,
                """
                INSERT INTO contacts (tenant_id, id, display_name, phone, tags, created_at, last_seen_at)
                SELECT '\(id)', md5('\(id)' || 'contact' || g)::uuid, 'Contact ' || g, '+7700' || lpad(g::text, 7, '0'),
                       CASE WHEN g % 10 = 0 THEN '{vip}'::text[] ELSE '{}' END, now() - interval '200 days', now()
                FROM generate_series(1, \(n)) g
                """,
                """
                INSERT INTO contact_identities (tenant_id, id, contact_id, channel_kind, external_id)
                SELECT '\(id)', md5('\(id)' || 'identity' || g)::uuid, md5('\(id)' || 'contact' || g)::uuid,
                       (ARRAY['telegram', 'whatsapp', 'webhook'])[1 + g % 3], (100000000 + g)::text
                FROM generate_series(1, \(n)) g
                """,
                // Open 80 %, a tenth with a person, a third assigned; the most recent first in time.
                """
                INSERT INTO conversations (tenant_id, id, channel_id, contact_id, chat_external_id, status, mode, handoff_reason,
                                           assignee_user_id, created_at, last_message_at, closed_at)
                SELECT '\(id)', md5('\(id)' || 'conversation' || g)::uuid, md5('\(id)' || 'ch' || (1 + g % 3))::uuid,
                       md5('\(id)' || 'contact' || g)::uuid, (100000000 + g)::text,
                       CASE WHEN g % 5 = 0 THEN 'closed' ELSE 'open' END, CASE WHEN g % 10 = 3 THEN 'human' ELSE 'ai' END,
                       CASE WHEN g % 10 = 3 THEN 'keyword' END,
                       CASE WHEN g % 3 = 0 THEN md5('\(id)' || 'user' || (1 + g % \(users)))::uuid END,
                       now() - interval '200 days', now() - g * interval '2 minutes',
                       CASE WHEN g % 5 = 0 THEN now() - g * interval '2 minutes' END
                FROM generate_series(1, \(n)) g
                """,
                // Messages in conversation order (seq grows with i), alternating inbound and
                // answers (AI, or a person's after a handoff); every 50th edited.
                """
                INSERT INTO messages (tenant_id, id, conversation_id, channel_id, contact_id, direction, text, ai_generated,
                                      delivery_status, sent_by_user_id, created_at, edited_at, reply_status)
                SELECT '\(id)', md5('\(id)' || 'message' || g || '.' || i)::uuid, md5('\(id)' || 'conversation' || g)::uuid,
                       md5('\(id)' || 'ch' || (1 + g % 3))::uuid,
                       CASE WHEN i % 2 = 1 THEN md5('\(id)' || 'contact' || g)::uuid END,
                       CASE WHEN i % 2 = 1 THEN 'inbound' ELSE 'outbound' END,
                       CASE WHEN i % 2 = 1 THEN 'Hello, I would like to order item ' || (g * 7 + i) % 997 || ' in Almaty, is it available?'
                            ELSE 'Yes, item ' || (g * 7 + i) % 997 || ' is in stock; delivery takes one day.' END,
                       i % 2 = 0 AND g % 10 <> 3,
                       CASE WHEN i % 2 = 0 THEN 'delivered' END,
                       CASE WHEN i % 2 = 0 AND g % 10 = 3 THEN md5('\(id)' || 'user' || (1 + g % \(users)))::uuid END,
                       now() - g * interval '2 minutes' - (\(per) - i) * interval '1 second',
                       CASE WHEN i % 50 = 1 THEN now() - g * interval '2 minutes' END,
                       CASE WHEN i % 2 = 1 THEN 'answered' END
                FROM generate_series(1, \(n)) g CROSS JOIN generate_series(1, \(per)) i
                ORDER BY g, i
                """,
                """
                INSERT INTO message_edits (tenant_id, id, message_id, previous_text, edited_at)
                SELECT '\(id)', gen_random_uuid(), md5('\(id)' || 'message' || g || '.' || i)::uuid, 'Hello, I would like…',
                       now() - g * interval '2 minutes' - interval '30 seconds'
                FROM generate_series(1, \(n)) g CROSS JOIN generate_series(1, \(per), 50) i
                """,
                // Person 1 has read half of the conversations up to their 10th message.
                """
                INSERT INTO conversation_reads (tenant_id, conversation_id, user_id, read_seq)
                SELECT '\(id)', m.conversation_id, md5('\(id)' || 'user' || 1)::uuid, max(m.seq)
                FROM messages m WHERE m.tenant_id = '\(id)' AND m.id IN (
                    SELECT md5('\(id)' || 'message' || g || '.' || 10)::uuid FROM generate_series(2, \(n), 2) g)
                GROUP BY m.conversation_id
                """,
                """
                INSERT INTO notes (tenant_id, id, contact_id, body)
                SELECT '\(id)', gen_random_uuid(), md5('\(id)' || 'contact' || g)::uuid, 'Prefers delivery after 18:00. Note ' || j
                FROM generate_series(1, \(n), 4) g CROSS JOIN generate_series(1, 3) j
                """,
                """
                INSERT INTO deals (tenant_id, id, contact_id, title, stage, amount_minor, currency)
                SELECT '\(id)', gen_random_uuid(), md5('\(id)' || 'contact' || g)::uuid, 'Order ' || g, 'new', g * 100, 'KZT'
                FROM generate_series(1, \(n), 7) g
                """,
                """
                INSERT INTO consents (tenant_id, contact_id, purpose, granted, source)
                SELECT '\(id)', md5('\(id)' || 'contact' || g)::uuid, 'ai_processing', true, 'chat'
                FROM generate_series(1, \(n), 3) g
                """,
            ]
        }
        statements += tenant(t, conversations: n, per: per, users: 10)
        for index in 1...5 {
            statements += tenant(String(format: "00000000-0000-4000-8000-0000000000c%d", index), conversations: 1000, per: 10, users: 3)
        }
        statements += ["VACUUM ANALYZE"]
        for statement in statements {
            try await owner.query(PostgresQuery(unsafeSQL: statement), logger: logger)
        }
        print("seed: \(n) conversations, \(n * per) messages in the big tenant, 5 others: \(format(milliseconds(clock.now - started) / 1000)) s")
    }

    // MARK: Reads

    func measureReads(_ database: Database, owner: PostgresClient, logger: Logger) async throws {
        let store = PostgresInboxStore(database: database)
        let tenant = Self.big
        let t = tenant.description
        // The seed's ids are md5(text)::uuid; ask PostgreSQL for the ones the calls name.
        func ids(_ sql: String) async throws -> [UUID] {
            var found: [UUID] = []
            for try await id in try await owner.query(PostgresQuery(unsafeSQL: sql), logger: logger).decode(UUID.self) { found.append(id) }
            return found
        }
        let person = UserID(try await ids("SELECT md5('\(t)' || 'user1')::uuid")[0])
        let people = try await ids("SELECT id FROM users WHERE tenant_id = '\(t)'").map { UserID($0) }
        let closedChannel = ChannelID(try await ids("SELECT md5('\(t)' || 'ch2')::uuid")[0])
        // The seeded ones (the live part's ingest adds conversations of its own, run after run).
        let conversationIDs = try await ids(
            "SELECT id FROM conversations WHERE tenant_id = '\(t)' AND chat_external_id NOT LIKE 'live-%'"
        ).map { ConversationID($0) }
        let secondPage = try await store.list(tenant, viewer: person, filter: InboxFilter(view: .all), page: PageRequest(limit: 50)).nextCursor
        let n = conversations
        print("")
        print("| inbox read, one connection, \(n) conversations / \(n * messagesPer) messages | runs | p50 ms | p99 ms | max ms |")
        print("|---|---:|---:|---:|---:|")
        var p99s: [String: Double] = [:]
        func time(_ name: String, _ call: () async throws -> Void) async throws {
            for _ in 0..<20 { try await call() }  // warm-up
            var latencies: [Double] = []
            let clock = ContinuousClock()
            for _ in 0..<runs {
                let began = clock.now
                try await call()
                latencies.append(milliseconds(clock.now - began))
            }
            latencies.sort()
            p99s[name] = percentile(latencies, 0.99)
            print("| \(name) | \(runs) | \(format(percentile(latencies, 0.5))) | \(format(percentile(latencies, 0.99))) | \(format(latencies.last ?? 0)) |")
        }
        try await time("list: all, first page (50)") {
            let page = try await store.list(tenant, viewer: person, filter: InboxFilter(view: .all), page: PageRequest(limit: 50))
            precondition(page.data.count == 50)
        }
        try await time("list: all, page 2 (cursor)") {
            let cursor = secondPage.flatMap { Cursor(encoded: $0) }
            precondition(cursor != nil)
            _ = try await store.list(tenant, viewer: person, filter: InboxFilter(view: .all), page: PageRequest(limit: 50, cursor: cursor))
        }
        try await time("list: mine (a random person), first page") {
            _ = try await store.list(tenant, viewer: people.randomElement()!, filter: InboxFilter(view: .mine), page: PageRequest(limit: 50))
        }
        try await time("list: handed off, first page") {
            _ = try await store.list(tenant, viewer: person, filter: InboxFilter(view: .handedOff), page: PageRequest(limit: 50))
        }
        try await time("list: closed, one channel, first page") {
            _ = try await store.list(tenant, viewer: person, filter: InboxFilter(view: .closed, channelID: closedChannel), page: PageRequest(limit: 50))
        }
        try await time("list: search a contact's name (random)") {
            let g = Int.random(in: 1...n)
            _ = try await store.list(tenant, viewer: person, filter: InboxFilter(view: .all, search: "Contact \(g)"), page: PageRequest(limit: 50))
        }
        try await time("list: search message text (random item)") {
            _ = try await store.list(
                tenant, viewer: person, filter: InboxFilter(view: .all, search: "item \(Int.random(in: 0..<997)) in"), page: PageRequest(limit: 50)
            )
        }
        try await time("counts of the six views (sidebar)") {
            _ = try await store.counts(tenant, viewer: person, channelID: nil)
        }
        try await time("conversation (latest ≤ 100 messages: \(messagesPer) here; side panel; marks read), random") {
            let page = try await store.conversation(tenant, conversationIDs.randomElement()!, viewer: person)
            precondition(page.messages.count == messagesPer)
        }
        try await time("whole conversation page: counts + list + conversation + teammates") {
            _ = try await store.counts(tenant, viewer: person, channelID: nil)
            _ = try await store.list(tenant, viewer: person, filter: InboxFilter(view: .all), page: PageRequest(limit: 50))
            _ = try await store.conversation(tenant, conversationIDs.randomElement()!, viewer: person)
            _ = try await store.teammates(tenant)
        }
        let worst = p99s.filter { !$0.key.hasPrefix("whole") }.values.max() ?? .nan
        print("\nworst p99 of a single read: \(format(worst)) ms (target ≤ 50 ms)")
    }

    // MARK: Live

    func measureLive(_ bootstrap: Bootstrap, owner: PostgresClient, logger: Logger) async throws {
        // The ingest and the listener get connections of their own, as the app role, as in
        // a server.
        let migrator = Migrator(
            owner: bootstrap.ownerConfiguration, migrations: try Migration.bundled(), functions: try SQLFunctionFile.bundled(),
            appRolePassword: bootstrap.masterKey.appRolePassword, logger: logger
        )
        let database = Database(configuration: migrator.appConfiguration, maximumConnections: 8, acquireTimeout: .seconds(60), logger: logger)
        let live = LiveEvents(database: database, logger: logger, bufferSize: 256, perTenantLimit: max(500, subscribers), totalLimit: 10_000)
        let ingest = PostgresIngestStore(database: database)
        var channelID: UUID?
        for try await id in try await owner.query("SELECT md5(\(Self.big.description) || 'ch1')::uuid", logger: logger).decode(UUID.self) {
            channelID = id
        }
        let channel = ChannelID(channelID!)
        let route = ChannelRoute(channelID: channel, tenantID: Self.big, kind: "telegram", enabled: true, sealedCredentials: [])
        let clock = ContinuousClock()
        let tally = LiveTally()
        let total = rate * duration

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await database.client.run() }
            group.addTask { try await live.run() }
            defer { group.cancelAll() }
            let streams = try (0..<subscribers).map { _ in try live.subscribe(Self.big) }
            await live.listening()
            let (done, finished) = AsyncStream<Void>.makeStream()
            var readers: [Task<Void, Never>] = []
            for stream in streams {
                readers.append(Task {
                    for await event in stream {
                        let now = clock.now
                        guard event.kind == "message", let message = event.messageID else { continue }
                        tally.receipts.withLock { $0.append((message, now)) }
                        if tally.counted.add(1, ordering: .relaxed).newValue == total * subscribers { finished.yield() }
                    }
                })
            }
            let interval = Duration.seconds(1) / rate
            let start = clock.now
            try await withThrowingTaskGroup(of: Void.self) { senders in
                for index in 0..<total {
                    let due = start + interval * index
                    try await clock.sleep(until: due)
                    senders.addTask {
                        let sender = IngestEvent.Sender(externalID: "live-\(index % 500)", name: "Live \(index % 500)")
                        let event = IngestEvent(
                            kind: .message, eventID: "live-\(UUID().uuidString)", messageID: "\(index)", sender: sender,
                            text: "live message \(index)"
                        )
                        let called = clock.now
                        let results = try await ingest.ingest(route, payload: "{}", events: [event])
                        let returned = clock.now
                        if let id = results.first?.messageID { tally.calls.withLock { $0[id] = (called, returned) } }
                    }
                }
                try await senders.waitForAll()
            }
            // Every subscriber has every message (or the bench reports what was missing).
            let deadline = Task {
                try? await Task.sleep(for: .seconds(10))
                finished.yield()
            }
            for await _ in done { break }
            deadline.cancel()
            for reader in readers { reader.cancel() }
            _ = streams
        }
        let sent = tally.calls.withLock { $0 }
        let got = tally.receipts.withLock { $0 }
        var fromCommit: [Double] = []
        var fromCall: [Double] = []
        for (message, at) in got {
            guard let (called, returned) = sent[message] else { continue }
            fromCommit.append(max(0, milliseconds(at - returned)))
            fromCall.append(milliseconds(at - called))
        }
        fromCommit.sort()
        fromCall.sort()
        print("")
        print("| live: \(subscribers) in-process LiveEvents subscribers, ingest at \(rate)/s for \(duration) s | deliveries | p50 ms | p99 ms | max ms |")
        print("|---|---:|---:|---:|---:|")
        print("| ingest commit → subscriber | \(fromCommit.count) of \(sent.count * subscribers) | \(format(percentile(fromCommit, 0.5))) | \(format(percentile(fromCommit, 0.99))) | \(format(fromCommit.last ?? .nan)) |")
        print("| ingest call → subscriber | \(fromCall.count) | \(format(percentile(fromCall, 0.5))) | \(format(percentile(fromCall, 0.99))) | \(format(fromCall.last ?? .nan)) |")
        print("\nlive p99 (commit → subscriber): \(format(percentile(fromCommit, 0.99))) ms (target ≤ 100 ms)")
    }
}

/// What the live part's tasks record: each message's ingest call and return, and each receipt.
final class LiveTally: Sendable {
    let calls = Mutex<[MessageID: (ContinuousClock.Instant, ContinuousClock.Instant)]>([:])
    let receipts = Mutex<[(MessageID, ContinuousClock.Instant)]>([])
    let counted = Atomic<Int>(0)
}
