public import Logging
public import SwitchboardCore

/// Group commit for the ledger: operations on one tenant that arrive while an earlier
/// batch of that tenant is being applied wait and are applied together, in order, in one
/// `LedgerStore.apply` — one row lock, one account write and one commit for many charges.
///
/// A single balance row serializes its tenant's charges, and the lock is held through the
/// commit's WAL flush: that caps one busy tenant at about a thousand charges a second on
/// a small machine whatever the number of connections. Batching pays the flush once per
/// batch. The store still decides each operation, in order, under the account lock (so
/// invariants hold across replicas, each with its own batcher).
public struct LedgerBatcher: Sendable {
    private let commit: GroupCommit<TenantID, (LedgerOperation, Logger), LedgerResult>

    public init(store: any LedgerStore, maximumBatch: Int = 256) {
        commit = GroupCommit(maximumBatch: maximumBatch, maximumInFlight: 1) { tenant, batch in
            // The batch's statement is logged with its first caller's logger.
            try await store.apply(tenant, batch.map(\.0), logger: batch[0].1)
        }
    }

    /// Applies one operation to `tenant`'s account; returns once it is committed.
    public func apply(_ tenant: TenantID, _ operation: LedgerOperation, logger: Logger) async throws -> LedgerResult {
        try await commit.submit((operation, logger), key: tenant)
    }
}
