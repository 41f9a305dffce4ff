import SwitchboardCore
import SwitchboardPostgres

/// Group commit for ingest: deliveries that arrive while earlier ones are being written
/// are gathered and written together, in one transaction, so a busy server pays one
/// commit (and one round trip) for many deliveries instead of one each.
///
/// Nothing is loosened: each delivery is answered only after the transaction holding it
/// has committed. When a shared transaction fails, its deliveries are retried one by one,
/// so one bad delivery (or a deadlock between two batches) costs the others nothing.
actor IngestBatcher {
    private struct Waiting {
        var delivery: PostgresIngestStore.Delivery
        var continuation: CheckedContinuation<[IngestResult], any Error>
    }

    private let store: PostgresIngestStore
    private let maximumBatch: Int
    private let maximumInFlight: Int
    private var queue: [Waiting] = []
    private var inFlight = 0

    /// - Parameters:
    ///   - maximumBatch: the most deliveries one transaction takes.
    ///   - maximumInFlight: how many transactions run at once; more deliveries wait and
    ///     join the next batch. A few per core keeps the database busy without thrashing.
    init(store: PostgresIngestStore, maximumBatch: Int = 64, maximumInFlight: Int = 4) {
        self.store = store
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
        do {
            let results = try await store.ingest(batch: batch.map(\.delivery))
            for (waiting, result) in zip(batch, results) { waiting.continuation.resume(returning: result) }
        } catch {
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
