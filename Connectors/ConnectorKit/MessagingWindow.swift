public import Foundation

/// How long after a contact's last message a channel's platform lets the business answer:
/// free-form for `freeForm` (WhatsApp, Messenger and Instagram: 24 hours), then, for a
/// person's answer only, with `tagged.tag` until `tagged.until` (Messenger and Instagram:
/// `HUMAN_AGENT`, 7 days). A kind without a window (Telegram, mail) declares none.
///
/// The window runs from the platform's timestamp of the contact's last inbound message;
/// the pipeline checks it before spending credits, the person's send before queuing.
public struct MessagingWindow: Sendable, Hashable {
    public var freeForm: TimeInterval
    public var tagged: Tagged?

    public struct Tagged: Sendable, Hashable {
        /// The message tag the platform takes (`HUMAN_AGENT`).
        public var tag: String
        /// From the contact's last message, in seconds.
        public var until: TimeInterval

        public init(tag: String, until: TimeInterval) {
            self.tag = tag
            self.until = until
        }
    }

    public init(freeForm: TimeInterval, tagged: Tagged? = nil) {
        self.freeForm = freeForm
        self.tagged = tagged
    }

    /// WhatsApp's customer service window: 24 hours, then templates only.
    public static let whatsApp = MessagingWindow(freeForm: 24 * 3600)
    /// Messenger's and Instagram's: 24 hours, then a person may answer with `HUMAN_AGENT`
    /// for 7 days.
    public static let metaMessaging = MessagingWindow(
        freeForm: 24 * 3600, tagged: Tagged(tag: "HUMAN_AGENT", until: 7 * 24 * 3600))

    public enum Verdict: Sendable, Hashable {
        /// Free-form messages may be sent.
        case open
        /// Only a person's message, sent with this tag.
        case tagged(String)
        /// Nothing free-form may be sent (a WhatsApp template still may).
        case closed
    }

    /// Whether a message may be sent `now`, the contact's last inbound message having the
    /// platform time `lastInbound` (`nil`: the contact never wrote, the window never opened).
    public func verdict(lastInbound: Date?, now: Date, byPerson: Bool) -> Verdict {
        guard let lastInbound else { return .closed }
        let elapsed = now.timeIntervalSince(lastInbound)
        if elapsed < freeForm { return .open }
        if byPerson, let tagged, elapsed < tagged.until { return .tagged(tagged.tag) }
        return .closed
    }
}
