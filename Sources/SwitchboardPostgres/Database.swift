import _ConnectionPoolModule
import Foundation
public import Logging
public import PostgresNIO
public import SwitchboardCore
import Synchronization

/// The app role's connection pool and the only ways request work reaches PostgreSQL: a
/// transaction scoped to one tenant, or one in operator mode.
///
/// Scope is set with `set_config(..., true)` — the `SET LOCAL` form — inside the
/// transaction, so a pooled connection never carries it to the next request. Row-level
/// security then holds even where a query forgets its `WHERE tenant_id`.
public struct Database: Sendable {
    public let client: PostgresClient
    /// Every statement's logger: the caller's, with its request or job id, when the store
    /// method was given one (`logging(_:)`).
    public private(set) var logger: Logger
    /// How long a transaction may wait for a connection before the request is answered
    /// `unavailable`. The pool itself would wait for its circuit breaker (a minute) while
    /// the server is down; a request should not.
    public let acquireTimeout: Duration

    public init(
        configuration: DatabaseConfiguration, maximumConnections: Int = 20, acquireTimeout: Duration = .seconds(5),
        logger: Logger
    ) {
        self.client = PostgresClient(
            configuration: configuration.clientConfiguration(maximumConnections: maximumConnections),
            backgroundLogger: logger
        )
        self.acquireTimeout = acquireTimeout
        self.logger = logger
    }

    /// The same pool, its statements logged with `logger` (the caller's, so the request or
    /// job id reaches the database's log lines).
    public func logging(_ logger: Logger) -> Database {
        var copy = self
        copy.logger = logger
        return copy
    }

    /// Runs `body` in a transaction that sees only `tenant`'s rows.
    public func withTenant<Result: Sendable>(
        _ tenant: TenantID,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        // An audited request's first committed transaction carries its journal entry.
        let intent = Audit.intent.flatMap { $0.tenant == tenant && !$0.isWritten ? $0 : nil }
        let result = try await transaction { connection in
            try await connection.query("SELECT set_config('app.tenant_id', \(tenant.description), true)", logger: logger)
            let result = try await body(connection)
            if let intent {
                try await connection.query(
                    """
                    SELECT audit_append(\(tenant.uuid), \(intent.actor), \(intent.action), \(intent.subjectKind), \(intent.subjectID),
                                        '{}'::jsonb)
                    """,
                    logger: logger
                )
            }
            return result
        }
        intent?.markWritten()
        return result
    }

    /// Runs `body` in a transaction of the operator API: it may see every tenant's row of
    /// the tables whose policy admits the operator (`tenants`), and nothing else.
    public func withOperator<Result: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try await transaction { connection in
            try await connection.query("SELECT set_config('app.operator', 'on', true)", logger: logger)
            return try await body(connection)
        }
    }

    /// Runs `body` in a transaction of the job workers: it may see every tenant's jobs
    /// (policy `worker_queue`), and no other tenant-owned row.
    public func withWorker<Result: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try await transaction { connection in
            try await connection.query("SELECT set_config('app.worker', 'on', true)", logger: logger)
            return try await body(connection)
        }
    }

    /// A transaction with no scope set: it sees no tenant rows at all. For checks like
    /// readiness, and for tests that prove exactly that.
    public func withoutScope<Result: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try await transaction(body)
    }

    /// Runs `body` on a leased connection outside an explicit transaction: each statement
    /// commits on its own. For single-statement work that sets its own scope inside
    /// (the ingest function), where BEGIN and COMMIT would be two extra round trips.
    public func withConnection<Result: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try await leased(transactional: false, body)
    }

    private func transaction<Result: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try await leased(transactional: true, body)
    }

    private func leased<Result: Sendable>(
        transactional: Bool,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        let client = self.client
        let logger = self.logger
        let timeout = self.acquireTimeout
        let lease = LeaseState()
        do {
            // The deadline only counts while no connection has been leased: once the work
            // runs, it is never cut short (`expire` then refuses).
            // Answered at the deadline even when the pool's lease does not end on
            // cancellation (the database gone, the pool backing off).
            return try await DeadlineWatch.shared.runAbandoning(
                until: .now + timeout,
                timeout: { SwitchboardError(.unavailable, "the database is unavailable (no connection within \(timeout))") },
                expires: { lease.expire() }
            ) {
                if transactional {
                    return try await client.withTransaction(logger: logger) { connection in
                        try lease.start()
                        return try await body(connection)
                    }
                }
                return try await client.withConnection { connection in
                    try lease.start()
                    return try await body(connection)
                }
            }
        } catch {
            throw Self.translate(error)
        }
    }

    /// Maps what postgres-nio throws to the domain: a lost server is `unavailable`, a
    /// unique violation a `conflict`; anything unexpected is an internal error whose detail
    /// stays in the log, never in a response.
    public static func translate(_ error: any Error) -> any Error {
        if let error = error as? SwitchboardError { return error }
        if error is JobLeaseLost { return error }
        if let error = error as? PostgresTransactionError {
            for inner in [error.closureError, error.beginError, error.commitError].compactMap({ $0 }) {
                return translate(inner)
            }
        }
        if let error = error as? PSQLError {
            if let state = error.serverInfo?[.sqlState] {
                switch state {
                case JobLeaseLost.sqlState: return JobLeaseLost()
                case "23505": return SwitchboardError(.conflict, "a record with the same unique value already exists", underlying: error)
                case "23503": return SwitchboardError(.notFound, "a record it refers to does not exist", underlying: error)
                case "22001", "22003", "22P02", "23514":
                    return SwitchboardError(.invalidRequest, "a value is out of range or malformed", underlying: error)
                case "40001", "40P01": return SwitchboardError(.unavailable, "the database was busy; retry the request", underlying: error)
                case _ where state.hasPrefix("08") || state.hasPrefix("57P") || state == "53300":
                    return SwitchboardError(.unavailable, "the database is unavailable", underlying: error)
                default:
                    return SwitchboardError(.internalError, "the request could not be completed", underlying: error)
                }
            }
            switch error.code {
            case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .poolClosed,
                 .sslUnsupported, .failedToAddSSLHandler, .queryCancelled:
                return SwitchboardError(.unavailable, "the database is unavailable", underlying: error)
            default:
                return SwitchboardError(.internalError, "the request could not be completed", underlying: error)
            }
        }
        if error is ConnectionPoolError {
            // The pool cannot reach the server (its circuit breaker is open) or is shut down.
            return SwitchboardError(.unavailable, "the database is unavailable", underlying: error)
        }
        if error is CancellationError { return error }
        return SwitchboardError(.internalError, "the request could not be completed", underlying: error)
    }

    /// Whether the database answers and carries every migration of this build.
    public func readiness(expectedMigrations: Int) async -> Readiness {
        do {
            let applied = try await withoutScope { connection in
                try await connection.integer("SELECT count(*)::int FROM schema_migrations", logger: logger)
            }
            return applied >= expectedMigrations
                ? .ready
                : .notReady("the database has \(applied) of \(expectedMigrations) migrations applied")
        } catch {
            return .notReady("the database is unreachable")
        }
    }

    public enum Readiness: Sendable, Equatable {
        case ready
        case notReady(String)
    }
}

/// Whether a transaction has its connection yet, or its deadline passed first: whichever
/// comes first wins, so work that started is never cancelled by the deadline, and a
/// connection that comes after it runs nothing.
private final class LeaseState: Sendable {
    private enum Phase { case waiting, started, expired }
    private let phase = Mutex(Phase.waiting)

    func start() throws {
        let started = phase.withLock { phase -> Bool in
            if phase == .waiting { phase = .started }
            return phase == .started
        }
        if !started { throw CancellationError() }
    }

    func expire() -> Bool {
        phase.withLock { phase in
            guard phase == .waiting else { return false }
            phase = .expired
            return true
        }
    }
}

extension Database {
    /// Runs a statement that answers one JSON document (a SQL function's `::text`) in a
    /// transaction of `tenant`'s, and decodes it; nil when it answers NULL.
    func document<Document: Decodable & Sendable>(
        _ tenant: TenantID, _ query: PostgresQuery, as type: Document.Type
    ) async throws -> Document? {
        let logger = self.logger
        let text = try await withTenant(tenant) { connection -> String? in
            for try await value in try await connection.query(query, logger: logger).decode(String?.self) { return value }
            return nil
        }
        return try text.map { try JSONDecoder().decode(Document.self, from: Data($0.utf8)) }
    }
}
