/// When the router stops calling a failing provider, and for how long.
public struct CooldownPolicy: Sendable, Hashable {
    /// Consecutive failed calls (bad requests aside) that start a cooldown.
    public var failureThreshold: Int
    /// How long the provider is skipped.
    public var duration: Duration

    public init(failureThreshold: Int = 3, duration: Duration = .seconds(30)) {
        self.failureThreshold = failureThreshold
        self.duration = duration
    }
}
