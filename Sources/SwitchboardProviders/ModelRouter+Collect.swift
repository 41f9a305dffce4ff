extension ModelRouter {
    /// The complete answer of a provider stream, or an error: never half an answer.
    ///
    /// A stream that ends without `.finished`, or throws after a delta, is
    /// `.streamInterrupted`; one that throws before any text keeps its error.
    public static func collect(
        _ stream: AsyncThrowingStream<ModelStreamEvent, any Error>
    ) async throws(ModelProviderError) -> ModelResponse {
        var sentText = false
        do {
            for try await event in stream {
                switch event {
                case .delta, .toolCall: sentText = true
                case .finished(let response): return response
                }
            }
        } catch {
            let failure = providerError(error)
            guard sentText, failure.kind != .streamInterrupted else { throw failure }
            throw ModelProviderError(.streamInterrupted, "the stream failed after the answer started: \(failure)")
        }
        throw ModelProviderError(.streamInterrupted, "the stream ended without finishing")
    }

    /// The routed answer of a routed stream, or the ``RoutingFailure``: never half an answer.
    public static func collect(
        _ stream: AsyncThrowingStream<RoutedStreamEvent, any Error>
    ) async throws(RoutingFailure) -> RoutedResponse {
        do {
            for try await event in stream {
                if case .finished(let routed) = event { return routed }
            }
        } catch let failure as RoutingFailure {
            throw failure
        } catch {
            throw RoutingFailure(attempts: [], lastError: providerError(error), isRetryable: providerError(error).isRetryable)
        }
        let interrupted = ModelProviderError(.streamInterrupted, "the stream ended without finishing")
        throw RoutingFailure(attempts: [], lastError: interrupted, isRetryable: true)
    }
}
