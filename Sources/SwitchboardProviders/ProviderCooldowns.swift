/// Consecutive failures and cooldowns per provider id: the router's circuit breaker, as a
/// value (the router keeps it in a `Mutex`).
///
/// After `failureThreshold` consecutive failed calls a provider cools down for `duration`.
/// When the cooldown is over it is half-open: one more failure starts a new cooldown, one
/// success forgets the past.
struct ProviderCooldowns {
    struct Record {
        var consecutiveFailures = 0
        var coolingUntil: ContinuousClock.Instant?
    }

    let policy: CooldownPolicy
    private(set) var records: [String: Record] = [:]

    init(policy: CooldownPolicy) {
        self.policy = policy
    }

    /// When the provider's cooldown ends, or `nil` when it may be called now.
    mutating func coolingUntil(_ providerID: String, now: ContinuousClock.Instant) -> ContinuousClock.Instant? {
        guard let until = records[providerID]?.coolingUntil else { return nil }
        if now < until { return until }
        records[providerID]?.coolingUntil = nil
        records[providerID]?.consecutiveFailures = max(0, policy.failureThreshold - 1)
        return nil
    }

    mutating func recordSuccess(_ providerID: String) {
        records[providerID] = nil
    }

    /// Counts a failed call; returns whether the provider is now cooling down.
    mutating func recordFailure(_ providerID: String, now: ContinuousClock.Instant) -> Bool {
        var record = records[providerID] ?? Record()
        record.consecutiveFailures += 1
        if record.consecutiveFailures >= max(1, policy.failureThreshold) {
            record.coolingUntil = now + policy.duration
        }
        records[providerID] = record
        return record.coolingUntil != nil
    }
}
