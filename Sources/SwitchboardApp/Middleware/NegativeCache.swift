import Synchronization

/// Remembers, for a short time, keys that were looked up and not found, so the same miss
/// costs no second database round trip (a fake `sb_live_…` token presented again and
/// again, a bogus `/hooks/<id>`).
///
/// Bounded: at `maximumKeys` the expired entries go, and if none has expired the cache
/// starts empty (misses are cheap to forget). `removeAll()` is called when something that
/// could have been a cached miss is created.
final class NegativeCache<Key: Hashable & Sendable>: Sendable {
    private let entries = Mutex<[Key: ContinuousClock.Instant]>([:])
    let ttl: Duration
    let maximumKeys: Int
    private let now: @Sendable () -> ContinuousClock.Instant

    init(ttl: Duration, maximumKeys: Int = 100_000, now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }) {
        self.ttl = ttl
        self.maximumKeys = maximumKeys
        self.now = now
    }

    /// Whether `key` was a miss less than `ttl` ago.
    func contains(_ key: Key) -> Bool {
        let now = now()
        return entries.withLock { entries in
            guard let expires = entries[key] else { return false }
            if expires > now { return true }
            entries.removeValue(forKey: key)
            return false
        }
    }

    /// Records a miss of `key`.
    func insert(_ key: Key) {
        let now = now()
        let expires = now + ttl
        let maximum = maximumKeys
        entries.withLock { entries in
            if entries[key] == nil, entries.count >= maximum {
                entries = entries.filter { $0.value > now }
                if entries.count >= maximum { entries.removeAll(keepingCapacity: true) }
            }
            entries[key] = expires
        }
    }

    func removeAll() {
        entries.withLock { $0.removeAll() }
    }
}
