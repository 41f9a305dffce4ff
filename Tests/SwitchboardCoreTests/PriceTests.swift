import SwitchboardCore
import Testing

@Suite("Prices: exact costs, rounded up once per call; the tenant's price before the platform's")
struct PriceTests {
    let mini = Price(
        providerKind: .openai, model: "gpt-4o-mini", inputPerMillion: 150_000, cachedInputPerMillion: 75_000, outputPerMillion: 600_000,
        reasoningPerMillion: 600_000
    )

    @Test("every token kind at its own price, summed exactly, then rounded up to the micro-credit")
    func cost() {
        // 1,000 input × 0.15 + 500 cached × 0.075 + 200 output × 0.6 + 100 reasoning × 0.6
        // = 150 + 37.5 + 120 + 60 = 367.5 micros → 368.
        let usage = TokenCounts(input: 1_000, cachedInput: 500, output: 200, reasoning: 100, latencyMilliseconds: 0)
        #expect(mini.cost(of: usage) == Credits(micros: 368))
        // Rounded once per call, not per kind: three half-micros make 1.5 → 2, not 3.
        let halves = Price(
            providerKind: .openai, model: "m", inputPerMillion: 500_000, cachedInputPerMillion: 500_000, outputPerMillion: 500_000,
            reasoningPerMillion: 0
        )
        #expect(halves.cost(of: TokenCounts(input: 1, cachedInput: 1, output: 1, reasoning: 0, latencyMilliseconds: 0)) == Credits(micros: 2))
        #expect(mini.cost(of: TokenCounts(input: 0, cachedInput: 0, output: 0, reasoning: 0, latencyMilliseconds: 0)) == .zero)
    }

    @Test("the message fee is added to the tokens' cost")
    func fee() {
        var price = mini
        price.messageFee = Credits(micros: 1_000)
        let usage = TokenCounts(input: 10, cachedInput: 0, output: 0, reasoning: 0, latencyMilliseconds: 0)
        #expect(price.cost(of: usage) == Credits(micros: 1_002))
        #expect(price.cost(of: usage, withMessageFee: false) == Credits(micros: 2))
    }

    @Test("the worst case prices every prompt token at the dearer input price and every output token at the dearer output price")
    func worstCase() {
        let reasoner = Price(
            providerKind: .openai, model: "o", inputPerMillion: 1_000_000, cachedInputPerMillion: 2_000_000, outputPerMillion: 4_000_000,
            reasoningPerMillion: 8_000_000, messageFee: Credits(micros: 5)
        )
        #expect(reasoner.worstCase(inputTokens: 1_000, maxOutputTokens: 100) == Credits(micros: 2_000 + 800 + 5))
        // Never less than any real call within those limits.
        let real = TokenCounts(input: 400, cachedInput: 600, output: 50, reasoning: 50, latencyMilliseconds: 0)
        #expect(reasoner.cost(of: real) <= reasoner.worstCase(inputTokens: 1_000, maxOutputTokens: 100))
    }

    @Test("huge counts at the highest price saturate instead of overflowing")
    func overflow() {
        let dear = Price(
            providerKind: .openai, model: "m", inputPerMillion: Price.maximumMicros, cachedInputPerMillion: Price.maximumMicros,
            outputPerMillion: Price.maximumMicros, reasoningPerMillion: Price.maximumMicros, messageFee: Credits(micros: Price.maximumMicros)
        )
        #expect(dear.worstCase(inputTokens: Int.max, maxOutputTokens: Int.max) == Credits(micros: Int64.max))
        let usage = TokenCounts(input: 10_000_000, cachedInput: 0, output: 0, reasoning: 0, latencyMilliseconds: 0)
        #expect(dear.cost(of: usage) == Credits(micros: 10_000_000_000_000 + Price.maximumMicros))
    }

    @Test("a tenant's exact model, then its kind-wide price, then the platform's exact model, then the platform's kind-wide price")
    func lookup() {
        func price(_ model: String, _ input: Int64, override: Bool, kind: ProviderKind = .openai) -> Price {
            Price(
                providerKind: kind, model: model, inputPerMillion: input, cachedInputPerMillion: 0, outputPerMillion: 0, reasoningPerMillion: 0,
                isOverride: override
            )
        }
        let platform = [price("*", 1, override: false), price("gpt-4o-mini", 2, override: false), price("*", 9, override: false, kind: .local)]
        #expect(PriceBook(platform).price(kind: .openai, model: "gpt-4o-mini")?.inputPerMillion == 2)
        #expect(PriceBook(platform).price(kind: .openai, model: "gpt-5")?.inputPerMillion == 1)
        #expect(PriceBook(platform).price(kind: .anthropic, model: "claude") == nil)
        let withAny = PriceBook(platform + [price("*", 3, override: true)])
        #expect(withAny.price(kind: .openai, model: "gpt-4o-mini")?.inputPerMillion == 3)
        let withExact = PriceBook(platform + [price("*", 3, override: true), price("gpt-4o-mini", 4, override: true)])
        #expect(withExact.price(kind: .openai, model: "gpt-4o-mini")?.inputPerMillion == 4)
        #expect(withExact.price(kind: .local, model: "faq")?.inputPerMillion == 9)
    }
}
