import Synchronization
import SwitchboardCore
import Testing

/// Deadlines that are already due fire on the watch's next check, so these tests await
/// events, never a clock; the far deadlines (an hour) never fire while a test runs.
@Suite("Deadline watch: one timer for many deadlines", .timeLimit(.minutes(1)))
struct DeadlineWatchTests {
    struct TimedOut: Error {}

    /// Waits until `watch` has fired a deadline scheduled now: every deadline due before
    /// it has fired by then too.
    func settle(_ watch: DeadlineWatch) async {
        await withCheckedContinuation { continuation in
            _ = watch.schedule(at: .now) { continuation.resume() }
        }
    }

    @Test("a due deadline fires once; a cancelled one never does, and nothing stays pending")
    func firesAndCancels() async {
        let watch = DeadlineWatch(resolution: .milliseconds(1))
        let fired = Mutex<[String]>([])
        let cancelled = watch.schedule(at: .now) { fired.withLock { $0.append("cancelled") } }
        _ = watch.schedule(at: .now) { fired.withLock { $0.append("due") } }
        let far = watch.schedule(at: .now + .seconds(3600)) { fired.withLock { $0.append("far") } }
        watch.cancel(cancelled)
        await settle(watch)
        #expect(fired.withLock { $0 } == ["due"])
        #expect(watch.pending == 1)
        watch.cancel(far)
        #expect(watch.pending == 0)
    }

    @Test("run answers the operation's result, and cancels it with the timeout error when the deadline passes first")
    func runTimesOut() async throws {
        let watch = DeadlineWatch(resolution: .milliseconds(1))
        #expect(try await watch.run(until: .now + .seconds(3600), timeout: { TimedOut() }) { 42 } == 42)
        #expect(watch.pending == 0, "the deadline of a finished operation is cancelled")
        await #expect(throws: TimedOut.self) {
            try await watch.run(until: .now, timeout: { TimedOut() }) {
                try await watch.sleep(for: .seconds(3600))
            }
        }
        #expect(watch.pending == 0)
    }

    @Test("an operation deaf to cancellation (a pool's lease while the database is gone) is answered at the deadline all the same")
    func deafOperation() async throws {
        let watch = DeadlineWatch(resolution: .milliseconds(1))
        let parked = Mutex<CheckedContinuation<Void, Never>?>(nil)
        let ended = Mutex(false)
        await #expect(throws: TimedOut.self) {
            try await watch.runAbandoning(until: .now, timeout: { TimedOut() }) {
                // Ends only when resumed below, cancelled or not.
                await withCheckedContinuation { continuation in parked.withLock { $0 = continuation } }
                ended.withLock { $0 = true }
            }
        }
        #expect(!ended.withLock { $0 }, "answered before the operation ended")
        // Let it end (it may not have parked yet: wait until it has).
        while parked.withLock({ $0 == nil }) { await Task.yield() }
        parked.withLock { $0?.resume() }
    }

    @Test("an operation that `expires` refuses to cut short runs to its end past the deadline")
    func runPastDeadline() async throws {
        let watch = DeadlineWatch(resolution: .milliseconds(1))
        let asked = Mutex(0)
        let (opened, gate) = AsyncStream.makeStream(of: Void.self)
        let result = Task {
            try await watch.run(until: .now, timeout: { TimedOut() }, expires: {
                asked.withLock { $0 += 1 }
                return false
            }) {
                for await _ in opened { break }
                return "finished"
            }
        }
        await settle(watch)
        #expect(asked.withLock { $0 } == 1)
        gate.yield()
        #expect(try await result.value == "finished")
    }

    @Test("a sleep ends when its task is cancelled, and leaves no deadline behind")
    func sleepCancelled() async {
        let watch = DeadlineWatch(resolution: .milliseconds(1))
        let sleeper = Task { try await watch.sleep(for: .seconds(3600)) }
        sleeper.cancel()
        await #expect(throws: CancellationError.self) { try await sleeper.value }
        #expect(watch.pending == 0)
        // A due sleep returns.
        await #expect(throws: Never.self) { try await watch.sleep(for: .zero) }
    }
}
