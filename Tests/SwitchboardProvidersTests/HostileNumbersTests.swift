import Foundation
import Testing

@testable import SwitchboardProviders

@Suite("Providers: hostile retry hints and token counts are bounded, never trapped")
struct HostileNumbersTests {
    let now = Date(timeIntervalSince1970: 1_750_000_000)

    /// What a hostile provider may send where a number or a date belongs.
    static let corpus: [String] = [
        "", " ", "\t", "0", "-0", "+0", "-1", "1", "1.5", "  7  ", "1e19", "1E19", "-1e19", "1e308", "1e309", "-1e309", "NaN", "nan",
        "-nan", "inf", "-inf", "infinity", "0x1p62", "0x1p1023", "9223372036854775807", "9223372036854775808", "-9223372036854775808",
        "99999999999999999999999999999999", String(repeating: "9", count: 400), "١٢٣", "１２３", "१२३", "12\u{0}", "1_000", "1,000",
        "3.6e3", ".5", "5.", "1e-400", "10000000000000", "Sun, 06 Nov 1994 08:49:37 GMT", "Fri, 31 Dec 9999 23:59:59 GMT",
        "Mon, 01 Jan 0001 00:00:00 GMT", "Sat, 01 Jan 100000 00:00:00 GMT", "Wed, 31 Dec 292277026596 23:59:59 GMT",
        "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994", "🙂",
    ]

    @Test("retry-after-ms and Retry-After of any text are no hint or a wait of 0 to an hour", arguments: corpus)
    func retryHints(_ text: String) {
        for name in ["retry-after-ms", "Retry-After", "retry-after"] {
            if let hint = RetryAfter.parse([(name: name, value: text)], now: now) {
                #expect(hint >= .zero && hint <= RetryAfter.ceiling, "\(name): \(text.debugDescription) → \(hint)")
            }
        }
    }

    @Test("huge hints clamp to an hour rather than trap; negative ones are no wait")
    func clamps() {
        #expect(RetryAfter.parse([(name: "retry-after-ms", value: "1e19")], now: now) == RetryAfter.ceiling)
        #expect(RetryAfter.parse([(name: "Retry-After", value: "10000000000000")], now: now) == RetryAfter.ceiling)
        #expect(RetryAfter.parse([(name: "Retry-After", value: "Fri, 31 Dec 9999 23:59:59 GMT")], now: now) == RetryAfter.ceiling)
        #expect(RetryAfter.parse([(name: "retry-after-ms", value: "-5")], now: now) == .zero)
        #expect(RetryAfter.parse([(name: "retry-after-ms", value: "1500")], now: now) == .milliseconds(1500))
    }

    @Test("usage of any JSON integer becomes counts of 0 to Int32.max in every bucket, for every protocol")
    func tokenCounts() throws {
        let extremes = ["-9223372036854775808", "-1", "0", "7", "2147483648", "9223372036854775807"]
        for a in extremes {
            for b in extremes {
                let openAI = try JSONDecoder().decode(OpenAIChatWire.Usage.self, from: Data(#"""
                    {"prompt_tokens": \#(a), "completion_tokens": \#(b), "prompt_tokens_details": {"cached_tokens": \#(b)},
                     "completion_tokens_details": {"reasoning_tokens": \#(a)}}
                    """#.utf8))
                let anthropic = try JSONDecoder().decode(AnthropicWire.Usage.self, from: Data(#"""
                    {"input_tokens": \#(a), "output_tokens": \#(b), "cache_creation_input_tokens": \#(a), "cache_read_input_tokens": \#(b)}
                    """#.utf8))
                let gemini = try JSONDecoder().decode(GeminiWire.Usage.self, from: Data(#"""
                    {"promptTokenCount": \#(a), "candidatesTokenCount": \#(b), "cachedContentTokenCount": \#(b), "thoughtsTokenCount": \#(a)}
                    """#.utf8))
                for usage in [openAI.tokenUsage, anthropic.tokenUsage, gemini.tokenUsage] {
                    for count in [usage.input, usage.cachedInput, usage.output, usage.reasoning] {
                        #expect((0...TokenUsage.maximumCount).contains(count), "\(a), \(b) → \(usage)")
                    }
                    _ = usage + usage
                    _ = usage.total
                }
            }
        }
    }
}
