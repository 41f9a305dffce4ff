/// One call the router made, or a target it skipped: the record for logs and billing.
public struct ModelAttempt: Sendable, Hashable {
    public var providerID: String
    public var model: String
    /// `nil` for the successful call; `.cooldown` for a skipped target (no call made).
    public var error: ModelProviderError?
    /// What the call used, when it answered (a failed stream may have used tokens nobody
    /// reported: then `nil`).
    public var usage: TokenUsage?
    /// Time the call took by the router's clock (zero for a skipped target).
    public var latency: Duration

    public init(providerID: String, model: String, error: ModelProviderError?, usage: TokenUsage?, latency: Duration) {
        self.providerID = providerID
        self.model = model
        self.error = error
        self.usage = usage
        self.latency = latency
    }
}
