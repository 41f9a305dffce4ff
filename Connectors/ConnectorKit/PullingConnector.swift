public import Foundation

/// A connector whose channel's messages are fetched rather than pushed (`arrival:
/// .pulled`): a mailbox over IMAP, Telegram's `getUpdates` for a bot without a public URL.
/// The server runs one long-lived loop per live channel of its kind (the pipeline's
/// `PulledChannels`), which calls `pull` again and again and feeds what it answers to the
/// same ingest as a pushed delivery.
public protocol PullingConnector: Connector {
    /// What arrived after `cursor` (`nil`: the channel's first pull), waiting at most
    /// `wait` for something new where the platform can hold a request open (long polling,
    /// IMAP IDLE). Answers the events and the cursor to resume from once they are stored:
    /// the loop saves it only after the events committed, so a pull repeated after a crash
    /// brings the same events again, and the ingest's dedup by event id stores them once.
    func pull(
        after cursor: String?, credentials: ChannelCredentials, http: any OutboundHTTPClient, wait: Duration
    ) async throws(ConnectorError) -> PulledBatch
}

/// What one pull fetched.
public struct PulledBatch: Sendable {
    public var events: [InboundEvent]
    /// The raw bytes as fetched, kept with the events like a pushed delivery's body.
    public var payload: [UInt8]
    /// Where the next pull starts; `nil` keeps the current one.
    public var cursor: String?

    public init(events: [InboundEvent], payload: [UInt8], cursor: String?) {
        self.events = events
        self.payload = payload
        self.cursor = cursor
    }
}
