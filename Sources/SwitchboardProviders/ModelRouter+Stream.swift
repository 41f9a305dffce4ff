extension ModelRouter {
    /// Streams the chain's answer with the same retries, fallback and cooldowns as
    /// ``complete(_:chain:)``, as long as no text was sent: once a target has yielded a
    /// delta, its failure is final (a second target would start a second answer), and the
    /// stream throws a ``RoutingFailure`` whose last error is `.streamInterrupted`.
    ///
    /// Every failure is thrown as a ``RoutingFailure``.
    public func stream(_ request: ModelRequest, chain: [RouteTarget]) -> AsyncThrowingStream<RoutedStreamEvent, any Error> {
        .producing { continuation in
            let routed = try await self.route(request, chain: chain) { target, request throws(CallFailure) in
                var sentText = false
                do {
                    for try await event in target.provider.stream(request) {
                        switch event {
                        case .delta(let text):
                            sentText = true
                            continuation.yield(.delta(text))
                        case .toolCall(let call):
                            // A call sent on is part of the answer: another target would repeat it.
                            sentText = true
                            continuation.yield(.toolCall(call))
                        case .finished(let response):
                            return response
                        }
                    }
                    throw ModelProviderError(.streamInterrupted, "\(target.providerID)'s stream ended without finishing")
                } catch {
                    var failure = Self.providerError(error)
                    if sentText, failure.kind != .streamInterrupted {
                        failure = ModelProviderError(
                            .streamInterrupted, "\(target.providerID) failed after the answer started: \(failure)",
                            status: failure.status)
                    }
                    throw CallFailure(error: failure, isFinal: sentText)
                }
            }
            continuation.yield(.finished(routed))
        }
    }
}
