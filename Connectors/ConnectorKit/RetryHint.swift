public import Foundation

/// A platform's "try again in …" as whole seconds, bounded: the `Retry-After` header
/// (delta-seconds or an HTTP date) and body fields such as Telegram's `retry_after`.
///
/// A hint comes from a server a tenant may name (a webhook's `callback_url`), so it is
/// read as text and clamped before it becomes a number: every answer lies in
/// `0...ceiling`, and no value reaches a conversion that could trap or a `Date` that
/// PostgreSQL cannot store.
public enum RetryHint {
    /// The longest wait a platform can ask for: an hour. Longer than any messenger's
    /// rate-limit window (Telegram's flood waits are seconds to minutes); a send retried
    /// an hour later is still an ordinary row in the queue.
    public static let ceiling = 3600

    /// `Retry-After`: delta-seconds (ASCII digits only, any length: more than the ceiling
    /// clamps to it) or an IMF-fixdate counted from `now` (past dates are 0). Anything else
    /// — signs, exponents, fractions, other scripts' digits — is no hint.
    public static func seconds(header value: String, now: Date) -> Int? {
        let text = value.trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty else { return nil }
        if text.utf8.allSatisfy({ (0x30...0x39).contains($0) }) {
            var seconds = 0
            for byte in text.utf8 {
                seconds = seconds * 10 + Int(byte - 0x30)
                if seconds >= ceiling { return ceiling }
            }
            return seconds
        }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        guard let date = formatter.date(from: text) else { return nil }
        return bounded(seconds: date.timeIntervalSince(now))
    }

    /// A count of seconds from a platform's body, within `0...ceiling`.
    public static func bounded(_ seconds: Int) -> Int {
        min(max(seconds, 0), ceiling)
    }

    /// Seconds as a `Double` (a date difference), within `0...ceiling`, rounded up; the
    /// comparisons come before the conversion, so NaN and infinities cannot trap.
    public static func bounded(seconds: Double) -> Int {
        guard seconds > 0 else { return 0 }
        guard seconds < Double(ceiling) else { return ceiling }
        return Int(seconds.rounded(.up))
    }
}
