import SwitchboardCore

/// Runs `operation`, or throws `.timeout` when `deadline` passes first (and cancels it).
func withDeadline<T: Sendable>(
    _ deadline: ContinuousClock.Instant, timeoutMessage: @autoclosure () -> String,
    _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    let message = timeoutMessage()
    return try await DeadlineWatch.shared.run(until: deadline, timeout: { ModelProviderError(.timeout, message) }, operation)
}
