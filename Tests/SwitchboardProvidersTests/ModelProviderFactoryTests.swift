import SwitchboardCore
import SwitchboardProviders
import SwitchboardProvidersTesting
import Testing

@Suite("makeModelProvider")
struct ModelProviderFactoryTests {
    @Test("builds a provider of each kind that speaks the kind's protocol", arguments: ProviderKind.allCases)
    func everyKind(kind: ProviderKind) async throws {
        try await withFakeServer { server, transport in
            let base: String? =
                switch kind {
                case .openai, .openaiCompatible: server.openAIBase
                case .anthropic: server.anthropicBase
                case .gemini: server.geminiBase
                case .local: nil
                }
            let provider = makeModelProvider(
                ProviderEndpoint(kind: kind, baseURL: base, apiKey: "k"),
                faq: [FAQEntry(question: "Hello there", answer: "FAQ hello")],
                transport: transport)
            #expect(provider.kind == kind)
            let response = try await provider.complete(request((.user, "Hello there")))
            #expect(response.text == (kind == .local ? "FAQ hello" : "reply to: Hello there"))
            let expectedAPI: RecordedRequest.API? =
                switch kind {
                case .openai, .openaiCompatible: .openAI
                case .anthropic: .anthropic
                case .gemini: .gemini
                case .local: nil
                }
            #expect(await server.requests.map(\.api) == (expectedAPI.map { [$0] } ?? []))
        }
    }

    @Test("falls back to the kind's public base URL")
    func defaultBase() {
        #expect(ProviderEndpoint(kind: .openai).resolvedBaseURL == "https://api.openai.com/v1")
        #expect(ProviderEndpoint(kind: .anthropic, baseURL: "https://proxy.example/").resolvedBaseURL == "https://proxy.example")
        #expect(ProviderEndpoint(kind: .openaiCompatible).resolvedBaseURL == nil)
    }
}
