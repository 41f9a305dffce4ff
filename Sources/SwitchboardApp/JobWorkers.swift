public import Logging
import PostgresNIO
public import ServiceLifecycle
import SwitchboardCore
public import SwitchboardPostgres
import Synchronization

/// The workers as a Service: `concurrency` loops that take and run jobs, woken by
/// `LISTEN switchboard_jobs` (the jobs table's insert trigger notifies) and, should a
/// notification be missed or a job wait for its retry time, by a poll.
public final class JobWorkers: Service {
    let processor: JobProcessor
    let database: Database
    let concurrency: Int
    let pollInterval: Duration
    let doorbell = Doorbell()
    let logger: Logger

    public init(processor: JobProcessor, database: Database, concurrency: Int, logger: Logger) {
        self.processor = processor
        self.database = database
        self.concurrency = max(1, concurrency)
        self.pollInterval = processor.policy.pollInterval
        self.logger = logger
    }

    public func run() async throws {
        try await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.listen() }
                group.addTask { await self.sweepHolds() }
                group.addTask { await self.sweepRetention() }
                group.addTask { await self.refreshAnalytics() }
                for _ in 0..<self.concurrency {
                    group.addTask { await self.work() }
                }
                await group.waitForAll()
            }
        }
    }

    func work() async {
        while !Task.isCancelled {
            do {
                if try await processor.runNext(onClaim: { self.doorbell.ring() }) { continue }
            } catch is CancellationError {
                return
            } catch {
                logger.warning("taking a job failed", metadata: ["error": "\(error)"])
            }
            await doorbell.wait(timeout: pollInterval)
        }
    }

    /// The credit sweeper: releases the holds of workers that died between hold and capture
    /// (any replica's), so their credits are not held for ever, and takes what is left of
    /// granted credits past their expiry.
    func sweepHolds() async {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: processor.policy.sweepInterval)
                let expired = try await processor.credits.expireHolds(now: processor.now())
                if expired > 0 { logger.warning("expired credit holds released", metadata: ["holds": "\(expired)"]) }
                let grants = try await processor.credits.expireGrants(now: processor.now())
                if grants > 0 { logger.info("granted credits expired", metadata: ["grants": "\(grants)"]) }
            } catch is CancellationError {
                return
            } catch {
                logger.warning("sweeping credit holds failed", metadata: ["error": "\(error)"])
            }
        }
    }

    /// The retention sweeper: deletes, in batches, what outlived each tenant's policy, and
    /// records each run. Every replica runs it; runs are idempotent and cheap when empty.
    func sweepRetention() async {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: processor.policy.retentionInterval)
                let deleted = try await processor.privacy.retentionSweep(now: processor.now())
                if !deleted.isEmpty { logger.info("retention run deleted data past its time", metadata: ["deleted": "\(deleted)"]) }
            } catch is CancellationError {
                return
            } catch {
                logger.warning("the retention run failed", metadata: ["error": "\(error)"])
            }
        }
    }

    /// The analytics refresh: recomputes the rollups of the hours since the last refresh
    /// (minus its lookback). Every replica runs it; one at a time does the work.
    func refreshAnalytics() async {
        let analytics = PostgresAnalyticsStore(database: database)
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: processor.policy.analyticsInterval)
                try await analytics.refresh(now: processor.now())
            } catch is CancellationError {
                return
            } catch {
                logger.warning("refreshing the analytics failed", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Holds one connection that listens for new jobs; reconnects after a lost one.
    func listen() async {
        while !Task.isCancelled {
            do {
                try await database.client.withConnection { connection in
                    try await connection.listen(on: "switchboard_jobs") { notifications in
                        self.doorbell.ring()
                        for try await _ in notifications { self.doorbell.ring() }
                    }
                }
            } catch is CancellationError {
                return
            } catch {
                if Task.isCancelled { return }
                logger.warning("listening for jobs failed; polling until it is back", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: pollInterval)
        }
    }
}

/// Wakes one waiting worker at a time: a worker that finds a job rings again, so work
/// fans out to as many workers as there are jobs, and a notification does not wake the
/// whole pool to race for one job. A ring with no one waiting is kept for the next
/// waiter, so a notification that arrives while every worker is busy is not lost.
final class Doorbell: Sendable {
    private struct State {
        var pending = false
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var next = 0
    }

    private let state = Mutex(State())

    func ring() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let first = state.waiters.keys.min() else {
                state.pending = true
                return nil
            }
            return state.waiters.removeValue(forKey: first)
        }
        waiter?.resume()
    }

    /// Returns at the next ring, or after `timeout`.
    func wait(timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitForRing() }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitForRing() async {
        let id = state.withLock { state -> Int in
            state.next += 1
            return state.next
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.pending {
                        state.pending = false
                        return true
                    }
                    if Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.resume()
        }
    }
}
