public import Logging
public import ServiceLifecycle
public import SwitchboardCore
import Synchronization

/// The workers as a Service: one dispatcher takes ready jobs in batches of as many as
/// there are free workers (`concurrency` in all) and runs each in a task of its own
/// (`JobRunner`). It is woken by the queue's announcement of new jobs
/// (`JobQueue.waitForJobs`), by a job's end while the last batch came back full (more may
/// be waiting), and by a poll every `pollInterval` (retries whose time has come, leases
/// that ran out, an announcement lost with its connection).
///
/// One claim serves every job ready at that moment: with a worker per loop, each
/// announcement woke a worker that claimed the job and woke another to look for more, and
/// each worker looked again after its job — three claims per job, two of them empty.
///
/// The ingest of this process hands it more: the reply jobs it took for free workers in
/// the write that stored their messages (`IngestJobTaker`), run beside the claimed ones
/// within the same `concurrency`.
public final class Workers: Service {
    let runner: JobRunner
    let queue: any JobQueue
    let concurrency: Int
    let pollInterval: Duration
    /// How the poll waits (tests step it by hand).
    let sleep: @Sendable (Duration) async throws -> Void
    let wake = Wake()
    let logger: Logger
    /// Jobs the ingest took for these workers.
    private let handed: AsyncStream<TakenJob>
    private let handIn: AsyncStream<TakenJob>.Continuation

    public init(
        runner: JobRunner, queue: any JobQueue, concurrency: Int,
        sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }, logger: Logger
    ) {
        self.runner = runner
        self.queue = queue
        self.concurrency = max(1, concurrency)
        self.pollInterval = runner.policy.pollInterval
        self.sleep = sleep
        self.logger = logger
        (handed, handIn) = AsyncStream.makeStream(of: TakenJob.self)
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.listen() }
                group.addTask { await self.poll() }
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
                        let jobs = try await runner.claim(limit: free)
                        for (job, document) in jobs {
                            wake.started()
                            group.addTask {
                                await self.runner.run(job, document)
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
        wake.open(runner.policy.takeAtIngest)
        defer { wake.open(false) }
        await withDiscardingTaskGroup { group in
            for await (job, document) in handed {
                group.addTask {
                    await self.runner.run(job, document)
                    self.wake.finished()
                }
            }
        }
    }

    /// Rings every `pollInterval`.
    func poll() async {
        while !Task.isCancelled {
            do { try await sleep(pollInterval) } catch { return }
            wake.ring()
        }
    }

    /// Waits for the queue's announcements of new jobs; waits again after a lost one.
    func listen() async {
        while !Task.isCancelled {
            do {
                try await queue.waitForJobs(logger: logger) { self.wake.ring() }
            } catch is CancellationError {
                return
            } catch {
                if Task.isCancelled { return }
                logger.warning("listening for jobs failed; polling until it is back", metadata: ["error": "\(error)"])
            }
            try? await sleep(pollInterval)
        }
    }
}

extension Workers: IngestJobTaker {
    public func reserve(upTo count: Int) -> JobTaking? {
        let places = wake.reserve(upTo: count, of: concurrency)
        guard places > 0 else { return nil }
        return JobTaking(limit: places, now: runner.now(), lease: runner.policy.lease, worker: runner.worker)
    }

    public func hand(_ jobs: [TakenJob], reserved: Int) {
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
