import Foundation
public import Logging
public import ServiceLifecycle
public import SwitchboardPostgres

/// Reads what `/metrics` shows from the database — the job queue's depth and oldest wait,
/// the analytics rollups' age — on a timer, so a scrape costs no query: `/metrics` is
/// reachable by anyone who can reach the server, and a query per request would let them
/// spend the database's connections.
///
/// The gauges are as old as `interval` at most (15 s, a usual scrape interval). A run that
/// fails keeps the previous values and logs a warning.
public struct MetricsGauges: Service {
    let database: Database
    let metrics: AppMetrics
    let interval: Duration
    let logger: Logger

    public init(database: Database, metrics: AppMetrics, interval: Duration = .seconds(15), logger: Logger) {
        self.database = database
        self.metrics = metrics
        self.interval = interval
        self.logger = logger
    }

    /// Reads the gauges once, now.
    public func refresh() async {
        do {
            metrics.recordQueue(try await PostgresJobStore(database: database).queueStatistics(now: Date()))
        } catch {
            logger.warning("the job queue could not be read for /metrics", metadata: ["error": "\(error)"])
        }
        do {
            let state = try await PostgresAnalyticsStore(database: database).state()
            metrics.recordAnalytics(refreshedAt: state.refreshedAt, lastDuration: state.lastDuration, now: Date())
        } catch {
            logger.warning("the analytics state could not be read for /metrics", metadata: ["error": "\(error)"])
        }
    }

    /// Refreshes at once, then every `interval` until shutdown.
    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                while !Task.isCancelled {
                    await refresh()
                    try await Task.sleep(for: interval)
                }
            }
        } catch is CancellationError {
            // Shut down: the sleep was cut short.
        }
    }
}
