/// Who said a message in a conversation sent to a model.
public enum ModelRole: String, Sendable, Hashable, Codable {
    /// The person talking to the agent.
    case user
    /// The agent (an earlier model answer).
    case assistant
}
