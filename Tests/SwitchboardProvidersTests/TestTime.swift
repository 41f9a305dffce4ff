import SwitchboardProviders
import Synchronization

/// A clock the test moves by hand, and a sleep that records what it was asked to wait and
/// moves the clock by that much instead of waiting.
final class TestTime: Sendable {
    let start = ContinuousClock.now
    private let state = Mutex<(offset: Duration, sleeps: [Duration])>((.zero, []))

    var now: @Sendable () -> ContinuousClock.Instant {
        { [self] in start + state.withLock { $0.offset } }
    }

    var sleep: @Sendable (Duration) async throws -> Void {
        { [self] duration in
            state.withLock {
                $0.sleeps.append(duration)
                $0.offset += duration
            }
        }
    }

    var sleeps: [Duration] { state.withLock { $0.sleeps } }

    func advance(by duration: Duration) {
        state.withLock { $0.offset += duration }
    }

    /// A router on this clock, with no jitter.
    func router(retry: RetryPolicy = RetryPolicy(), cooldown: CooldownPolicy = CooldownPolicy()) -> ModelRouter {
        ModelRouter(retry: retry, cooldown: cooldown, now: now, sleep: sleep, jitter: { $0 })
    }
}
