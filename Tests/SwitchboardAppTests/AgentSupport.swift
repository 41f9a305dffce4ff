import ConnectorKit
import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import NIOCore
import PostgresNIO
import SwitchboardApp
import SwitchboardCore
import SwitchboardPipeline
import SwitchboardEgress
import SwitchboardPostgres
import SwitchboardProviders
import SwitchboardProvidersTesting
import SwitchboardTestSupport
import Synchronization
import Testing

/// A wall clock the test moves by hand: leases, retry times and backoffs follow it.
final class TestClock: Sendable {
    /// An hour ahead of the wall clock, frozen: jobs that ingest enqueues at the database's
    /// `now()` are ready by this clock until the test moves it.
    private let start = Date().addingTimeInterval(3600)
    private let base = ContinuousClock.now
    private let offset = Mutex<TimeInterval>(0)
    func now() -> Date { start.addingTimeInterval(offset.withLock { $0 }) }
    /// The same time on the monotonic clock (the model router's cooldowns use it).
    func instant() -> ContinuousClock.Instant { base.advanced(by: .milliseconds(Int64(offset.withLock { $0 } * 1000))) }
    func advance(seconds: TimeInterval) { offset.withLock { $0 += seconds } }
}

/// A sleep the test steps by hand: each `sleep` call waits for one `tick()`, and
/// `waitForSleepers(n)` returns once the n-th call has begun — so the test knows the work
/// between two sleeps is done without waiting on a clock.
final class SteppedSleep: Sendable {
    private struct State {
        var entered = 0
        var ticks = 0
        var sleepers: [Int: CheckedContinuation<Void, Never>] = [:]
        var watchers: [(Int, CheckedContinuation<Void, Never>)] = []
    }

    private let state = Mutex(State())

    /// Waits for a tick, or ends with `CancellationError` when its task is cancelled.
    func sleep(_ duration: Duration) async throws {
        let id = state.withLock { state -> Int in
            state.entered += 1
            return state.entered
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let (run, woken) = state.withLock { state -> (Bool, [CheckedContinuation<Void, Never>]) in
                    let woken = state.watchers.filter { $0.0 <= state.entered }.map(\.1)
                    state.watchers.removeAll { $0.0 <= state.entered }
                    if state.ticks > 0 || Task.isCancelled {
                        state.ticks = max(0, state.ticks - 1)
                        return (true, woken)
                    }
                    state.sleepers[id] = continuation
                    return (false, woken)
                }
                for watcher in woken { watcher.resume() }
                if run { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.sleepers.removeValue(forKey: id) }?.resume()
        }
        try Task.checkCancellation()
    }

    func tick() {
        let sleeper = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let first = state.sleepers.keys.min() else {
                state.ticks += 1
                return nil
            }
            return state.sleepers.removeValue(forKey: first)
        }
        sleeper?.resume()
    }

    /// Returns once the `count`-th sleep has begun.
    func waitForSleepers(_ count: Int) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLock { state -> Bool in
                if state.entered >= count { return true }
                state.watchers.append((count, continuation))
                return false
            }
            if now { continuation.resume() }
        }
    }
}

/// The waits the model router asked for, recorded instead of slept.
final class SleepLog: Sendable {
    private let value = Mutex<[Duration]>([])
    func append(_ duration: Duration) { value.withLock { $0.append(duration) } }
    var all: [Duration] { value.withLock { $0 } }
}

/// What an agent test drives besides the HTTP client: job processors on the app's own
/// database, its clock, and the router's recorded waits.
struct AgentHarness: Sendable {
    let bootstrap: Bootstrap
    let configuration: AppConfiguration
    let router: ModelRouter
    let clock: TestClock
    let sleeps: SleepLog
    let http: AsyncHTTPOutboundClient
    let transport: AsyncHTTPProviderTransport
    /// The app's operator metrics (what `/metrics` shows).
    let metrics: AppMetrics
    /// The app's gauges of the queue and the rollups: read on a timer of an hour here, so
    /// a test refreshes them before it scrapes.
    let gauges: MetricsGauges

    /// A processor as a worker process would run one; `worker` names it, so two of them
    /// stand for two processes.
    func processor(
        worker: String = "test-worker", sendInline: Bool = true, policy base: JobPolicy = JobPolicy(),
        http outbound: AsyncHTTPOutboundClient? = nil, metrics recorded: AppMetrics? = nil,
        sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }
    ) -> JobRunner {
        var policy = base
        policy.sendInline = sendInline
        return JobRunner(
            database: bootstrap.database, secrets: SecretBox(masterKey: bootstrap.masterKey),
            connectors: ConnectorRegistry.standard(configuration, now: clock.now), http: outbound ?? http, transport: transport, router: router,
            policy: policy, now: clock.now, sleep: sleep, worker: worker, metrics: recorded, logger: TestDatabase.logger
        )
    }

    /// Runs every ready job; answers how many ran.
    @discardableResult
    func drain(kinds: [ClaimedJob.Kind] = ClaimedJob.Kind.allCases) async throws -> Int {
        try await processor().drain(kinds: kinds)
    }

    /// Counts rows as the owner (no row-level security) in this test's own database.
    func count(_ sql: String) async throws -> Int {
        let owner = bootstrap.ownerConfiguration
        return try await PostgresAdministration.withConnection(owner, logger: TestDatabase.logger) { connection in
            try await connection.integer(PostgresQuery(unsafeSQL: sql), logger: TestDatabase.logger)
        }
    }
}

/// An app on a database of its own (its workers take jobs across tenants), with the
/// Telegram Bot API at `telegramBase`, private egress allowed (the fakes are on loopback),
/// and `workers` live workers (0: the test drains jobs itself).
func withAgentApp<Result: Sendable>(
    telegramBase: String, graphBase: String? = nil, workers: Int = 0, policy: JobPolicy = JobPolicy(),
    allowPrivate: Bool = true, resolver: (any EgressResolver)? = nil,
    adjust: @Sendable (inout AppConfiguration) -> Void = { _ in },
    _ setup: TestingSetup = .router,
    _ body: @Sendable (any TestClientProtocol, AgentHarness) async throws -> Result
) async throws -> Result {
    let database = try await TestDatabase.shared.migratedDatabase(prefix: "agents")
    var configuration = try await testConfiguration()
    adjust(&configuration)
    configuration.databaseURL = database.url
    configuration.platformBases["telegram"] = try #require(URL(string: telegramBase))
    // Meta's Graph API serves WhatsApp, Messenger and (here) Instagram alike.
    if let graphBase {
        for kind in ["whatsapp", "messenger", "instagram"] { configuration.platformBases[kind] = try #require(URL(string: graphBase)) }
    }
    configuration.egressAllowPrivate = allowPrivate
    configuration.workers = workers
    let bootstrap = try await Bootstrap.prepare(configuration, logger: TestDatabase.logger)
    let clock = TestClock()
    let sleeps = SleepLog()
    let router = ModelRouter(now: clock.instant, sleep: { sleeps.append($0) }, jitter: { $0 })
    let gate = EgressGate(configuration.egressGateConfiguration, resolver: resolver, logger: TestDatabase.logger)
    let http = AsyncHTTPOutboundClient(gate: gate)
    let transport = AsyncHTTPProviderTransport(gate: gate)
    let metrics = AppMetrics()
    let gauges = MetricsGauges(database: bootstrap.database, metrics: metrics, interval: .seconds(3600), logger: TestDatabase.logger)
    let harness = AgentHarness(
        bootstrap: bootstrap, configuration: configuration, router: router, clock: clock, sleeps: sleeps, http: http, transport: transport,
        metrics: metrics, gauges: gauges
    )
    let app = buildApplication(
        configuration, bootstrap: bootstrap, logger: TestDatabase.logger, metrics: metrics, egressGate: gate, http: http,
        providerTransport: transport,
        modelRouter: router, jobPolicy: policy, now: clock.now, gauges: gauges
    )
    do {
        let result = try await app.test(setup) { client in try await body(client, harness) }
        try? await transport.shutdown()
        return result
    } catch {
        try? await transport.shutdown()
        throw error
    }
}

/// Creates a provider through the API; answers its id.
func createProvider(_ client: any TestClientProtocol, key: String, _ fields: [String: Any]) async throws -> String {
    let response = try await client.execute(uri: "/v1/providers", method: .post, headers: headers(bearer: key), body: json(fields)) { $0 }
    #expect(response.status == .created, "body: \(String(buffer: response.body))")
    return try #require(try object(response)["id"] as? String)
}

/// Creates an agent through the API; answers its id.
func createAgent(_ client: any TestClientProtocol, key: String, _ fields: [String: Any]) async throws -> String {
    let response = try await client.execute(uri: "/v1/agents", method: .post, headers: headers(bearer: key), body: json(fields)) { $0 }
    #expect(response.status == .created, "body: \(String(buffer: response.body))")
    return try #require(try object(response)["id"] as? String)
}

/// A tenant with an OpenAI provider at the fake, an agent on it, and a Telegram channel
/// answered by the agent.
struct AgentSetup: Sendable {
    var tenant: (id: String, key: String)
    var providerID: String
    var agentID: String
    var channel: CreatedChannel
    var secret: String
}

func setUpAgent(
    _ client: any TestClientProtocol, model server: FakeModelServer, agent extra: [String: Any] = [:],
    provider: [String: Any]? = nil, trialMicros: Int64 = 100_000_000
) async throws -> AgentSetup {
    let tenant = try await createTenant(client, trialMicros: trialMicros)
    let providerID = try await createProvider(
        client, key: tenant.key,
        provider ?? ["name": "OpenAI", "kind": "openai", "base_url": server.openAIBase, "api_key": "sk-test-secret", "region": "us"]
    )
    var fields: [String: Any] = [
        "name": "ShopBot", "provider_id": providerID, "model": "gpt-4o-mini",
        "system_prompt": "You are ShopBot, the assistant of a shop in Almaty.",
    ]
    fields.merge(extra) { $1 }
    let agentID = try await createAgent(client, key: tenant.key, fields)
    let response = try await client.execute(
        uri: "/v1/channels", method: .post, headers: headers(bearer: tenant.key),
        body: json(["kind": "telegram", "name": "Bot", "agent_id": agentID, "credentials": ["bot_token": botToken]])
    ) { $0 }
    #expect(response.status == .created, "body: \(String(buffer: response.body))")
    let body = try object(response)
    let channel = CreatedChannel(
        id: try #require(body["id"] as? String), webhookURL: try #require(body["webhook_url"] as? String),
        revealed: (body["credentials"] as? [String: String]) ?? [:]
    )
    return AgentSetup(tenant: tenant, providerID: providerID, agentID: agentID, channel: channel, secret: try #require(channel.revealed["secret_token"]))
}

/// Adds an Anthropic provider at the fake as the agent's fallback; answers its id.
@discardableResult
func addAnthropicFallback(_ client: any TestClientProtocol, _ setup: AgentSetup, model server: FakeModelServer) async throws -> String {
    let fallback = try await createProvider(
        client, key: setup.tenant.key,
        ["name": "Claude", "kind": "anthropic", "base_url": server.anthropicBase, "api_key": "sk-ant-1", "region": "us"]
    )
    let patched = try await client.execute(
        uri: "/v1/agents/\(setup.agentID)", method: .patch, headers: headers(bearer: setup.tenant.key),
        body: json(["fallbacks": [["provider_id": fallback, "model": "claude-haiku-4-5"]]])
    ) { $0 }
    #expect(patched.status == .ok, "body: \(String(buffer: patched.body))")
    return fallback
}

/// The messages of the tenant's only conversation, oldest first.
func conversationMessages(_ client: any TestClientProtocol, key: String) async throws -> (id: String, messages: [[String: Any]]) {
    let conversations = try await listData(client, "/v1/conversations", key: key)
    let id = try #require(conversations.first?["id"] as? String)
    return (id, try await listData(client, "/v1/conversations/\(id)/messages", key: key))
}

func conversation(_ client: any TestClientProtocol, key: String, _ id: String) async throws -> [String: Any] {
    try await client.execute(uri: "/v1/conversations/\(id)", method: .get, headers: headers(bearer: key)) { try object($0) }
}

/// Runs `body`, failing the test if it takes longer than `limit`: for waits on events
/// that should come (never a sleep that hopes they came).
func within<Result: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async throws -> Result) async throws -> Result {
    try await withThrowingTaskGroup(of: Result?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: limit)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let result = first else {
            throw TimeLimitExceeded(limit: limit)
        }
        return result
    }
}

struct TimeLimitExceeded: Error, CustomStringConvertible {
    var limit: Duration
    var description: String { "the awaited event did not come within \(limit)" }
}

/// Live workers that poll only once an hour: only a notification can wake them.
let notifiedOnly = {
    var policy = JobPolicy()
    policy.pollInterval = .seconds(3600)
    return policy
}()

/// The usual world of an agent test: a fake model server (answering `fallback` unless
/// scripted), a fake Telegram Bot API (answering sends with `sendStatus`), and an app on a
/// database of its own whose Telegram base is the fake.
func withAgentWorld<Result: Sendable>(
    model fallback: FakeModelBehaviour = .echo, sendStatus: @escaping @Sendable (_ attempt: Int) -> Int = { _ in 200 },
    workers: Int = 0, policy: JobPolicy = JobPolicy(), adjust: @escaping @Sendable (inout AppConfiguration) -> Void = { _ in },
    _ setup: TestingSetup = .router,
    _ body: @escaping @Sendable (FakeModelServer, RequestLog, any TestClientProtocol, AgentHarness) async throws -> Result
) async throws -> Result {
    try await FakeModelServer.withServer(default: fallback) { model in
        try await withFakeTelegram(validToken: botToken, sendStatus: sendStatus) { telegramBase, telegram in
            try await withAgentApp(telegramBase: telegramBase, workers: workers, policy: policy, adjust: adjust, setup) { client, harness in
                try await body(model, telegram, client, harness)
            }
        }
    }
}
