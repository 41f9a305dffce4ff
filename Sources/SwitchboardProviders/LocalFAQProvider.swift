public import SwitchboardCore

/// No model at all (`local`): answers the last user message from the agent's FAQ list, or
/// hands off.
///
/// A match (see ``FAQMatcher``) is answered with the entry's answer and
/// ``FinishReason/stop``; no match, no user message or an empty list give an empty text
/// and ``FinishReason/handoff``. Usage is always ``TokenUsage/zero``; nothing leaves the
/// process.
public struct LocalFAQProvider: ModelProvider {
    public var kind: ProviderKind { .local }
    let matcher: FAQMatcher

    public init(faq: [FAQEntry]) {
        self.matcher = FAQMatcher(faq)
    }

    public func complete(_ request: ModelRequest) async throws -> ModelResponse {
        let started = ContinuousClock.now
        let question = request.messages.last { $0.role == .user }?.text ?? ""
        let answer = matcher.bestEntry(for: question)?.answer
        return ModelResponse(
            text: answer ?? "", usage: .zero, finishReason: answer == nil ? .handoff : .stop, model: request.model,
            latency: .now - started)
    }
}
