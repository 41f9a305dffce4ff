public import Foundation
public import Logging
import PostgresNIO
public import SwitchboardCore

/// The outbox in PostgreSQL: workers of any replica take jobs with `FOR UPDATE SKIP
/// LOCKED` under a lease, and finish them only while their attempt is the latest.
///
/// The claim is fair across tenants (fewest running first) and a job has at most
/// `maximumAttempts` attempts, reclaims after a lease ran out included (migration 0012).
public struct PostgresJobStore: JobQueue {
    let database: Database

    /// Attempts a job gets when the caller does not say.
    public static let defaultMaximumAttempts = 5

    public init(database: Database) {
        self.database = database
    }

    /// Takes up to `limit` ready jobs (queued ones whose time has come, and running ones
    /// whose lease ran out with attempts left) in one statement.
    public func claim(
        kinds: [ClaimedJob.Kind], limit: Int, now: Date, lease: Duration, worker: String,
        maximumAttempts: Int = PostgresJobStore.defaultMaximumAttempts
    ) async throws -> [ClaimedJob] {
        try await claim(
            kinds: kinds, limit: limit, now: now, lease: lease, worker: worker, maximumAttempts: maximumAttempts, documents: false
        ).taken.map(\.job)
    }

    /// Takes up to `limit` ready jobs as `claim` does, each with what its worker reads
    /// first — `reply_context` for a reply, `send_context` for a send — in the same
    /// statement: one round trip fewer per job.
    public func claimWithDocuments(
        kinds: [ClaimedJob.Kind], limit: Int, now: Date, lease: Duration, worker: String,
        maximumAttempts: Int = PostgresJobStore.defaultMaximumAttempts
    ) async throws -> JobClaim {
        try await claim(kinds: kinds, limit: limit, now: now, lease: lease, worker: worker, maximumAttempts: maximumAttempts, documents: true)
    }

    private func claim(
        kinds: [ClaimedJob.Kind], limit: Int, now: Date, lease: Duration, worker: String, maximumAttempts: Int, documents: Bool
    ) async throws -> JobClaim {
        let logger = database.logger
        return try await database.withConnection { connection in
            // claim_jobs works in the workers' scope and leaves it; each context function
            // then sets its job's tenant for its own reads.
            let rows = try await connection.execute(
                ClaimJobsStatement(
                    documents: documents, kinds: kinds.map(\.rawValue), limit: Int32(clamping: limit), now: now,
                    leaseSeconds: lease.timeInterval, worker: worker, maximumAttempts: Int32(clamping: max(1, maximumAttempts))
                ),
                logger: logger
            )
            var claim = JobClaim(taken: [], dead: [])
            for try await (tenant, id, kind, message, attempts, dead, document) in rows {
                guard let kind = ClaimedJob.Kind(rawValue: kind), let message else { continue }
                let job = ClaimedJob(id: JobID(id), tenantID: TenantID(tenant), kind: kind, messageID: MessageID(message), attempt: Int(attempts))
                if dead {
                    claim.dead.append(job)
                } else {
                    claim.taken.append((job, documents ? .read(document) : .unread))
                }
            }
            return claim
        }
    }

    public func claim(
        kinds: [ClaimedJob.Kind], limit: Int, now: Date, lease: Duration, worker: String, maximumAttempts: Int, logger: Logger
    ) async throws -> JobClaim {
        try await PostgresJobStore(database: database.logging(logger)).claimWithDocuments(
            kinds: kinds, limit: limit, now: now, lease: lease, worker: worker, maximumAttempts: maximumAttempts
        )
    }

    /// Extends the lease of a job still being worked on; false when it was taken over.
    public func extendLease(_ job: ClaimedJob, until: Date) async throws -> Bool {
        try await extendLease(job, until: until, logger: database.logger)
    }

    public func extendLease(_ job: ClaimedJob, until: Date, logger: Logger) async throws -> Bool {
        let database = self.database.logging(logger)
        return try await database.withTenant(job.tenantID) { connection in
            try await connection.integer(
                """
                WITH extended AS (
                    UPDATE jobs SET locked_until = \(until)
                    WHERE tenant_id = \(job.tenantID.uuid) AND id = \(job.id.uuid) AND attempts = \(Int32(job.attempt)) AND status = 'running'
                    RETURNING 1)
                SELECT count(*)::int FROM extended
                """,
                logger: logger
            ) == 1
        }
    }

    /// Puts a job back in the queue to run again at `runAfter`; throws `JobLeaseLost`
    /// when a later attempt took it over.
    public func retry(_ job: ClaimedJob, runAfter: Date, error: String) async throws {
        try await finish(job, status: .queued, runAfter: runAfter, error: error)
    }

    /// Ends a job that cannot be done (its message is gone), with the reason.
    public func fail(_ job: ClaimedJob, error: String, logger: Logger) async throws {
        try await PostgresJobStore(database: database.logging(logger)).finish(job, status: .failed, runAfter: nil, error: error)
    }

    /// Holds one connection that listens on `switchboard_jobs` (the jobs table's insert
    /// trigger notifies) until cancelled or the connection is lost.
    public func waitForJobs(logger: Logger, ring: @escaping @Sendable () -> Void) async throws {
        try await database.client.withConnection { connection in
            try await connection.listen(on: "switchboard_jobs") { notifications in
                ring()
                for try await _ in notifications { ring() }
            }
        }
    }

    func finish(_ job: ClaimedJob, status: JobStatus, runAfter: Date?, error: String) async throws {
        let logger = database.logger
        try await database.withConnection { connection in
            try await connection.perform(
                """
                SELECT finish_job(\(job.tenantID.uuid), \(job.id.uuid), \(Int32(job.attempt)), \(status.rawValue), \(runAfter), \(error))
                """,
                logger: logger
            )
        }
    }
}

extension PostgresJobStore {
    /// The queue's depth by kind and status (queued, running), with the oldest ready job's
    /// wait in seconds at `now` — for the operator's metrics; no tenant in it.
    public func queueStatistics(now: Date) async throws -> [(kind: String, status: String, count: Int, oldestReady: Double)] {
        let logger = database.logger
        return try await database.withWorker { connection in
            var rows: [(String, String, Int, Double)] = []
            for try await (kind, status, count, age) in try await connection.query(
                """
                SELECT kind, status, count(*)::int8,
                       COALESCE(extract(epoch FROM \(now) - min(run_after) FILTER (WHERE run_after <= \(now))), 0)::float8
                FROM jobs WHERE status IN ('queued', 'running') GROUP BY kind, status
                """,
                logger: logger
            ).decode((String, String, Int64, Double).self) {
                rows.append((kind, status, Int(count), max(age, 0)))
            }
            return rows
        }
    }
}
