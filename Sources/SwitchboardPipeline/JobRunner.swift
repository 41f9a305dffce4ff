public import ConnectorKit
public import Foundation
public import Logging
public import SwitchboardCore
public import SwitchboardProviders

/// Runs the outbox's jobs: a reply job asks the channel's agent for an answer and stores
/// it with a send job (`ReplyStep`); a send job delivers a stored message through its
/// channel (`SendStep`).
///
/// Every step ends in one write that also finishes the job, fenced by the attempt that
/// took it: a worker that died is replaced by the next attempt after its lease, and a
/// stored answer or a recorded send is never made twice.
public struct JobRunner: Sendable {
    let queue: any JobQueue
    let replying: ReplyStep
    let sending: SendStep
    public let policy: JobPolicy
    public let now: @Sendable () -> Date
    /// How the lease keeper waits between renewals (tests step it by hand).
    let sleep: @Sendable (Duration) async throws -> Void
    public let worker: String
    let logger: Logger
    let metrics: (any PipelineMetrics)?

    public init(
        queue: any JobQueue, replies: any ReplyStore, ledger: any LedgerStore, secrets: SecretBox, connectors: ConnectorRegistry,
        http: any OutboundHTTPClient, transport: any ProviderTransport, router: ModelRouter = ModelRouter(),
        policy: JobPolicy = JobPolicy(), now: @escaping @Sendable () -> Date = Date.init,
        sleep: @escaping @Sendable (Duration) async throws -> Void = { try await DeadlineWatch.shared.sleep(for: $0) },
        worker: String = JobRunner.defaultWorkerName(), metrics: (any PipelineMetrics)? = nil,
        tools: (any AgentToolStore)? = nil, logger: Logger
    ) {
        let sending = SendStep(
            queue: queue, replies: replies, secrets: secrets, connectors: connectors, http: http, policy: policy, now: now
        )
        self.queue = queue
        self.sending = sending
        self.replying = ReplyStep(
            queue: queue, replies: replies, ledger: LedgerBatcher(store: ledger), prices: ledger, secrets: secrets, connectors: connectors, http: http,
            transport: transport, router: router, policy: policy, now: now, worker: worker, metrics: metrics, sending: sending,
            tools: tools
        )
        self.policy = policy
        self.now = now
        self.sleep = sleep
        self.worker = worker
        self.metrics = metrics
        self.logger = logger
    }

    public static func defaultWorkerName() -> String {
        "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8))"
    }

    /// Takes one ready job and runs it; false when none was ready.
    public func runNext(kinds: [ClaimedJob.Kind] = ClaimedJob.Kind.allCases) async throws -> Bool {
        guard let (job, document) = try await claim(kinds: kinds, limit: 1).first else { return false }
        await run(job, document)
        return true
    }

    /// Takes up to `limit` ready jobs of `kinds` under this worker's lease, each with the
    /// context its run reads first. Jobs the claim found out of attempts are counted and
    /// logged here.
    public func claim(kinds: [ClaimedJob.Kind] = ClaimedJob.Kind.allCases, limit: Int) async throws -> [TakenJob] {
        let claim = try await queue.claim(
            kinds: kinds, limit: limit, now: now(), lease: policy.lease, worker: worker, maximumAttempts: policy.maximumAttempts,
            logger: logger
        )
        for job in claim.dead {
            metrics?.recordDeadJob(kind: job.kind.rawValue)
            logger.error(
                "job gave up: no attempt finished",
                metadata: ["job.id": "\(job.id)", "job.kind": "\(job.kind.rawValue)", "tenant.id": "\(job.tenantID)", "job.attempts": "\(job.attempt)"]
            )
        }
        return claim.taken
    }

    /// Runs ready jobs until none is left (tests drive the queue with it); answers how
    /// many ran.
    @discardableResult
    public func drain(kinds: [ClaimedJob.Kind] = ClaimedJob.Kind.allCases) async throws -> Int {
        var count = 0
        while try await runNext(kinds: kinds) { count += 1 }
        return count
    }

    /// Runs one taken job. Failures are recorded on the job, never thrown: a job that
    /// cannot even record its failure is left to its lease and taken again.
    public func run(_ job: ClaimedJob, _ document: JobDocument = .unread) async {
        var logger = self.logger
        logger[metadataKey: "job.id"] = "\(job.id)"
        logger[metadataKey: "job.kind"] = "\(job.kind.rawValue)"
        logger[metadataKey: "tenant.id"] = "\(job.tenantID)"
        let jobLogger = logger
        do {
            try await withLeaseKept(job, logger: jobLogger) { [self] in
                switch job.kind {
                case .reply: try await replying.run(job, document, logger: jobLogger)
                case .send: try await sending.run(job, document, logger: jobLogger)
                }
            }
        } catch is JobLeaseLost {
            logger.warning("job was taken over by a later attempt; its work stands")
        } catch is JobDeadlinePassed {
            // Its lease ends now: the next claim takes the job as its next attempt, or buries
            // it when this was the last.
            logger.error("job ran past its deadline and was stopped", metadata: ["job.deadline": "\(policy.runDeadline)"])
            _ = try? await queue.extendLease(job, until: now(), logger: logger)
        } catch is CancellationError {
            logger.info("job interrupted by shutdown; it is taken again when its lease runs out")
        } catch {
            logger.error("job failed", metadata: ["error": "\(error)"])
        }
    }

    /// Runs `body` while renewing the job's lease every third of it, so a slow provider
    /// chain (three tries of a 60 s timeout, then the fallbacks) is not taken over by
    /// another worker while this one still works; a process that dies stops renewing.
    ///
    /// Renewals never reach past the attempt's deadline (`runDeadline` from now): the first
    /// wake-up past it cancels `body` and throws ``JobDeadlinePassed``, so a server that
    /// answers one byte at a time cannot keep a worker, or a lease, for ever.
    func withLeaseKept(_ job: ClaimedJob, logger: Logger, _ body: @escaping @Sendable () async throws -> Void) async throws {
        let deadline = now().addingTimeInterval(policy.runDeadline.timeInterval)
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                try await body()
                return true
            }
            group.addTask {
                while true {
                    let left = deadline.timeIntervalSince(now())
                    try await sleep(left > 0 ? min(policy.lease / 3, .milliseconds(Int64(left * 1000) + 1)) : .zero)
                    let time = now()
                    if time >= deadline { throw JobDeadlinePassed() }
                    let until = min(time.addingTimeInterval(policy.lease.timeInterval), deadline)
                    guard try await queue.extendLease(job, until: until, logger: logger) else { return false }
                }
            }
            defer { group.cancelAll() }
            // The body's end ends the keeper; the keeper's end (the lease was taken over)
            // leaves the body to find out when it records its outcome.
            while let finished = try await group.next() {
                if finished { return }
            }
        }
    }
}
