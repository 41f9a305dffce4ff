/// A platform's own limit on a text field, checked when a delivery is parsed.
///
/// The platforms never send more than they let a person type (Telegram: 4,096 characters of
/// text, 1,024 of caption; WhatsApp the same), so a longer text did not come from the
/// platform as it works: whoever holds the channel's secret sent it. It is refused as
/// `malformed` (kept as a dead letter, answered 400) rather than truncated, so nothing is
/// stored that differs from what was sent and the sender learns why. Characters are counted
/// as Unicode scalars, which never exceeds the platforms' own count in UTF-16 units: a real
/// message at the limit always passes.
public struct TextLengthLimit: Sendable, Hashable {
    /// The most Unicode scalars the field may hold.
    public var maximumCharacters: Int

    public init(maximumCharacters: Int) {
        self.maximumCharacters = maximumCharacters
    }

    /// Throws `malformed`, naming `field`, when `text` is longer than the limit.
    public func check(_ text: String?, field: String) throws(ConnectorError) {
        guard let text, text.utf8.count > maximumCharacters else { return }
        // A scalar is at least one UTF-8 byte: only a text with more bytes than the limit can
        // have more scalars, and only then are they counted.
        guard text.unicodeScalars.count > maximumCharacters else { return }
        throw ConnectorError(.malformed, "\(field) is longer than \(maximumCharacters) characters", field: field)
    }

    /// Telegram's message text and WhatsApp's text body.
    public static let messageText = TextLengthLimit(maximumCharacters: 4096)
    /// Telegram's and WhatsApp's media caption.
    public static let caption = TextLengthLimit(maximumCharacters: 1024)
}
