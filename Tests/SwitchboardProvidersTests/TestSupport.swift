import SwitchboardProviders

/// A request with the given turns.
func request(
    model: String = "test-model", system: String? = nil, _ turns: (ModelRole, String)..., maxOutputTokens: Int? = nil,
    temperature: Double? = nil
) -> ModelRequest {
    ModelRequest(
        model: model, systemPrompt: system, messages: turns.map { ModelMessage(role: $0.0, text: $0.1) },
        maxOutputTokens: maxOutputTokens, temperature: temperature)
}

/// The provider error `body` throws, or `nil` when it throws none (or another type).
func providerError(_ body: () async throws -> some Any) async -> ModelProviderError? {
    do {
        _ = try await body()
        return nil
    } catch {
        return error as? ModelProviderError
    }
}

/// The routing failure `body` throws, or `nil`.
func routingFailure(_ body: () async throws -> some Any) async -> RoutingFailure? {
    do {
        _ = try await body()
        return nil
    } catch {
        return error as? RoutingFailure
    }
}

/// Every event of a provider stream until it ends, and the error that ended it.
func drain<Event>(_ stream: AsyncThrowingStream<Event, any Error>) async -> (events: [Event], error: (any Error)?) {
    var events: [Event] = []
    do {
        for try await event in stream { events.append(event) }
        return (events, nil)
    } catch {
        return (events, error)
    }
}
