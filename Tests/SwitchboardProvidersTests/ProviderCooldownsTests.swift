import Testing

@testable import SwitchboardProviders

@Suite("Provider cooldowns")
struct ProviderCooldownsTests {
    let start = ContinuousClock.now

    @Test("cools down after the threshold, for the duration, then half-opens")
    func lifecycle() {
        var cooldowns = ProviderCooldowns(policy: CooldownPolicy(failureThreshold: 3, duration: .seconds(30)))
        var tripped: [Bool] = []
        tripped.append(cooldowns.recordFailure("p", now: start))
        tripped.append(cooldowns.recordFailure("p", now: start))
        tripped.append(cooldowns.recordFailure("p", now: start + .seconds(1)))
        #expect(tripped == [false, false, true])

        let during = cooldowns.coolingUntil("p", now: start + .seconds(30))
        let other = cooldowns.coolingUntil("other", now: start)
        let after = cooldowns.coolingUntil("p", now: start + .seconds(31))
        #expect(during == start + .seconds(31))
        #expect(other == nil)
        #expect(after == nil)

        // Half-open: one more failure is enough; a success forgets the past.
        let retripped = cooldowns.recordFailure("p", now: start + .seconds(32))
        #expect(retripped)
        cooldowns.recordSuccess("p")
        let cleared = cooldowns.coolingUntil("p", now: start + .seconds(33))
        let fresh = cooldowns.recordFailure("p", now: start + .seconds(34))
        #expect(cleared == nil)
        #expect(!fresh)
    }
}
