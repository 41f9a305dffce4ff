/// One turn of a conversation sent to a model.
public struct ModelMessage: Sendable, Hashable {
    public var role: ModelRole
    public var text: String

    public init(role: ModelRole, text: String) {
        self.role = role
        self.text = text
    }
}
