import SwitchboardCore
import Synchronization

/// Requests allowed per key at a steady rate with a burst, by GCRA (the generic cell rate
/// algorithm): a token bucket kept as one instant per key, the "theoretical arrival time".
///
/// Each process holds its own buckets in memory. With N replicas behind a balancer a client
/// gets up to N times the rate; that is acceptable for what these limits are for — keeping
/// one client from taking a process's CPU or database connections, and making guessing
/// (keys, channel ids, the operator token) slow — and needs no shared store on the request
/// path. A limit that must hold across replicas (billing) belongs in the database.
///
/// O(1) per request: the key's shard (one of 16, by hash) is locked for one dictionary
/// read and write. Memory is bounded: a shard over its share of `maximumKeys` first drops
/// the keys whose buckets are full again (the same as never seen), and when that is not
/// enough starts empty — a flood of distinct keys resets buckets, it never grows memory.
final class RateLimiter<Key: Hashable & Sendable>: Sendable {
    let rule: RateLimitRule
    private let interval: Double
    private let tolerance: Double
    private let now: @Sendable () -> ContinuousClock.Instant
    private let origin: ContinuousClock.Instant
    private let shards: [Shard]
    private let maximumPerShard: Int

    /// - Parameters:
    ///   - now: the monotonic clock (tests inject one they move by hand).
    ///   - maximumKeys: about how many keys are remembered at most.
    init(_ rule: RateLimitRule, maximumKeys: Int = 100_000, now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }) {
        self.rule = rule
        self.interval = 1 / max(rule.rate, 1e-9)
        self.tolerance = interval * Double(rule.burst - 1)
        self.now = now
        self.origin = now()
        self.shards = (0..<16).map { _ in Shard() }
        self.maximumPerShard = max(maximumKeys / 16, 16)
    }

    private func seconds() -> Double {
        let elapsed = now() - origin
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    }

    /// One lock's share of the keys: each key's arrival time, in seconds since `origin`.
    private final class Shard: Sendable {
        let buckets = Mutex<[Key: Double]>([:])
    }

    private func shard(_ key: Key) -> Shard {
        shards[Int(UInt(bitPattern: key.hashValue) % 16)]
    }

    /// Takes one request's place for `key`, or says how long to wait.
    func acquire(_ key: Key) -> RateLimitDecision {
        if rule.isUnlimited { return .allowed }
        let t = seconds()
        let interval = interval, tolerance = tolerance, maximum = maximumPerShard
        return shard(key).buckets.withLock { buckets in
            let arrival = max(buckets[key] ?? t, t)
            if arrival - t > tolerance { return .limited(retryAfter: arrival - t - tolerance) }
            if buckets[key] == nil, buckets.count >= maximum {
                buckets = buckets.filter { $0.value > t }
                if buckets.count >= maximum { buckets.removeAll(keepingCapacity: true) }
            }
            buckets[key] = arrival + interval
            return .allowed
        }
    }

    /// Whether the next `acquire(key)` would be refused, without taking a place: a route
    /// checks this before work it only counts when it fails.
    func limited(_ key: Key) -> RateLimitDecision {
        if rule.isUnlimited { return .allowed }
        let t = seconds()
        let tolerance = tolerance
        return shard(key).buckets.withLock { buckets in
            guard let arrival = buckets[key], arrival - t > tolerance else { return .allowed }
            return .limited(retryAfter: arrival - t - tolerance)
        }
    }
}

extension RateLimitDecision {
    /// The refusal as the error a route throws: 429 with `Retry-After` in whole seconds.
    func check(_ what: String) throws {
        guard case .limited(let retryAfter) = self else { return }
        throw SwitchboardError.rateLimited(what, retryAfter: retryAfter)
    }
}

/// A steady rate and the burst allowed above it.
struct RateLimitRule: Sendable, Hashable {
    /// Requests per second, on average.
    var rate: Double
    /// How many may come at once after a quiet spell.
    var burst: Int

    init(rate: Double, burst: Int) {
        self.rate = rate
        self.burst = max(burst, 1)
    }

    /// `count` per minute, all of them at once if need be; 0: no limit.
    static func perMinute(_ count: Int) -> RateLimitRule { count > 0 ? RateLimitRule(rate: Double(count) / 60, burst: count) : .unlimited }

    /// `count` per hour, all of them at once if need be; 0: no limit.
    static func perHour(_ count: Int) -> RateLimitRule { count > 0 ? RateLimitRule(rate: Double(count) / 3600, burst: count) : .unlimited }

    /// `count` per second with a burst of `burst` of them; 0: no limit.
    static func perSecond(_ count: Int, burst: Int) -> RateLimitRule { count > 0 ? RateLimitRule(rate: Double(count), burst: burst) : .unlimited }

    /// Every request allowed, nothing remembered.
    static let unlimited = RateLimitRule(rate: .infinity, burst: 1)

    var isUnlimited: Bool { !rate.isFinite }
}

/// What a request may do.
enum RateLimitDecision: Sendable, Equatable {
    case allowed
    /// Refused; the next request of this key is allowed after `retryAfter` seconds.
    case limited(retryAfter: Double)
}
