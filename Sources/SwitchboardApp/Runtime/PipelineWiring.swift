public import ConnectorKit
public import Foundation
public import Logging
public import SwitchboardCore
public import SwitchboardPipeline
public import SwitchboardPostgres
public import SwitchboardProviders

// The message path (`SwitchboardPipeline`) on PostgreSQL: its ports served by the
// Postgres stores. Production and the app's tests build it here; the pipeline's own tests
// build it on in-memory adapters.

extension JobRunner {
    /// A runner whose queue, reply store and ledger are `database`'s.
    public init(
        database: Database, secrets: SecretBox, connectors: ConnectorRegistry, http: any OutboundHTTPClient,
        transport: any ProviderTransport, router: ModelRouter = ModelRouter(), policy: JobPolicy = JobPolicy(),
        now: @escaping @Sendable () -> Date = Date.init,
        sleep: @escaping @Sendable (Duration) async throws -> Void = { try await DeadlineWatch.shared.sleep(for: $0) },
        worker: String = JobRunner.defaultWorkerName(), metrics: (any PipelineMetrics)? = nil, logger: Logger
    ) {
        self.init(
            queue: PostgresJobStore(database: database), replies: PostgresReplyStore(database: database),
            ledger: PostgresCreditStore(database: database), secrets: secrets, connectors: connectors, http: http,
            transport: transport, router: router, policy: policy, now: now, sleep: sleep, worker: worker, metrics: metrics,
            tools: PostgresAgentToolStore(database: database), logger: logger
        )
    }
}

extension Maintenance {
    /// The app's chores on `database`: the credit sweeper, the retention run and the
    /// analytics refresh, at the policy's intervals.
    public static func chores(database: Database, policy: JobPolicy) -> [Chore] {
        let credits = PostgresCreditStore(database: database)
        let privacy = PostgresPrivacyStore(database: database)
        let analytics = PostgresAnalyticsStore(database: database)
        return [
            // Releases the holds of workers that died between hold and capture (any
            // replica's), so their credits are not held for ever, and takes what is left of
            // granted credits past their expiry.
            Chore(name: "credit sweep", interval: policy.sweepInterval) { now, logger in
                let expired = try await credits.expireHolds(now: now)
                if expired > 0 { logger.warning("expired credit holds released", metadata: ["holds": "\(expired)"]) }
                let grants = try await credits.expireGrants(now: now)
                return grants > 0 ? "granted credits expired: \(grants) grants" : nil
            },
            // Deletes, in batches, what outlived each tenant's policy, and records each run.
            Chore(name: "retention", interval: policy.retentionInterval) { now, _ in
                let deleted = try await privacy.retentionSweep(now: now)
                return deleted.isEmpty ? nil : "retention run deleted data past its time: \(deleted)"
            },
            // Recomputes the rollups of the hours since the last refresh (minus its
            // lookback); one replica at a time does the work.
            Chore(name: "analytics refresh", interval: policy.analyticsInterval) { now, _ in
                try await analytics.refresh(now: now)
                return nil
            },
        ]
    }
}
