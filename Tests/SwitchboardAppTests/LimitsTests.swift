import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOPosix
import PostgresNIO
@testable import SwitchboardApp
import SwitchboardCore
import SwitchboardPipeline
import SwitchboardPostgres
import SwitchboardTestSupport
import Synchronization
import Testing

/// A monotonic clock the test moves by hand.
final class ManualInstant: Sendable {
    private let instant = Mutex(ContinuousClock.now)
    func now() -> ContinuousClock.Instant { instant.withLock { $0 } }
    func advance(_ duration: Duration) { instant.withLock { $0 += duration } }
}

/// A tenant store that counts its lookups of keys and passes everything to the real one.
final class CountingTenantStore: TenantStore {
    let store: any TenantStore
    let lookups = Atomic<Int>(0)
    init(_ store: any TenantStore) { self.store = store }

    func createTenant(name: String, trialCredits: Credits, firstKey: NewAPIKey) async throws -> (Tenant, APIKey) {
        try await store.createTenant(name: name, trialCredits: trialCredits, firstKey: firstKey)
    }
    func tenants(page: PageRequest) async throws -> Page<Tenant> { try await store.tenants(page: page) }
    func tenant(_ tenant: TenantID) async throws -> Tenant { try await store.tenant(tenant) }
    func deleteTenant(_ tenant: TenantID) async throws { try await store.deleteTenant(tenant) }
    func createAPIKey(_ tenant: TenantID, _ key: NewAPIKey) async throws -> APIKey { try await store.createAPIKey(tenant, key) }
    func apiKeys(_ tenant: TenantID, page: PageRequest) async throws -> Page<APIKey> { try await store.apiKeys(tenant, page: page) }
    func revokeAPIKey(_ tenant: TenantID, _ id: APIKeyID) async throws -> APIKey { try await store.revokeAPIKey(tenant, id) }
    func authenticate(keyHash: [UInt8]) async throws -> TenantPrincipal? {
        lookups.add(1, ordering: .relaxed)
        return try await store.authenticate(keyHash: keyHash)
    }
}

@Suite("Limits: rates per key, tenant and source address; negative caches; timeouts; /metrics")
struct LimitsTests {
    static let fakeKey = "sb_live_" + String(repeating: "A", count: 43)

    /// An app on the shared database with the limits of `configure` and the clock `clock`.
    func withLimitedApp<Result: Sendable>(
        _ setup: TestingSetup = .live, clock: ManualInstant, configure: (inout AppConfiguration) -> Void = { _ in },
        gauges: @escaping @Sendable (Bootstrap, AppMetrics) -> MetricsGauges? = { _, _ in nil },
        _ body: @Sendable (any TestClientProtocol) async throws -> Result
    ) async throws -> Result {
        var configuration = try await testConfiguration()
        configure(&configuration)
        let bootstrap = try await Bootstrap.prepare(configuration, logger: TestDatabase.logger)
        let metrics = AppMetrics()
        let app = buildApplication(
            configuration, bootstrap: bootstrap, logger: TestDatabase.logger, metrics: metrics,
            gauges: gauges(bootstrap, metrics), monotonic: { clock.now() }
        )
        return try await app.test(setup, body)
    }

    /// The app role's pool on the shared test database, running.
    func withDatabase<Result: Sendable>(_ body: @Sendable (Database) async throws -> Result) async throws -> Result {
        let owner = try await TestDatabase.shared.sharedDatabase()
        let database = Database(
            configuration: owner.with(username: Migrator.appRole, password: TestDatabase.appRolePassword),
            maximumConnections: 2, logger: TestDatabase.logger
        )
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await database.client.run() }
            defer { group.cancelAll() }
            return try await body(database)
        }
    }

    func expectLimited(_ response: TestResponse, retryAfter: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        try expectError(response, .tooManyRequests, "rate_limited", sourceLocation: sourceLocation)
        #expect(response.headers[.retryAfter] == retryAfter, sourceLocation: sourceLocation)
    }

    @Test("bad keys from one address: 401 up to the allowance, then 429 with Retry-After until the clock moves on")
    func failedKeysPerAddress() async throws {
        let clock = ManualInstant()
        try await withLimitedApp(clock: clock, configure: { $0.rateLimitFailures = 5 }) { client in
            for _ in 1...5 {
                let response = try await client.execute(uri: "/v1/tenant", method: .get, headers: headers(bearer: Self.fakeKey)) { $0 }
                try expectError(response, .unauthorized, "unauthorized")
            }
            // 5 a minute: the sixth waits 12 s, whatever the key.
            try expectLimited(try await client.execute(uri: "/v1/tenant", method: .get, headers: headers(bearer: "sb_live_nope")) { $0 }, retryAfter: "12")
            clock.advance(.seconds(12))
            let after = try await client.execute(uri: "/v1/tenant", method: .get, headers: headers(bearer: Self.fakeKey)) { $0 }
            try expectError(after, .unauthorized, "unauthorized")
            try expectLimited(try await client.execute(uri: "/v1/tenant", method: .get, headers: headers(bearer: Self.fakeKey)) { $0 }, retryAfter: "12")
        }
    }

    @Test("unknown channels and bad operator tokens count against the address too; a good delivery never does")
    func hooksAndOperatorPerAddress() async throws {
        let clock = ManualInstant()
        try await withLimitedApp(clock: clock, configure: { $0.rateLimitFailures = 3 }) { client in
            let tenant = try await createTenant(client)
            let channel = try await createChannel(client, key: tenant.key, kind: "telegram", credentials: ["bot_token": botToken])
            let secret = try #require(channel.revealed["secret_token"])
            let first = try await deliver(client, channel: channel.id, body: telegramUpdate(updateID: 60_000, text: "hi"), headers: telegramHeaders(secret))
            #expect(first.status == .ok)
            for _ in 1...3 {
                let response = try await deliver(client, channel: UUID().uuidString, body: Array("{}".utf8), headers: HTTPFields())
                try expectError(response, .notFound, "not_found")
            }
            try expectLimited(try await deliver(client, channel: UUID().uuidString, body: Array("{}".utf8), headers: HTTPFields()), retryAfter: "20")
            try expectLimited(try await deliver(client, channel: channel.id, body: try fixture("text_private"), headers: telegramHeaders("wrong")), retryAfter: "20")
            try expectLimited(try await client.execute(uri: "/admin/tenants", method: .get, headers: headers(bearer: "guess")) { $0 }, retryAfter: "20")
            // The channel is cached as live (its first delivery found it): its platform's
            // deliveries still go through. (One not cached would wait too: documented.)
            for update in 1...5 {
                let good = try await deliver(
                    client, channel: channel.id, body: telegramUpdate(updateID: 60_000 + update, text: "hi"), headers: telegramHeaders(secret))
                #expect(good.status == .ok)
            }
        }
    }

    @Test("each API key and each tenant is held to its rate: 429 with Retry-After beyond the burst")
    func perKeyAndTenant() async throws {
        let clock = ManualInstant()
        try await withLimitedApp(.router, clock: clock, configure: { $0.rateLimitPerKey = 2; $0.rateLimitPerTenant = 3 }) { client in
            let tenant = try await createTenant(client)
            // Burst 4 per key (twice the rate); creating the second key took one.
            let second = try await client.execute(uri: "/v1/api-keys", method: .post, headers: headers(bearer: tenant.key), body: json([:])) { $0 }
            let other = try #require(try object(second)["key"] as? String)
            for _ in 1...3 {
                #expect(try await client.execute(uri: "/v1/tenant", method: .get, headers: headers(bearer: tenant.key)) { $0 }.status == .ok)
            }
            try expectLimited(try await client.execute(uri: "/v1/tenant", method: .get, headers: headers(bearer: tenant.key)) { $0 }, retryAfter: "1")
            // The tenant's burst is 6: the other key has two left.
            for _ in 1...2 {
                #expect(try await client.execute(uri: "/v1/tenant", method: .get, headers: headers(bearer: other)) { $0 }.status == .ok)
            }
            try expectLimited(try await client.execute(uri: "/v1/tenant", method: .get, headers: headers(bearer: other)) { $0 }, retryAfter: "1")
            clock.advance(.seconds(1))
            #expect(try await client.execute(uri: "/v1/tenant", method: .get, headers: headers(bearer: tenant.key)) { $0 }.status == .ok)
        }
    }

    @Test("a channel's verified deliveries are held to its rate; unsigned ones do not spend it")
    func perChannel() async throws {
        let clock = ManualInstant()
        try await withLimitedApp(clock: clock, configure: { $0.rateLimitHookChannel = 2 }) { client in
            let tenant = try await createTenant(client)
            let channel = try await createChannel(client, key: tenant.key, kind: "telegram", credentials: ["bot_token": botToken])
            let secret = try #require(channel.revealed["secret_token"])
            for update in 1...3 {
                let forged = try await deliver(client, channel: channel.id, body: telegramUpdate(updateID: update, text: "x"), headers: telegramHeaders("wrong"))
                try expectError(forged, .unauthorized, "unauthorized")
            }
            for update in 1...2 {
                #expect(try await deliver(client, channel: channel.id, body: telegramUpdate(updateID: update, text: "hi"), headers: telegramHeaders(secret)).status == .ok)
            }
            try expectLimited(
                try await deliver(client, channel: channel.id, body: telegramUpdate(updateID: 3, text: "hi"), headers: telegramHeaders(secret)), retryAfter: "1")
            clock.advance(.milliseconds(500))
            #expect(try await deliver(client, channel: channel.id, body: telegramUpdate(updateID: 3, text: "hi"), headers: telegramHeaders(secret)).status == .ok)
        }
    }

    @Test("a fake key is looked up once, then answered from memory until its minute is over or a key is minted")
    func unknownKeysAreCached() async throws {
        try await withDatabase { database in try await unknownKeysAreCached(database) }
    }

    func unknownKeysAreCached(_ database: Database) async throws {
        let clock = ManualInstant()
        let store = CountingTenantStore(PostgresTenantStore(database: database))
        let keys = APIKeyAuthentication(
            store: store, unknown: NegativeCache(ttl: .seconds(60), now: { clock.now() }),
            failures: RateLimiter(.unlimited, now: { clock.now() }))
        for _ in 1...5 { #expect(try await keys.principal(for: Self.fakeKey, source: "192.0.2.1") == nil) }
        #expect(store.lookups.load(ordering: .relaxed) == 1)
        #expect(try await keys.principal(for: "not-a-key", source: "192.0.2.1") == nil)
        #expect(store.lookups.load(ordering: .relaxed) == 1, "a malformed key never reaches the database")
        clock.advance(.seconds(61))
        _ = try await keys.principal(for: Self.fakeKey, source: "192.0.2.1")
        #expect(store.lookups.load(ordering: .relaxed) == 2)
        keys.keyCreated()
        _ = try await keys.principal(for: Self.fakeKey, source: "192.0.2.1")
        #expect(store.lookups.load(ordering: .relaxed) == 3)
        // A real key is always looked up (a revocation must take effect at once).
        let secret = APIKeySecret(name: "real")
        _ = try await store.createTenant(name: "Cached keys", trialCredits: Credits(micros: 0), firstKey: secret.stored)
        keys.keyCreated()
        #expect(try await keys.principal(for: secret.secret, source: "192.0.2.1") != nil)
        #expect(try await keys.principal(for: secret.secret, source: "192.0.2.1") != nil)
        #expect(store.lookups.load(ordering: .relaxed) == 5)
    }

    @Test("an unknown channel id is looked up once a minute, however often it is asked for")
    func unknownChannelsAreCached() async throws {
        try await withDatabase { database in try await unknownChannelsAreCached(database) }
    }

    func unknownChannelsAreCached(_ database: Database) async throws {
        let clock = ManualInstant()
        let cache = ChannelRouteCache(now: { clock.now() })
        let channels = PostgresChannelStore(database: database)
        let loads = Atomic<Int>(0)
        let id = ChannelID(UUID())
        for _ in 1...10 {
            let found = try await cache.resolve(id, load: {
                loads.add(1, ordering: .relaxed)
                return try await channels.route(id)
            }, open: { _ in [:] })
            #expect(found == nil)
        }
        #expect(loads.load(ordering: .relaxed) == 1)
        clock.advance(.seconds(61))
        _ = try await cache.resolve(id, load: { loads.add(1, ordering: .relaxed); return try await channels.route(id) }, open: { _ in [:] })
        #expect(loads.load(ordering: .relaxed) == 2)
        cache.invalidate(id)
        _ = try await cache.resolve(id, load: { loads.add(1, ordering: .relaxed); return try await channels.route(id) }, open: { _ in [:] })
        #expect(loads.load(ordering: .relaxed) == 3)
    }

    @Test("with SWITCHBOARD_METRICS_TOKEN set, /metrics answers only that bearer token")
    func metricsToken() async throws {
        try await withLimitedApp(.router, clock: ManualInstant(), configure: { $0.metricsToken = "scrape-me" }) { client in
            try expectError(try await client.execute(uri: "/metrics", method: .get) { $0 }, .unauthorized, "unauthorized")
            try expectError(
                try await client.execute(uri: "/metrics", method: .get, headers: headers(bearer: "scrape-you")) { $0 }, .unauthorized, "unauthorized")
            let response = try await client.execute(uri: "/metrics", method: .get, headers: headers(bearer: "scrape-me")) { $0 }
            #expect(response.status == .ok)
            #expect(String(buffer: response.body).contains("switchboard_http_requests_total"))
        }
    }

    @Test("/metrics reads no database: its queue gauges change when the timer refreshes them, not when scraped")
    func metricsFromTheTimer() async throws {
        let database = try await TestDatabase.shared.migratedDatabase(prefix: "metrics")
        let refresher = Mutex<MetricsGauges?>(nil)
        try await withLimitedApp(.router, clock: ManualInstant(), configure: { $0.databaseURL = database.url }, gauges: { bootstrap, metrics in
            let gauges = MetricsGauges(database: bootstrap.database, metrics: metrics, interval: .seconds(3600), logger: TestDatabase.logger)
            refresher.withLock { $0 = gauges }
            return gauges
        }) { client in
            let gauges = try #require(refresher.withLock { $0 })
            await gauges.refresh()
            let series = #"switchboard_jobs_count{kind="reply",status="queued"} "#
            func queued() async throws -> Double? {
                let text = try await client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
                return text.split(separator: "\n").first { $0.hasPrefix(series) }.flatMap { Double($0.dropFirst(series.count)) }
            }
            #expect(try await queued() == 0)
            let tenant = try await createTenant(client)
            let channel = try await createChannel(client, key: tenant.key, kind: "telegram", credentials: ["bot_token": botToken])
            let secret = try #require(channel.revealed["secret_token"])
            #expect(try await deliver(client, channel: channel.id, body: try fixture("text_private"), headers: telegramHeaders(secret)).status == .ok)
            #expect(try await queued() == 0, "a scrape does not read the queue")
            await gauges.refresh()
            #expect(try await queued() == 1)
        }
    }

    @Test("the app role's statements stop after 30 seconds")
    func statementTimeout() async throws {
        let value = try await withDatabase { database in try await database.client.withConnection { connection in
            var value = ""
            for try await (text, user) in try await connection.query(
                "SELECT current_setting('statement_timeout'), current_user::text", logger: TestDatabase.logger
            ).decode((String, String).self) {
                #expect(user == "switchboard_app")
                value = text
            }
            return value
        } }
        #expect(value == "30s")
    }

    @Test("a connection that sends its request head a byte at a time is closed by the head timeout")
    func slowHeadIsClosed() async throws {
        try await withLimitedApp(clock: ManualInstant(), configure: { $0.headerTimeout = .milliseconds(200) }) { client in
            let port = try #require(client.port)
            // (The test client is not used: its own idle connection goes the same way. A
            // request that arrives in time is every other live test's, at the default.)
            // Part of a head, then nothing: the server hangs up (no sleep here: the close is awaited).
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "127.0.0.1", port: port).get()
            try await channel.writeAndFlush(ByteBuffer(string: "POST /hooks/x HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: a")).get()
            // (`within` only bounds a failing run; a passing one waits for the close alone. The
            // bound is wide: on a loaded CI machine, with every suite starting at once, the
            // close's continuation once waited past 10 s for a thread to run on.)
            try await within(.seconds(90)) { try await channel.closeFuture.get() }
            // A connection that sends nothing at all goes the same way.
            let silent = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "127.0.0.1", port: port).get()
            try await within(.seconds(90)) { try await silent.closeFuture.get() }
        }
    }
}
