/// How often and how patiently the router retries one target.
public struct RetryPolicy: Sendable, Hashable {
    /// Calls per target, the first included.
    public var maxAttempts: Int
    /// Backoff before retry `n` (from 0) is `min(maxDelay, jitter(baseDelay · 2ⁿ))`.
    public var baseDelay: Duration
    public var maxDelay: Duration
    /// The longest provider `Retry-After` hint worth waiting for; a longer one sends the
    /// call to the next target instead.
    public var maxRetryAfter: Duration

    public init(
        maxAttempts: Int = 3, baseDelay: Duration = .milliseconds(250), maxDelay: Duration = .seconds(8),
        maxRetryAfter: Duration = .seconds(30)
    ) {
        self.maxAttempts = maxAttempts
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.maxRetryAfter = maxRetryAfter
    }
}
