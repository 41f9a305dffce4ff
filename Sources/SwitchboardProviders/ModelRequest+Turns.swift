extension ModelRequest {
    /// The messages as strictly alternating turns that start with the user, for protocols
    /// that require it (Anthropic, Gemini): leading assistant messages are dropped and
    /// consecutive messages of one role are joined with a blank line (their tool calls and
    /// results kept in order).
    var alternatingTurns: [ModelMessage] {
        var turns: [ModelMessage] = []
        for message in messages.drop(while: { $0.role != .user }) {
            if let last = turns.last, last.role == message.role {
                if last.hasToolContent || message.hasToolContent {
                    turns[turns.count - 1].text = [last.text, message.text].filter { !$0.isEmpty }.joined(separator: "\n\n")
                    turns[turns.count - 1].toolCalls += message.toolCalls
                    turns[turns.count - 1].toolResults += message.toolResults
                } else {
                    turns[turns.count - 1].text = last.text + "\n\n" + message.text
                }
            } else {
                turns.append(message)
            }
        }
        return turns
    }

    /// The system prompt when it says something, else `nil` (an empty system field is an
    /// error for some providers).
    var usableSystemPrompt: String? {
        guard let systemPrompt, !systemPrompt.isEmpty else { return nil }
        return systemPrompt
    }
}
