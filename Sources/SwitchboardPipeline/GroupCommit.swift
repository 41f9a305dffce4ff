/// Group commit, written once: items that arrive while earlier ones of the same key are
/// being written wait and are written together, in order, in one `write` — one
/// transaction, one lock and one commit for many items instead of one each.
///
/// Nothing is loosened: each caller is answered only after the write holding its item has
/// committed. When a shared write fails (an item the store refuses, a deadlock between two
/// batches), its items are written again one by one, so one bad item costs the others
/// nothing. At most `maximumInFlight` writes of one key run at once; more items wait and
/// join the next batch.
///
/// The ingest uses it with one key and a few writes in flight (`IngestBatcher`); the
/// ledger with one key per tenant and one write in flight each, since the tenant's account
/// row serializes its charges anyway (`LedgerBatcher`).
public actor GroupCommit<Key: Hashable & Sendable, Item: Sendable, Output: Sendable> {
    /// Writes a batch of one key; answers one output per item, in order.
    public typealias Write = @Sendable (Key, [Item]) async throws -> [Output]

    private struct Waiting {
        var item: Item
        var continuation: CheckedContinuation<Output, any Error>
    }

    private let write: Write
    private let maximumBatch: Int
    private let maximumInFlight: Int
    private var queues: [Key: [Waiting]] = [:]
    private var inFlight: [Key: Int] = [:]

    public init(maximumBatch: Int, maximumInFlight: Int = 1, write: @escaping Write) {
        self.maximumBatch = max(1, maximumBatch)
        self.maximumInFlight = max(1, maximumInFlight)
        self.write = write
    }

    /// Writes one item under `key`; returns once it is committed.
    public func submit(_ item: Item, key: Key) async throws -> Output {
        try await withCheckedThrowingContinuation { continuation in
            queues[key, default: []].append(Waiting(item: item, continuation: continuation))
            startWriting(key)
        }
    }

    /// Items of `key` waiting for a write (tests wait on it instead of sleeping).
    func waiting(_ key: Key) -> Int { queues[key]?.count ?? 0 }

    private func startWriting(_ key: Key) {
        while inFlight[key, default: 0] < maximumInFlight, let queue = queues[key], !queue.isEmpty {
            let batch = Array(queue.prefix(maximumBatch))
            queues[key] = batch.count == queue.count ? nil : Array(queue.dropFirst(batch.count))
            inFlight[key, default: 0] += 1
            // A short-lived writer per batch; it ends when the batch is answered.
            Task { await self.run(key, batch) }
        }
    }

    private func run(_ key: Key, _ batch: [Waiting]) async {
        do {
            let outputs = try await write(key, batch.map(\.item))
            guard outputs.count == batch.count else { throw GroupCommitMismatch(items: batch.count, outputs: outputs.count) }
            for (waiting, output) in zip(batch, outputs) { waiting.continuation.resume(returning: output) }
        } catch {
            if batch.count == 1 {
                batch[0].continuation.resume(throwing: error)
            } else {
                for waiting in batch {
                    do {
                        let outputs = try await write(key, [waiting.item])
                        guard let output = outputs.first else { throw GroupCommitMismatch(items: 1, outputs: 0) }
                        waiting.continuation.resume(returning: output)
                    } catch {
                        waiting.continuation.resume(throwing: error)
                    }
                }
            }
        }
        let left = inFlight[key, default: 1] - 1
        inFlight[key] = left == 0 ? nil : left
        startWriting(key)
    }
}

/// A store answered a batch with a different number of outputs than items: a bug of the
/// store, reported to every caller of the batch rather than answering some wrongly.
public struct GroupCommitMismatch: Error, Sendable, CustomStringConvertible {
    public var items: Int
    public var outputs: Int
    public var description: String { "a group commit of \(items) items was answered with \(outputs) outputs" }
}
