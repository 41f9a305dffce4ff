import SwitchboardCore
import SwitchboardPostgres

/// Workers that can take new messages' reply jobs in the ingest transaction (`JobWorkers`).
protocol IngestJobTaker: Sendable {
    /// Reserves places for up to `count` jobs among the free workers: how to take them, or
    /// nil when none is free.
    func reserve(upTo count: Int) -> PostgresIngestStore.JobTaking?
    /// Hands over the jobs taken under a reservation of `reserved` places, each to run in
    /// one of them; the places left unused are freed.
    func hand(_ jobs: [(job: ClaimedJob, document: JobDocument)], reserved: Int)
}

/// Group commit for ingest: deliveries that arrive while earlier ones are being written
/// are gathered and written together, in one transaction, so a busy server pays one
/// commit (and one round trip) for many deliveries instead of one each.
///
/// Nothing is loosened: each delivery is answered only after the transaction holding it
/// has committed. When a shared transaction fails, its deliveries are retried one by one,
/// so one bad delivery (or a deadlock between two batches) costs the others nothing.
///
/// With `taker` (this process's workers), the batch's new messages' reply jobs are taken
/// in the same transaction for as many workers as are free, and handed to them with their
/// context: no notification, claim or second round trip before the answer starts.
actor IngestBatcher {
    private struct Waiting {
        var delivery: PostgresIngestStore.Delivery
        var continuation: CheckedContinuation<[IngestResult], any Error>
    }

    private let store: PostgresIngestStore
    private let taker: (any IngestJobTaker)?
    private let maximumBatch: Int
    private let maximumInFlight: Int
    private var queue: [Waiting] = []
    private var inFlight = 0

    /// - Parameters:
    ///   - maximumBatch: the most deliveries one transaction takes.
    ///   - maximumInFlight: how many transactions run at once; more deliveries wait and
    ///     join the next batch. A few per core keeps the database busy without thrashing.
    ///   - taker: the workers that take the new messages' reply jobs at once, if any.
    init(store: PostgresIngestStore, maximumBatch: Int = 64, maximumInFlight: Int = 4, taker: (any IngestJobTaker)? = nil) {
        self.store = store
        self.taker = taker
        self.maximumBatch = maximumBatch
        self.maximumInFlight = maximumInFlight
    }

    /// Stores one delivery; returns once it is committed.
    func ingest(_ delivery: PostgresIngestStore.Delivery) async throws -> [IngestResult] {
        try await withCheckedThrowingContinuation { continuation in
            queue.append(Waiting(delivery: delivery, continuation: continuation))
            startWriting()
        }
    }

    private func startWriting() {
        while inFlight < maximumInFlight, !queue.isEmpty {
            let batch = Array(queue.prefix(maximumBatch))
            queue.removeFirst(batch.count)
            inFlight += 1
            // A short-lived writer per batch; it ends when the batch is answered.
            Task { await self.write(batch) }
        }
    }

    private func write(_ unordered: [Waiting]) async {
        // Rows are locked in the order deliveries are written: give every batch the same
        // order (by tenant, then sender), so two batches touching the same contacts wait
        // for each other instead of deadlocking.
        let batch = unordered.sorted { Self.lockOrder($0.delivery) < Self.lockOrder($1.delivery) }
        let taking = taker?.reserve(upTo: batch.count)
        do {
            let ingested = try await store.ingest(batch: batch.map(\.delivery), taking: taking)
            taker?.hand(ingested.taken, reserved: taking?.limit ?? 0)
            for (waiting, result) in zip(batch, ingested.results) { waiting.continuation.resume(returning: result) }
        } catch {
            // Nothing was taken; one by one, the jobs are queued and notified as usual.
            taker?.hand([], reserved: taking?.limit ?? 0)
            if batch.count == 1 {
                batch[0].continuation.resume(throwing: error)
            } else {
                for waiting in batch {
                    do {
                        let result = try await store.ingest(batch: [waiting.delivery])
                        waiting.continuation.resume(returning: result.first ?? [])
                    } catch {
                        waiting.continuation.resume(throwing: error)
                    }
                }
            }
        }
        inFlight -= 1
        startWriting()
    }

    static func lockOrder(_ delivery: PostgresIngestStore.Delivery) -> String {
        let first = delivery.events.first
        return "\(delivery.route.tenantID)|\(delivery.route.kind)|\(first?.sender?.externalID ?? "")|\(first?.chat?.externalID ?? "")"
    }
}
