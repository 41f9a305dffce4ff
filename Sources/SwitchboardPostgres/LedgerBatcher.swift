public import SwitchboardCore

/// Group commit for the ledger: operations on one tenant that arrive while an earlier
/// batch of that tenant is being applied wait and are applied together, in order, in one
/// `credit_apply` call — one row lock, one account write and one commit for many charges.
///
/// A single balance row serializes its tenant's charges, and the lock is held through the
/// commit's WAL flush: that caps one busy tenant at about a thousand charges a second on
/// this machine whatever the number of connections. Batching pays the flush once per
/// batch. Nothing is loosened: each caller's operation is answered only after the batch
/// holding it committed; the database still decides each operation, in order, under the
/// account lock (so invariants hold across replicas, each with its own batcher); and
/// when a shared batch fails (an operation the database refuses), its operations are
/// applied one by one, so one bad operation costs the others nothing.
public actor LedgerBatcher {
    private struct Waiting {
        var operation: LedgerOperation
        var continuation: CheckedContinuation<LedgerResult, any Error>
    }

    private let store: PostgresCreditStore
    private let maximumBatch: Int
    private var queues: [TenantID: [Waiting]] = [:]
    private var busy: Set<TenantID> = []

    public init(store: PostgresCreditStore, maximumBatch: Int = 256) {
        self.store = store
        self.maximumBatch = max(1, maximumBatch)
    }

    /// Applies one operation to `tenant`'s account; returns once it is committed.
    public func apply(_ tenant: TenantID, _ operation: LedgerOperation) async throws -> LedgerResult {
        try await withCheckedThrowingContinuation { continuation in
            queues[tenant, default: []].append(Waiting(operation: operation, continuation: continuation))
            startIfIdle(tenant)
        }
    }

    private func startIfIdle(_ tenant: TenantID) {
        guard !busy.contains(tenant), let queue = queues[tenant], !queue.isEmpty else { return }
        let batch = Array(queue.prefix(maximumBatch))
        if batch.count == queue.count {
            queues[tenant] = nil
        } else {
            queues[tenant] = Array(queue.dropFirst(batch.count))
        }
        busy.insert(tenant)
        Task { await self.write(tenant, batch) }
    }

    private func write(_ tenant: TenantID, _ batch: [Waiting]) async {
        do {
            let results = try await store.apply(tenant, batch.map(\.operation))
            for (waiting, result) in zip(batch, results) { waiting.continuation.resume(returning: result) }
        } catch {
            if batch.count == 1 {
                batch[0].continuation.resume(throwing: error)
            } else {
                for waiting in batch {
                    do {
                        let result = try await store.apply(tenant, [waiting.operation])
                        waiting.continuation.resume(returning: result[0])
                    } catch {
                        waiting.continuation.resume(throwing: error)
                    }
                }
            }
        }
        busy.remove(tenant)
        startIfIdle(tenant)
    }
}
