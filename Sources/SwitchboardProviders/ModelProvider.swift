public import SwitchboardCore

/// A model behind one wire protocol: ask once, or stream the answer.
///
/// Implementations throw ``ModelProviderError`` only, and do not retry: retries, fallback
/// and cooldown are the ``ModelRouter``'s.
public protocol ModelProvider: Sendable {
    /// The protocol this provider speaks.
    var kind: ProviderKind { get }

    /// Sends the request and returns the complete answer. Throws ``ModelProviderError``
    /// only.
    func complete(_ request: ModelRequest) async throws -> ModelResponse

    /// Streams the answer: `.delta`s, then one `.finished` holding the full response. The
    /// stream throws ``ModelProviderError`` only; ending it without `.finished` is a failure.
    /// Cancelling the iterating task cancels the call.
    func stream(_ request: ModelRequest) -> AsyncThrowingStream<ModelStreamEvent, any Error>
}

extension ModelProvider {
    /// For providers that cannot stream: `complete`, then the text as one `.delta` (none
    /// when the text is empty), each tool call as a `.toolCall`, and `.finished`.
    public func stream(_ request: ModelRequest) -> AsyncThrowingStream<ModelStreamEvent, any Error> {
        .producing { continuation in
            let response = try await complete(request)
            if !response.text.isEmpty { continuation.yield(.delta(response.text)) }
            for call in response.toolCalls { continuation.yield(.toolCall(call)) }
            continuation.yield(.finished(response))
        }
    }
}
