/// Text from outside made fit for PostgreSQL before it is stored.
///
/// PostgreSQL refuses U+0000 in `text` and as `\u0000` in `jsonb`: one such character in a
/// messenger's delivery failed the whole ingest statement, the delivery was answered 500,
/// and the platform redelivered it forever. Swift strings are valid Unicode already (no lone
/// surrogates, no invalid UTF-8), so NUL is the only code point left to replace; it becomes
/// U+FFFD, as any unreadable character would.
public enum StorableText {
    /// What U+0000 becomes.
    public static let replacement: Unicode.Scalar = "\u{FFFD}"

    /// `text` with every U+0000 replaced; the same string, without copying, when it has none.
    public static func sanitize(_ text: String) -> String {
        guard text.utf8.contains(0) else { return text }
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            scalars.append(scalar == "\u{0}" ? replacement : scalar)
        }
        return String(scalars)
    }

    /// `sanitize(_:)` of an optional.
    public static func sanitize(_ text: String?) -> String? {
        text.map { sanitize($0) }
    }
}
