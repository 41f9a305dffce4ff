public import ConnectorKit
public import Foundation
import SwitchboardCore
import TelegramConnector
import WebhookConnector
import WhatsAppConnector

/// The connectors this server speaks, by channel kind. A new messenger is one folder
/// under `Connectors/` (its connector describes itself: `DescribedConnector`), its name in
/// the manifest's connector list, and one line in `available`.
public struct ConnectorRegistry: Sendable {
    let connectors: [String: any Connector]

    /// Every connector this build has; their descriptions give the settings of their API
    /// bases and the privacy register's sub-processors.
    public static let available: [any DescribedConnector.Type] = [
        TelegramConnector.self,
        WhatsAppConnector.self,
        WebhookConnector.self,
    ]

    /// The connectors' descriptions, by kind.
    public static let descriptions: [String: ConnectorDescription] = Dictionary(
        uniqueKeysWithValues: available.map { ($0.description.kind, $0.description) }
    )

    /// The platform API bases' defaults, by kind.
    public static let defaultPlatformBases: [String: URL] = descriptions.compactMapValues { $0.apiBase?.defaultURL }

    public init(_ connectors: [any Connector]) {
        self.connectors = Dictionary(uniqueKeysWithValues: connectors.map { ($0.kind, $0) })
    }

    /// The standard set, pointed at the configured platform bases.
    public static func standard(_ configuration: AppConfiguration, now: @escaping @Sendable () -> Date) -> ConnectorRegistry {
        ConnectorRegistry(available.map { $0.make(apiBase: configuration.platformBases[$0.description.kind], now: now) })
    }

    public subscript(kind: String) -> (any Connector)? { connectors[kind] }

    public var kinds: [String] { connectors.keys.sorted() }
}

extension IngestEvent {
    /// The domain's copy of a connector's event. A message without a sender names no one
    /// to file it under: it is recorded as ignored rather than stored half. Every string
    /// from the platform passes `StorableText`, so a NUL in a name or a text is stored as
    /// U+FFFD instead of failing the ingest (and the whole group commit with it).
    init(_ event: InboundEvent) {
        let orphan = event.kind == .message && event.sender == nil
        let clean = StorableText.sanitize as (String) -> String
        let cleanOptional = StorableText.sanitize as (String?) -> String?
        self.init(
            kind: orphan ? .ignored : IngestEvent.Kind(rawValue: event.kind.rawValue) ?? .ignored,
            eventID: clean(event.eventID),
            messageID: cleanOptional(event.messageID),
            sender: event.sender.map {
                IngestEvent.Sender(
                    externalID: clean($0.externalID), name: cleanOptional($0.name), username: cleanOptional($0.username),
                    phone: cleanOptional($0.phone), email: cleanOptional($0.email), language: cleanOptional($0.languageCode),
                    alternateIDs: $0.alternateIDs.map(clean)
                )
            },
            chat: event.chat.map { IngestEvent.Chat(externalID: clean($0.externalID), kind: $0.kind.rawValue, title: cleanOptional($0.title)) },
            text: cleanOptional(event.text),
            attachments: event.attachments.map {
                IngestEvent.Attachment(
                    kind: clean($0.kind), reference: cleanOptional($0.reference), mimeType: cleanOptional($0.mimeType),
                    name: cleanOptional($0.name),
                    details: Dictionary($0.details.map { (clean($0.key), clean($0.value)) }, uniquingKeysWith: { first, _ in first })
                )
            },
            // A platform's time outside what every layer can hold is replaced by the receipt time.
            sentAt: PlatformTime.bounded(event.sentAt),
            status: cleanOptional(event.status),
            statusError: cleanOptional(event.statusError),
            ignoredReason: orphan ? "message_without_sender" : cleanOptional(event.ignoredReason)
        )
    }
}
