import Foundation
import Testing

@testable import SwitchboardProviders

@Suite("Retry-After")
struct RetryAfterTests {
    let now = Date(timeIntervalSince1970: 1_750_000_000)

    @Test("reads seconds, fractions and HTTP dates; prefers retry-after-ms")
    func parsing() {
        #expect(RetryAfter.parse([(name: "Retry-After", value: "2")], now: now) == .seconds(2))
        #expect(RetryAfter.parse([(name: "retry-after", value: " 1.5 ")], now: now) == .milliseconds(1500))
        #expect(
            RetryAfter.parse([(name: "retry-after-ms", value: "250"), (name: "Retry-After", value: "1")], now: now)
                == .milliseconds(250))
        let later = now.addingTimeInterval(90)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        #expect(RetryAfter.parse([(name: "Retry-After", value: formatter.string(from: later))], now: now) == .seconds(90))
        #expect(RetryAfter.parse([(name: "Retry-After", value: "Sun, 06 Nov 1994 08:49:37 GMT")], now: now) == .zero)
        #expect(RetryAfter.parse([(name: "Retry-After", value: "soon")], now: now) == nil)
        #expect(RetryAfter.parse([], now: now) == nil)
    }
}
