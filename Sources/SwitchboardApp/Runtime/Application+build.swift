public import ConnectorKit
public import Foundation
public import Hummingbird
import HummingbirdCore
public import Logging
public import NIOCore
import SwitchboardCore
import Crypto
import MailTransport
import ServiceLifecycle
import SwitchboardPostgres
public import SwitchboardPipeline
public import SwitchboardProviders
public import SwitchboardEgress

/// Builds the whole server. Production (`switchboard serve`) and every test call this one
/// function; only the configuration differs.
public func buildApplication(
    _ configuration: AppConfiguration,
    logger: Logger
) async throws -> some ApplicationProtocol {
    let bootstrap = try await Bootstrap.prepare(configuration, logger: logger)
    return buildApplication(configuration, bootstrap: bootstrap, logger: logger)
}

/// Builds the server on a prepared database. `onServerRunning` is called once it listens
/// (the demo prints its banner there).
///
/// Every outbound request goes through one ``EgressGate`` (`egressGate`, else one made from
/// the configuration): the connectors' client and the providers' transport are made from
/// it, and a test that passes its own must make them from the gate it passes.
public func buildApplication(
    _ configuration: AppConfiguration,
    bootstrap: Bootstrap,
    logger: Logger,
    metrics: AppMetrics = AppMetrics(),
    routes: RouteIndex = RouteIndex(),
    connectors: ConnectorRegistry? = nil,
    egressGate: EgressGate? = nil,
    http: AsyncHTTPOutboundClient? = nil,
    providerTransport: AsyncHTTPProviderTransport? = nil,
    modelRouter: ModelRouter = ModelRouter(),
    jobPolicy: JobPolicy = JobPolicy(),
    now: @escaping @Sendable () -> Date = Date.init,
    gauges: MetricsGauges? = nil,
    monotonic: @escaping @Sendable () -> ContinuousClock.Instant = { .now },
    onServerRunning: @escaping @Sendable (any NIOCore.Channel) async -> Void = { _ in }
) -> some ApplicationProtocol {
    let database = bootstrap.database
    let gate = egressGate ?? EgressGate(configuration.egressGateConfiguration, logger: logger)
    let http = http ?? AsyncHTTPOutboundClient(gate: gate)
    let store = PostgresTenantStore(database: database)
    let connectors = connectors ?? ConnectorRegistry.standard(configuration, now: now, egress: gate)
    let secrets = SecretBox(masterKey: bootstrap.masterKey)
    let channelStore = PostgresChannelStore(database: database)
    let cache = ChannelRouteCache(now: monotonic)
    // Rate limits, in this process's memory (see `RateLimiter` for why per process).
    let failures = RateLimiter<String>(.perMinute(configuration.rateLimitFailures), now: monotonic)
    let keys = APIKeyAuthentication(store: store, unknown: NegativeCache(ttl: .seconds(60), now: monotonic), failures: failures)
    let gauges = gauges ?? MetricsGauges(database: database, metrics: metrics, logger: logger)
    let dependencies = RouteDependencies(
        store: store, database: bootstrap.database, metrics: metrics, expectedMigrations: bootstrap.expectedMigrations,
        metricsTokenDigest: configuration.metricsToken.map { SHA256.hash(data: Data($0.utf8)) }, keys: keys
    )
    let idempotency = PostgresIdempotencyStore(database: database)
    let router = Router(context: AppRequestContext.self)
    router.add(middleware: RequestMiddleware(routes: routes, metrics: metrics))

    dependencies.addOperationRoutes(to: router)
    // The workers and the maintenance chores, when this process runs workers: its ingest
    // takes reply jobs for them.
    var workers: Workers?
    var workerServices: [any Service] = []
    if configuration.workers > 0 {
        let transport = providerTransport ?? AsyncHTTPProviderTransport(gate: gate)
        let runner = JobRunner(
            database: database, secrets: secrets, connectors: connectors, http: http, transport: transport, router: modelRouter,
            policy: jobPolicy, now: now, metrics: metrics, logger: logger
        )
        let jobWorkers = Workers(runner: runner, queue: PostgresJobStore(database: database), concurrency: configuration.workers, logger: logger)
        workers = jobWorkers
        workerServices = [
            ProviderTransportService(transport: transport), jobWorkers,
            Maintenance(
                chores: Maintenance.chores(database: database, policy: jobPolicy)
                    + [ProfileLookups(store: PostgresProfileStore(database: database), connectors: connectors, secrets: secrets, http: http).chore],
                now: now, logger: logger
            ),
        ]
    }
    let ingestStore = PostgresIngestStore(database: database)
    let ingest = Ingest(
        channels: channelStore, store: ingestStore,
        batcher: IngestBatcher(
            store: ingestStore, maximumBatch: configuration.ingestBatch,
            // Without group commit each delivery needs a connection of its own.
            maximumInFlight: configuration.ingestBatch == 1 ? configuration.databasePoolSize : 4,
            taker: workers
        ),
        cache: cache, connectors: connectors, secrets: secrets
    )
    // The channels whose messages are fetched rather than pushed (mailboxes): a loop each,
    // feeding the same ingest, in the processes that run workers; replicas share them by
    // lease.
    var pulledChannels: PulledChannels?
    if configuration.workers > 0 {
        let pulled = PulledChannels(
            directory: channelStore, ingest: ingest, connectors: connectors, secrets: secrets, http: http, logger: logger
        )
        if !pulled.kinds.isEmpty {
            workerServices.append(pulled)
            pulledChannels = pulled
        }
    }
    HookRoutes(
        ingest: ingest, metrics: metrics, failures: failures,
        perChannel: RateLimiter(
            .perSecond(configuration.rateLimitHookChannel, burst: configuration.rateLimitHookChannel), now: monotonic
        ),
        now: now
    ).add(to: router)
    let operatorRoutes = router.group("/admin")
        .add(middleware: OperatorAuthMiddleware(token: configuration.adminToken, failures: failures))
        .add(middleware: IdempotencyMiddleware(store: idempotency, scope: { _ in .operator }, now: now))
    dependencies.addOperatorRoutes(to: operatorRoutes)
    let credits = CreditRoutes(ledger: PostgresCreditStore(database: database), tenants: store)
    credits.addOperator(to: operatorRoutes)
    let journal = PostgresAuditStore(database: database)
    let workspaceStore = PostgresWorkspaceStore(database: database)
    let sessions = TeamSessions(store: workspaceStore, secure: configuration.publicURL?.lowercased().hasPrefix("https:") == true)
    let workspace = WorkspaceRoutes(
        store: workspaceStore, tenants: store, ledger: PostgresCreditStore(database: database), sessions: sessions,
        passwords: Passwords(cost: configuration.bcryptCost), secrets: secrets, failures: failures,
        signUps: RateLimiter(.perHour(configuration.signUpsPerHour), now: monotonic),
        trialCredits: Credits(micros: Int64(configuration.signUpTrialMicros)),
        mail: try? PlatformMail.make(
            configuration, proxy: MailProxy(host: "127.0.0.1", port: gate.port, authorization: gate.proxyAuthorization), now: now
        ),
        publicURL: { configuration.effectivePublicURL }, now: now
    )
    workspace.addAuth(to: router)
    workspace.addOperator(to: operatorRoutes)
    let tenantRoutes = router.group("/v1")
        .add(middleware: TenantAuthMiddleware(
            keys: keys, sessions: sessions,
            perKey: RateLimiter(.perSecond(configuration.rateLimitPerKey, burst: 2 * configuration.rateLimitPerKey), now: monotonic),
            perTenant: RateLimiter(
                .perSecond(configuration.rateLimitPerTenant, burst: 2 * configuration.rateLimitPerTenant), now: monotonic
            ),
            now: now
        ))
        .add(middleware: IdempotencyMiddleware(store: idempotency, scope: { $0.principal.map { .tenant($0.tenantID) } }, now: now))
        .group(context: TenantRequestContext.self)
        .add(middleware: AuditMiddleware(journal: journal))
    dependencies.addTenantRoutes(to: tenantRoutes)
    workspace.add(to: tenantRoutes)
    credits.add(to: tenantRoutes)
    let analytics = PostgresAnalyticsStore(database: database)
    AnalyticsRoutes(store: analytics, now: now).add(to: tenantRoutes)
    let dashboard = DashboardRoutes(tenants: store, keys: keys, analytics: analytics, channels: channelStore, secrets: secrets, now: now)
    dashboard.add(to: router)
    PrivacyRoutes(privacy: PostgresPrivacyStore(database: database), journal: journal).add(to: tenantRoutes)
    let egress = EgressCheck(policy: EgressPolicy(allowPrivate: configuration.egressAllowPrivate), gate: gate)
    let agentStore = PostgresAgentStore(database: database)
    ProviderRoutes(store: PostgresProviderStore(database: database), secrets: secrets, egress: egress).add(to: tenantRoutes)
    AgentRoutes(store: agentStore).add(to: tenantRoutes)
    ChannelRoutes(
        store: channelStore, agents: agentStore, cache: cache, connectors: connectors, secrets: secrets, http: http,
        egress: egress, publicURL: configuration.publicURL,
        effectivePublicURL: configuration.effectivePublicURL,
        // A mailbox created or changed here starts at once in this replica (others take
        // it at their next refresh).
        pulledChanged: { [pulledChannels] in pulledChannels?.refreshSoon() }
    ).add(to: tenantRoutes)
    let inbox = PostgresInboxStore(database: database)
    CRMRoutes(
        contacts: PostgresContactStore(database: database), conversations: PostgresConversationStore(database: database),
        deals: PostgresDealStore(database: database), channels: channelStore, inbox: inbox, connectors: connectors, now: now
    ).add(to: tenantRoutes)
    TemplateRoutes(
        channels: channelStore, conversations: PostgresConversationStore(database: database), connectors: connectors, secrets: secrets,
        http: http
    ).add(to: tenantRoutes)
    // The team's workspace at /app: live events from one LISTEN connection of this process,
    // the inbox, the account pages, the dashboard, behind the person's session.
    let liveEvents = LiveEvents(database: database, logger: logger)
    let inboxPages = InboxPages(inbox: inbox, channels: channelStore, live: liveEvents)
    InboxPages.addAssets(to: router)
    let accountPages = AccountPages(store: workspaceStore, dashboard: dashboard)
    accountPages.addOpen(to: router)
    let appPages = router.group("/app")
        .add(middleware: SessionPageMiddleware(sessions: sessions, pages: accountPages, failures: failures))
        .group(context: TenantRequestContext.self)
        .add(middleware: AuditMiddleware(journal: journal))
    inboxPages.add(to: appPages)
    accountPages.add(to: appPages)
    // Shut down in reverse: the workers, then the clients, then the gate they go out through.
    let services = bootstrap.services + [gate, http, gauges, liveEvents] + workerServices
    routes.set(router.routes.map { RouteIndex.Route(method: $0.method.rawValue, path: $0.path.description) })

    let headerTimeout = TimeAmount.nanoseconds(configuration.headerTimeout.nanoseconds)
    return Application(
        router: router,
        server: .http1(configuration: HTTP1Channel.Configuration(
            additionalChannelHandlers: [RequestHeadTimeoutHandler(timeout: headerTimeout)],
            idleTimeout: .nanoseconds(configuration.idleTimeout.nanoseconds)
        )),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "switchboard"),
        services: services,
        onServerRunning: onServerRunning,
        logger: logger
    )
}

extension ApplicationProtocol {
    /// Runs the server and its services until SIGINT or SIGTERM, then shuts them down
    /// gracefully (the embedded PostgreSQL last).
    public func runUntilSignalled() async throws {
        try await runService()
    }
}
