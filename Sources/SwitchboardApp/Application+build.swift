public import Hummingbird
public import Logging
import NIOCore
import SwitchboardCore
import SwitchboardPostgres

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
public func buildApplication(
    _ configuration: AppConfiguration,
    bootstrap: Bootstrap,
    logger: Logger,
    metrics: AppMetrics = AppMetrics(),
    routes: RouteIndex = RouteIndex(),
    onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
) -> some ApplicationProtocol {
    let store = PostgresTenantStore(database: bootstrap.database)
    let dependencies = RouteDependencies(
        store: store, database: bootstrap.database, metrics: metrics, expectedMigrations: bootstrap.expectedMigrations
    )
    let router = Router(context: AppRequestContext.self)
    router.add(middleware: RequestMiddleware(routes: routes, metrics: metrics))

    dependencies.addOperationRoutes(to: router)
    dependencies.addOperatorRoutes(
        to: router.group("/admin").add(middleware: OperatorAuthMiddleware(token: configuration.adminToken))
    )
    dependencies.addTenantRoutes(
        to: router.group("/v1")
            .add(middleware: TenantAuthMiddleware(store: store))
            .group(context: TenantRequestContext.self)
    )
    routes.set(router.routes.map { RouteIndex.Route(method: $0.method.rawValue, path: $0.path.description) })

    return Application(
        router: router,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "switchboard"),
        services: bootstrap.services,
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
