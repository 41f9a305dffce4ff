import SwitchboardCore
import SwitchboardProviders
import Synchronization

/// A provider that plays back scripted outcomes and counts its calls.
final class ScriptedProvider: ModelProvider {
    let kind: ProviderKind = .openai
    private let state: Mutex<(script: [Result<String, ModelProviderError>], calls: [ModelRequest])>

    init(_ script: [Result<String, ModelProviderError>]) {
        self.state = Mutex((script, []))
    }

    var calls: [ModelRequest] { state.withLock { $0.calls } }

    func complete(_ request: ModelRequest) async throws -> ModelResponse {
        let outcome = state.withLock { state -> Result<String, ModelProviderError> in
            state.calls.append(request)
            return state.script.isEmpty ? .success("scripted") : state.script.removeFirst()
        }
        let text = try outcome.get()
        return ModelResponse(
            text: text, usage: TokenUsage(input: 1, cachedInput: 0, output: 1, reasoning: 0), finishReason: .stop,
            model: request.model, latency: .zero)
    }
}

extension ModelProviderError {
    static let server500 = ModelProviderError(.server, "boom", status: 500)
    static let refusedKey = ModelProviderError(.unauthorized, "refused", status: 401)
}
