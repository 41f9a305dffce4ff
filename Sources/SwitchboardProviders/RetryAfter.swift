import Foundation
import SwitchboardCore

/// Reads a provider's wait hint: `retry-after-ms` (OpenAI; milliseconds, preferred for its
/// precision), else `Retry-After` as seconds or as an HTTP date.
///
/// The hint comes from a server a tenant names, so it is bounded before it becomes a
/// number: every answer lies in `0...ceiling`, and no text — `1e19`, `inf`, a date in the
/// year 9999, twenty digits — reaches a conversion that could trap.
enum RetryAfter {
    /// The longest wait a hint can ask for: an hour. Longer than any real rate-limit window
    /// (OpenAI's and Anthropic's are per minute), and short enough that a retry scheduled
    /// from it is an ordinary time for `Date` and PostgreSQL; the router moves to the next
    /// target for anything over its own `maxRetryAfter` anyway.
    static let ceiling: Duration = .seconds(3600)

    static func parse(_ headers: [(name: String, value: String)], now: Date) -> Duration? {
        if let text = headers.value(of: "retry-after-ms"), let milliseconds = Double(text.trimmingCharacters(in: .whitespaces)),
            !milliseconds.isNaN
        {
            return bounded(seconds: milliseconds / 1000)
        }
        guard let text = headers.value(of: "retry-after")?.trimmingCharacters(in: .whitespaces), !text.isEmpty else {
            return nil
        }
        if let seconds = Double(text), !seconds.isNaN {
            return bounded(seconds: seconds)
        }
        guard let date = httpDate(text) else { return nil }
        return bounded(seconds: date.timeIntervalSince(now))
    }

    /// `seconds` within `0...ceiling`, rounded up to the millisecond; the comparison comes
    /// before the conversion, so infinities and huge values clamp instead of trapping.
    static func bounded(seconds: Double) -> Duration {
        guard seconds > 0 else { return .zero }
        guard seconds < ceiling.timeInterval else { return ceiling }
        return .milliseconds(Int64((seconds * 1000).rounded(.up)))
    }

    /// IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) and the two obsolete forms RFC 9110
    /// still asks recipients to accept.
    static func httpDate(_ text: String) -> Date? {
        for format in ["EEE, dd MMM yyyy HH:mm:ss zzz", "EEEE, dd-MMM-yy HH:mm:ss zzz", "EEE MMM d HH:mm:ss yyyy"] {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "GMT")
            formatter.dateFormat = format
            if let date = formatter.date(from: text) { return date }
        }
        return nil
    }
}
