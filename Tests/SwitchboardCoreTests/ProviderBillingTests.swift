import SwitchboardCore
import Testing

@Suite("Provider billing: calls are priced as whoever serves them, whatever kind was declared")
struct ProviderBillingTests {
    @Test("a base URL on a known vendor's host is billed as that vendor", arguments: [
        ("https://api.openai.com/v1", ProviderKind.openai),
        ("https://API.OpenAI.com./v1", .openai),
        ("https://api.openai.com:443/v1/", .openai),
        ("https://my-resource.openai.azure.com/openai/deployments/x", .openai),
        ("https://api.anthropic.com/v1/", .anthropic),
        ("https://generativelanguage.googleapis.com/v1beta/openai", .gemini),
        ("https://us-central1-aiplatform.googleapis.com/v1/projects/p", .gemini),
    ] as [(String, ProviderKind)])
    func knownVendor(baseURL: String, kind: ProviderKind) {
        #expect(ProviderBilling.billedKind(declared: .openaiCompatible, baseURL: baseURL) == kind)
        #expect(ProviderBilling.isKnownVendor(baseURL))
    }

    @Test("look-alike hosts, paths, user info and unknown servers keep the declared kind", arguments: [
        "https://api.openai.com.evil.example/v1", "https://evil.example/api.openai.com/v1", "https://api.openai.com@evil.example/v1",
        "https://notapi.openai.com.example/v1", "http://127.0.0.1:11434/v1", "https://llm.shop.kz/v1", "not a url", "",
    ])
    func unknownHost(baseURL: String) {
        #expect(ProviderBilling.billedKind(declared: .openaiCompatible, baseURL: baseURL) == .openaiCompatible)
        #expect(ProviderBilling.billedKind(declared: .openai, baseURL: baseURL) == .openai)
    }

    @Test("hosted vendors without a price book of their own keep the declared kind's price; local stays local")
    func hostedWithoutBook() {
        for host in ["https://openrouter.ai/api/v1", "https://api.groq.com/openai/v1", "https://api.deepseek.com", "https://api.mistral.ai/v1"] {
            #expect(ProviderBilling.isKnownVendor(host))
            #expect(ProviderBilling.billedKind(declared: .openaiCompatible, baseURL: host) == .openaiCompatible)
            #expect(ProviderBilling.billedKind(declared: .openai, baseURL: host) == .openai)
        }
        #expect(ProviderBilling.billedKind(declared: .local, baseURL: "https://api.openai.com/v1") == .local)
        #expect(ProviderBilling.billedKind(declared: .openai, baseURL: nil) == .openai)
    }

    @Test("a compatible provider at OpenAI's host pays OpenAI's price even where the operator made compatible servers free")
    func pricedAsVendor() throws {
        let book = PriceBook([
            Price(providerKind: .openaiCompatible, model: Price.anyModel, inputPerMillion: 0, cachedInputPerMillion: 0, outputPerMillion: 0,
                  reasoningPerMillion: 0),
            Price(providerKind: .openai, model: "gpt-4o-mini", inputPerMillion: 150_000, cachedInputPerMillion: 75_000,
                  outputPerMillion: 600_000, reasoningPerMillion: 600_000),
        ])
        let usage = TokenCounts(input: 1_000, cachedInput: 0, output: 1_000, reasoning: 0, latencyMilliseconds: 0)
        let own = try #require(book.price(kind: ProviderBilling.billedKind(declared: .openaiCompatible, baseURL: "http://10.0.0.5/v1"), model: "gpt-4o-mini"))
        #expect(own.cost(of: usage) == .zero)
        let vendor = ProviderBilling.billedKind(declared: .openaiCompatible, baseURL: "https://api.openai.com/v1")
        let price = try #require(book.price(kind: vendor, model: "gpt-4o-mini"))
        // 1,000 × 0.15 + 1,000 × 0.6 = 750 micro-credits.
        #expect(price.cost(of: usage) == Credits(micros: 750))
    }
}
