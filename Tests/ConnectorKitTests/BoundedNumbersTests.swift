import ConnectorKit
import ConnectorKitTesting
import Foundation
import Testing

@Suite("Numbers from outside, bounded: retry hints and platform times")
struct BoundedNumbersTests {
    let now = Date(timeIntervalSince1970: 1_763_900_000)

    @Test("a Retry-After header of any text is no hint or a wait of 0 to 3600 seconds", arguments: HostileText.corpus)
    func retryAfterHeader(_ text: String) {
        if let seconds = RetryHint.seconds(header: text, now: now) {
            #expect((0...RetryHint.ceiling).contains(seconds), "\(text.debugDescription) → \(seconds)")
        }
    }

    @Test("huge hints clamp to the ceiling, past dates to zero, and only ASCII digits count as seconds")
    func retryAfterValues() {
        #expect(RetryHint.seconds(header: "120", now: now) == 120)
        #expect(RetryHint.seconds(header: " 120 ", now: now) == 120)
        #expect(RetryHint.seconds(header: "10000000000000", now: now) == RetryHint.ceiling)
        #expect(RetryHint.seconds(header: String(repeating: "9", count: 400), now: now) == RetryHint.ceiling)
        #expect(RetryHint.seconds(header: "Fri, 31 Dec 9999 23:59:59 GMT", now: now) == RetryHint.ceiling)
        #expect(RetryHint.seconds(header: "Sun, 06 Nov 1994 08:49:37 GMT", now: now) == 0)
        for refused in ["-1", "+5", "1e3", "1.5", "١٢٣", "１２３", "", "NaN"] {
            #expect(RetryHint.seconds(header: refused, now: now) == nil, "\(refused.debugDescription)")
        }
    }

    @Test("a hint in a body or an error is held within 0...3600 whatever the connector passed")
    func retryAfterInErrors() {
        for value in [Int.min, -1, 0, 7, 3600, 3601, Int(Int32.max), Int.max] {
            let error = ConnectorError(.sendFailed, "rate limited", retryAfter: value, retryable: true)
            #expect((0...RetryHint.ceiling).contains(error.retryAfter ?? -1))
            var changed = error
            changed.retryAfter = value
            #expect((0...RetryHint.ceiling).contains(changed.retryAfter ?? -1))
        }
        for seconds in [-Double.infinity, -1e300, -0.0, .nan, 0.4, 1e19, .infinity, .greatestFiniteMagnitude] {
            #expect((0...RetryHint.ceiling).contains(RetryHint.bounded(seconds: seconds)))
        }
    }

    @Test("a platform's Unix time becomes a date only between 1970 and 9999")
    func platformTimes() {
        for seconds: Int64 in [.min, -1, 253_402_300_800, .max, 9_223_372_036_854] {
            #expect(PlatformTime.date(unixSeconds: seconds) == nil, "\(seconds)")
        }
        #expect(PlatformTime.date(unixSeconds: 0) == Date(timeIntervalSince1970: 0))
        #expect(PlatformTime.date(unixSeconds: 1_763_900_000) == Date(timeIntervalSince1970: 1_763_900_000))
        for interval in [-Double.infinity, .nan, -1, 1e13, 1e19, .infinity, .greatestFiniteMagnitude] {
            #expect(PlatformTime.bounded(Date(timeIntervalSince1970: interval)) == nil, "\(interval)")
        }
        #expect(PlatformTime.bounded(now) == now)
    }
}
