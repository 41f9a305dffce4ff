public import ConnectorKit
public import Foundation
import SwitchboardCore
import TelegramConnector
import WebhookConnector
import WhatsAppConnector

/// The connectors this server speaks, by channel kind. A new messenger is one folder
/// under `Connectors/` and one line here.
public struct ConnectorRegistry: Sendable {
    let connectors: [String: any Connector]

    public init(_ connectors: [any Connector]) {
        self.connectors = Dictionary(uniqueKeysWithValues: connectors.map { ($0.kind, $0) })
    }

    /// The standard set, pointed at the configured platform bases.
    public static func standard(_ configuration: AppConfiguration, now: @escaping @Sendable () -> Date) -> ConnectorRegistry {
        ConnectorRegistry([
            TelegramConnector(apiBase: URL(string: configuration.telegramAPIBase) ?? URL(string: "https://api.telegram.org")!),
            WhatsAppConnector(graphAPIBase: URL(string: configuration.graphAPIBase) ?? URL(string: "https://graph.facebook.com")!),
            WebhookConnector(now: now),
        ])
    }

    public subscript(kind: String) -> (any Connector)? { connectors[kind] }

    public var kinds: [String] { connectors.keys.sorted() }
}

extension IngestEvent {
    /// The domain's copy of a connector's event. A message without a sender names no one
    /// to file it under: it is recorded as ignored rather than stored half.
    init(_ event: InboundEvent) {
        let orphan = event.kind == .message && event.sender == nil
        self.init(
            kind: orphan ? .ignored : IngestEvent.Kind(rawValue: event.kind.rawValue) ?? .ignored,
            eventID: event.eventID,
            messageID: event.messageID,
            sender: event.sender.map {
                IngestEvent.Sender(
                    externalID: $0.externalID, name: $0.name, username: $0.username, phone: $0.phone, email: $0.email,
                    language: $0.languageCode, alternateIDs: $0.alternateIDs
                )
            },
            chat: event.chat.map { IngestEvent.Chat(externalID: $0.externalID, kind: $0.kind.rawValue, title: $0.title) },
            text: event.text,
            attachments: event.attachments.map {
                IngestEvent.Attachment(kind: $0.kind, reference: $0.reference, mimeType: $0.mimeType, name: $0.name, details: $0.details)
            },
            // A platform's time outside what every layer can hold is replaced by the receipt time.
            sentAt: PlatformTime.bounded(event.sentAt),
            status: event.status,
            statusError: event.statusError,
            ignoredReason: orphan ? "message_without_sender" : event.ignoredReason
        )
    }
}
