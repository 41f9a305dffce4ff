/// A routed call's answer, with who gave it and everything tried on the way.
public struct RoutedResponse: Sendable, Hashable {
    public var response: ModelResponse
    /// The target that answered.
    public var providerID: String
    public var model: String
    /// Every attempt in order, skipped targets and the winning call included.
    public var attempts: [ModelAttempt]

    public init(response: ModelResponse, providerID: String, model: String, attempts: [ModelAttempt]) {
        self.response = response
        self.providerID = providerID
        self.model = model
        self.attempts = attempts
    }
}
