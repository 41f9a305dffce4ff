public import Logging
import PostgresNIO
public import ServiceLifecycle
import SwitchboardCore
public import SwitchboardPostgres
import Synchronization

/// The workers as a Service: one dispatcher takes ready jobs in batches of as many as
/// there are free workers (`concurrency` in all) and runs each in a task of its own. It is
/// woken by `LISTEN switchboard_jobs` (the jobs table's insert trigger notifies), by a
/// job's end while the last batch came back full (more may be waiting), and by a poll
/// every `pollInterval` (retries whose time has come, leases that ran out, a notification
/// lost with its connection).
///
/// One claim serves every job ready at that moment: with a worker per loop, each
/// notification woke a worker that claimed the job and woke another to look for more, and
/// each worker looked again after its job — three claims per job, two of them empty.
///
/// The ingest of this process hands it more: the reply jobs it took for free workers in
/// the transaction that stored their messages (`IngestJobTaker`), run beside the claimed
/// ones within the same `concurrency`.
public final class JobWorkers: Service {
    let processor: JobProcessor
    let database: Database
    let concurrency: Int
    let pollInterval: Duration
    let wake = Wake()
    let logger: Logger
    /// Jobs the ingest took for these workers.
    private let handed: AsyncStream<(job: ClaimedJob, document: JobDocument)>
    private let handIn: AsyncStream<(job: ClaimedJob, document: JobDocument)>.Continuation

    public init(processor: JobProcessor, database: Database, concurrency: Int, logger: Logger) {
        self.processor = processor
        self.database = database
        self.concurrency = max(1, concurrency)
        self.pollInterval = processor.policy.pollInterval
        self.logger = logger
        (handed, handIn) = AsyncStream.makeStream(of: (job: ClaimedJob, document: JobDocument).self)
    }

    public func run() async throws {
        try await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.listen() }
                group.addTask { await self.poll() }
                group.addTask { await self.sweepHolds() }
                group.addTask { await self.sweepRetention() }
                group.addTask { await self.refreshAnalytics() }
                group.addTask { await self.dispatch() }
                group.addTask { await self.runHanded() }
                await group.waitForAll()
            }
        }
    }

    /// Claims jobs while there may be more and a worker is free, then waits to be woken.
    func dispatch() async {
        await withDiscardingTaskGroup { group in
            var backlog = true
            while !Task.isCancelled {
                var free = concurrency - wake.running
                while backlog, free > 0, !Task.isCancelled {
                    do {
                        let jobs = try await processor.claim(limit: free)
                        for (job, document) in jobs {
                            wake.started()
                            group.addTask {
                                await self.processor.run(job, document)
                                self.wake.finished()
                            }
                        }
                        backlog = jobs.count == free
                        free -= jobs.count
                    } catch is CancellationError {
                        return
                    } catch {
                        logger.warning("taking jobs failed", metadata: ["error": "\(error)"])
                        backlog = false
                    }
                }
                guard let rung = await wake.next() else { return }
                backlog = backlog || rung
            }
        }
    }

    /// Runs the jobs the ingest took for these workers, while the workers run; reservations
    /// are refused before and after. A job handed over as they stop is left to its lease.
    func runHanded() async {
        wake.open(processor.policy.takeAtIngest)
        defer { wake.open(false) }
        await withDiscardingTaskGroup { group in
            for await (job, document) in handed {
                group.addTask {
                    await self.processor.run(job, document)
                    self.wake.finished()
                }
            }
        }
    }

    /// Rings every `pollInterval`.
    func poll() async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: pollInterval) } catch { return }
            wake.ring()
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
                        self.wake.ring()
                        for try await _ in notifications { self.wake.ring() }
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

extension JobWorkers: IngestJobTaker {
    func reserve(upTo count: Int) -> PostgresIngestStore.JobTaking? {
        let places = wake.reserve(upTo: count, of: concurrency)
        guard places > 0 else { return nil }
        return PostgresIngestStore.JobTaking(limit: places, now: processor.now(), lease: processor.policy.lease, worker: processor.worker)
    }

    func hand(_ jobs: [(job: ClaimedJob, document: JobDocument)], reserved: Int) {
        for job in jobs { handIn.yield(job) }
        if reserved > jobs.count { wake.release(reserved - jobs.count) }
    }
}

/// What wakes the dispatcher: a ring (new or due jobs may be waiting) or a job's end (a
/// worker is free). Wake-ups that arrive while the dispatcher is busy are kept as one, so
/// a burst of notifications costs one claim, and none is lost.
final class Wake: Sendable {
    private struct State {
        /// Jobs running, and places reserved for jobs the ingest may take.
        var running = 0
        var rung = false
        /// Whether the ingest may reserve places (the workers run and take at ingest).
        var open = false
    }

    private let state = Mutex(State())
    private let stream: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation

    init() {
        (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Jobs running now.
    var running: Int { state.withLock { $0.running } }

    func ring() {
        state.withLock { $0.rung = true }
        continuation.yield()
    }

    func started() { state.withLock { $0.running += 1 } }

    func open(_ open: Bool) { state.withLock { $0.open = open } }

    /// Takes up to `count` of the places `concurrency` leaves free; answers how many.
    func reserve(upTo count: Int, of concurrency: Int) -> Int {
        state.withLock { state in
            guard state.open else { return 0 }
            let places = max(0, min(count, concurrency - state.running))
            state.running += places
            return places
        }
    }

    /// Frees reserved places that no job took; the dispatcher may claim for them.
    func release(_ places: Int) {
        state.withLock { $0.running -= places }
        continuation.yield()
    }

    func finished() {
        state.withLock { $0.running -= 1 }
        continuation.yield()
    }

    /// Waits for the next wake-up; answers whether a ring came since the last one, or nil
    /// when the task is cancelled. Only the dispatcher waits.
    func next() async -> Bool? {
        var iterator = stream.makeAsyncIterator()
        guard await iterator.next() != nil else { return nil }
        return state.withLock { state in
            defer { state.rung = false }
            return state.rung
        }
    }
}
