public import Foundation

/// A platform's timestamp (Telegram's `date`, WhatsApp's `timestamp`, a webhook's
/// `sent_at`) as a `Date` that every layer below can hold.
///
/// The window is 1970-01-01 to 9999-12-31: what RFC 3339, `ISO8601DateFormatter`,
/// PostgreSQL's `timestamptz` and postgres-nio's encoding (microseconds in an `Int64`)
/// all represent. A time outside it is no time at all: the event is stored with the time
/// it was received instead.
public enum PlatformTime {
    /// The earliest time kept: the Unix epoch.
    public static let earliest: Int64 = 0
    /// The latest time kept: 9999-12-31T23:59:59Z.
    public static let latest: Int64 = 253_402_300_799

    /// The date `seconds` after the epoch, or nil outside the window.
    public static func date(unixSeconds seconds: Int64) -> Date? {
        guard (earliest...latest).contains(seconds) else { return nil }
        return Date(timeIntervalSince1970: TimeInterval(seconds))
    }

    /// `date` when it lies in the window, else nil; NaN and infinities are outside.
    public static func bounded(_ date: Date?) -> Date? {
        guard let date else { return nil }
        let seconds = date.timeIntervalSince1970
        guard seconds >= Double(earliest), seconds <= Double(latest) + 1 else { return nil }
        return date
    }
}
