import Synchronization

/// One timer for many deadlines.
///
/// A timeout raced with `Task.sleep` costs a timer of the dispatch manager thread per
/// operation — a system call to arm it and a thread wake-up when it fires, even after the
/// race is long won — and the database, the model transport and the lease keeper each
/// raced one per call: several per answered message. The watch keeps the deadlines in one
/// table, checked by a single task every `resolution` while any is pending, so a deadline
/// costs two lock operations and fires at most `resolution` late.
public final class DeadlineWatch: Sendable {
    /// The watch of the process.
    public static let shared = DeadlineWatch()

    /// A pending deadline, to cancel once its operation is over.
    public struct Ticket: Sendable, Hashable {
        fileprivate let id: UInt64
    }

    private struct Entry {
        let deadline: ContinuousClock.Instant
        let fire: @Sendable () -> Void
    }

    private struct State {
        var entries: [UInt64: Entry] = [:]
        var next: UInt64 = 0
        var ticking = false
    }

    private let state = Mutex(State())
    let resolution: Duration

    public init(resolution: Duration = .milliseconds(20)) {
        self.resolution = resolution
    }

    /// Calls `fire` once, soon after `deadline`, unless the ticket is cancelled first.
    /// Deadlines due at one check fire in deadline order, then in the order scheduled.
    public func schedule(at deadline: ContinuousClock.Instant, _ fire: @escaping @Sendable () -> Void) -> Ticket {
        let (id, start) = state.withLock { state -> (UInt64, Bool) in
            state.next += 1
            state.entries[state.next] = Entry(deadline: deadline, fire: fire)
            defer { state.ticking = true }
            return (state.next, !state.ticking)
        }
        if start { Task.detached { await self.tick() } }
        return Ticket(id: id)
    }

    public func cancel(_ ticket: Ticket) {
        _ = state.withLock { $0.entries.removeValue(forKey: ticket.id) }
    }

    /// Deadlines not yet fired or cancelled.
    public var pending: Int { state.withLock { $0.entries.count } }

    private func tick() async {
        while true {
            try? await Task.sleep(for: resolution)
            let now = ContinuousClock.now
            let due = state.withLock { state -> [Entry]? in
                if state.entries.isEmpty {
                    state.ticking = false
                    return nil
                }
                var due: [(id: UInt64, entry: Entry)] = []
                for (id, entry) in state.entries where entry.deadline <= now {
                    due.append((id, entry))
                    state.entries.removeValue(forKey: id)
                }
                // In deadline order, and in the order they were scheduled.
                return due.sorted { ($0.entry.deadline, $0.id) < ($1.entry.deadline, $1.id) }.map(\.entry)
            }
            guard let due else { return }
            for entry in due { entry.fire() }
        }
    }

    /// Sleeps for `duration` on the watch; throws `CancellationError` when the task is
    /// cancelled first.
    public func sleep(for duration: Duration) async throws {
        let waiter = OneShot()
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                waiter.arm(continuation)
                let ticket = schedule(at: .now + duration) { waiter.resume(throwing: nil) }
                waiter.onCancel { self.cancel(ticket) }
                if Task.isCancelled { waiter.resume(throwing: CancellationError()) }
            }
        } onCancel: {
            waiter.resume(throwing: CancellationError())
        }
    }

    /// Runs `operation` in a task of its own and cancels it when `deadline` passes first
    /// (its own `CancellationError` then comes out as `timeout()`), or when the caller is
    /// cancelled. `expires` decides, at the deadline, whether the operation may still be
    /// cut short (a database transaction only while it waits for its connection).
    public func run<Result: Sendable>(
        until deadline: ContinuousClock.Instant, timeout: @escaping @Sendable () -> any Error,
        expires: @escaping @Sendable () -> Bool = { true },
        _ operation: @escaping @Sendable () async throws -> Result
    ) async throws -> Result {
        let task = Task { try await operation() }
        let timedOut = Flag()
        let ticket = schedule(at: deadline) {
            guard expires() else { return }
            timedOut.set()
            task.cancel()
        }
        defer { cancel(ticket) }
        do {
            return try await withTaskCancellationHandler { try await task.value } onCancel: { task.cancel() }
        } catch {
            if timedOut.isSet { throw timeout() }
            throw error
        }
    }

    /// As `run`, but at the deadline the caller is answered at once: the operation is
    /// cancelled and not waited for. For an operation whose wait may not end on
    /// cancellation (a pool's lease while the database is gone) and whose `expires` makes
    /// sure it can no longer do its work when it does end. Callers that need the operation
    /// over when they go on (its connection closed, its counters counted) use `run`.
    public func runAbandoning<Result: Sendable>(
        until deadline: ContinuousClock.Instant, timeout: @escaping @Sendable () -> any Error,
        expires: @escaping @Sendable () -> Bool = { true },
        _ operation: @escaping @Sendable () async throws -> Result
    ) async throws -> Result {
        let task = Task { try await operation() }
        let outcome = FirstOutcome<Result>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Result, any Error>) in
                outcome.arm(continuation)
                let ticket = schedule(at: deadline) {
                    guard expires() else { return }
                    task.cancel()
                    outcome.resume(with: .failure(timeout()))
                }
                Task {
                    let result = await task.result
                    self.cancel(ticket)
                    outcome.resume(with: result)
                }
            }
        } onCancel: {
            task.cancel()
        }
    }
}

private final class Flag: Sendable {
    private let value = Atomic(false)
    func set() { value.store(true, ordering: .releasing) }
    var isSet: Bool { value.load(ordering: .acquiring) }
}

/// A continuation resumed once, with whichever outcome comes first.
private final class FirstOutcome<Value: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<Value, any Error>?
        var early: Result<Value, any Error>?
        var done = false
    }

    private let state = Mutex(State())

    func arm(_ continuation: CheckedContinuation<Value, any Error>) {
        let early = state.withLock { state -> Result<Value, any Error>? in
            if let early = state.early {
                state.done = true
                return early
            }
            state.continuation = continuation
            return nil
        }
        if let early { continuation.resume(with: early) }
    }

    func resume(with result: Result<Value, any Error>) {
        let continuation = state.withLock { state -> CheckedContinuation<Value, any Error>? in
            guard !state.done else { return nil }
            guard let continuation = state.continuation else {
                if state.early == nil { state.early = result }
                return nil
            }
            state.done = true
            state.continuation = nil
            return continuation
        }
        continuation?.resume(with: result)
    }
}

/// A continuation resumed once, whoever comes first: the deadline or the cancellation.
private final class OneShot: Sendable {
    private struct State {
        var continuation: CheckedContinuation<Void, any Error>?
        var early: (any Error)??
        var cleanup: (@Sendable () -> Void)?
        var done = false
    }

    private let state = Mutex(State())

    func arm(_ continuation: CheckedContinuation<Void, any Error>) {
        let early = state.withLock { state -> (any Error)?? in
            if let early = state.early { return early }
            state.continuation = continuation
            return nil
        }
        if let early {
            if let error = early { continuation.resume(throwing: error) } else { continuation.resume() }
        }
    }

    func onCancel(_ cleanup: @escaping @Sendable () -> Void) {
        let runNow = state.withLock { state -> Bool in
            if state.done { return true }
            state.cleanup = cleanup
            return false
        }
        if runNow { cleanup() }
    }

    /// Resumes with `error`, or normally when it is nil; later calls do nothing.
    func resume(throwing error: (any Error)?) {
        let (continuation, cleanup) = state.withLock { state -> (CheckedContinuation<Void, any Error>?, (@Sendable () -> Void)?) in
            guard !state.done else { return (nil, nil) }
            state.done = true
            if state.continuation == nil { state.early = .some(error) }
            defer { state.continuation = nil; state.cleanup = nil }
            return (state.continuation, state.cleanup)
        }
        cleanup?()
        guard let continuation else { return }
        if let error { continuation.resume(throwing: error) } else { continuation.resume() }
    }
}
