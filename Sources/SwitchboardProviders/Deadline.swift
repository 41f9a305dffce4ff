/// Runs `operation`, or throws `.timeout` when `deadline` passes first (and cancels it).
func withDeadline<T: Sendable>(
    _ deadline: ContinuousClock.Instant, timeoutMessage: @autoclosure () -> String,
    _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    let message = timeoutMessage()
    return try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(until: deadline, clock: .continuous)
            throw ModelProviderError(.timeout, message)
        }
        defer { group.cancelAll() }
        guard let first = try await group.next() else { throw CancellationError() }
        return first
    }
}
