/// Every target of a chain failed (or was skipped).
public struct RoutingFailure: Error, Sendable, CustomStringConvertible {
    /// Every attempt in order.
    public var attempts: [ModelAttempt]
    /// The last attempt's error.
    public var lastError: ModelProviderError
    /// Whether the same call may succeed later: false when every attempt failed for good
    /// (all unauthorized, bad request, …), so a job should not be retried.
    public var isRetryable: Bool

    public init(attempts: [ModelAttempt], lastError: ModelProviderError, isRetryable: Bool) {
        self.attempts = attempts
        self.lastError = lastError
        self.isRetryable = isRetryable
    }

    /// The failure the attempts add up to; with none (an empty chain), a bad request.
    public init(attempts: [ModelAttempt]) {
        let errors = attempts.compactMap(\.error)
        self.init(
            attempts: attempts,
            lastError: errors.last ?? ModelProviderError(.badRequest, "the route has no targets"),
            isRetryable: errors.contains { $0.isRetryable })
    }

    public var description: String {
        "all \(attempts.count) attempts failed, last: \(lastError)"
    }
}
