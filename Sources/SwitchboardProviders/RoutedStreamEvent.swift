/// One event of a routed stream: answer text as it comes, then the routed response.
public enum RoutedStreamEvent: Sendable, Hashable {
    /// The next piece of the answer, from the target that is answering.
    case delta(String)
    /// A complete tool call, from the target that is answering.
    case toolCall(ModelToolCall)
    /// The stream completed: the full response, who gave it, and every attempt.
    case finished(RoutedResponse)
}
