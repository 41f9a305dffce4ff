/// One step of a fallback chain: a provider and the model to ask it for.
public struct RouteTarget: Sendable {
    /// The configured provider's id: cooldowns are kept per id.
    public var providerID: String
    public var provider: any ModelProvider
    /// Replaces ``ModelRequest/model`` for calls to this target.
    public var model: String

    public init(providerID: String, provider: any ModelProvider, model: String) {
        self.providerID = providerID
        self.provider = provider
        self.model = model
    }
}
