public import SwitchboardCore

/// Builds the provider for an endpoint.
///
/// - Parameters:
///   - faq: the agent's FAQ list, used only by `.local`.
///   - transport: shared by every remote provider (one client per process).
///   - timeout: the deadline of each call.
public func makeModelProvider(
    _ endpoint: ProviderEndpoint, faq: [FAQEntry], transport: any ProviderTransport, timeout: Duration = .seconds(60)
) -> any ModelProvider {
    switch endpoint.kind {
    case .openai, .openaiCompatible:
        OpenAIChatProvider(endpoint: endpoint, transport: transport, timeout: timeout)
    case .anthropic:
        AnthropicProvider(endpoint: endpoint, transport: transport, timeout: timeout)
    case .gemini:
        GeminiProvider(endpoint: endpoint, transport: transport, timeout: timeout)
    case .local:
        LocalFAQProvider(faq: faq)
    }
}
