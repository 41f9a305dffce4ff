import SwitchboardCore
import Testing

@Suite("Token estimates: reported usage far below what was sent and received is charged at the estimate")
struct TokenEstimateTests {
    func counts(_ input: Int, cached: Int = 0, _ output: Int, reasoning: Int = 0) -> TokenCounts {
        TokenCounts(input: input, cachedInput: cached, output: output, reasoning: reasoning, latencyMilliseconds: 0)
    }

    @Test("four characters a token, rounded up; a whitespace run is one character; Cyrillic counts by character, not byte")
    func tokens() {
        #expect(TokenEstimate.tokens(in: "") == 0)
        #expect(TokenEstimate.tokens(in: "abc") == 1)
        #expect(TokenEstimate.tokens(in: "abcd") == 1)
        #expect(TokenEstimate.tokens(in: "abcde") == 2)
        #expect(TokenEstimate.tokens(in: "ab" + String(repeating: " ", count: 100) + "cd") == 2)
        #expect(TokenEstimate.tokens(in: "Привет, мир") == 3)
        let estimate = TokenEstimate(prompt: [String(repeating: "a", count: 400), String(repeating: "b", count: 200)], answer: String(repeating: "c", count: 80))
        #expect(estimate == TokenEstimate(input: 150, output: 20))
    }

    @Test("a report of zero is raised to the estimate and flagged")
    func zeroReport() {
        let assessment = TokenEstimate(input: 150, output: 20).assess(counts(0, 0))
        #expect(assessment.underReported)
        #expect(assessment.billed == counts(150, 20))
    }

    @Test("a report at half the estimate or above stands as reported, cached and reasoning tokens counted in")
    func honestReports() {
        let estimate = TokenEstimate(input: 150, output: 20)
        for reported in [counts(75, 10), counts(50, cached: 25, 5, reasoning: 5), counts(1_000, 400), counts(150, 20)] {
            let assessment = estimate.assess(reported)
            #expect(!assessment.underReported, "\(reported)")
            #expect(assessment.billed == reported)
        }
    }

    @Test("just under half is under-reported; the cheaper kinds the provider named are kept, the rest made up")
    func justUnder() {
        let estimate = TokenEstimate(input: 150, output: 20)
        let input = estimate.assess(counts(50, cached: 24, 10))
        #expect(input.underReported)
        #expect(input.billed == counts(126, cached: 24, 10), "74 < 75: uncached input makes up 150 − 24")
        let output = estimate.assess(counts(75, 4, reasoning: 5))
        #expect(output.underReported)
        #expect(output.billed == counts(75, 15, reasoning: 5), "9 < 10: output makes up 20 − 5")
        // Negative counts from a broken provider are no discount either.
        #expect(estimate.assess(counts(-5, cached: -5, -1, reasoning: -1)).billed == counts(150, cached: -5, 20, reasoning: -1))
    }

    @Test("the estimate is charged exactly, in integer micro-credits")
    func chargedAtEstimate() {
        let mini = Price(
            providerKind: .openai, model: "gpt-4o-mini", inputPerMillion: 150_000, cachedInputPerMillion: 75_000, outputPerMillion: 600_000,
            reasoningPerMillion: 600_000
        )
        let billed = TokenEstimate(input: 150, output: 20).assess(counts(0, 0)).billed
        // 150 × 0.15 + 20 × 0.6 = 22.5 + 12 = 34.5 → 35.
        #expect(mini.cost(of: billed) == Credits(micros: 35))
    }
}
