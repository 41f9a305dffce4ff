public import ConnectorKit
public import Foundation
import SwitchboardCore
import TelegramConnector
import WebhookConnector
import WhatsAppConnector

/// The connectors this build has, and how the server makes them. A new messenger is one
/// folder under `Connectors/` (its connector describes itself: `DescribedConnector`), its
/// name in the manifest's connector list, and one line in `available`.
extension ConnectorRegistry {
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

    /// The standard set, pointed at the configured platform bases.
    public static func standard(_ configuration: AppConfiguration, now: @escaping @Sendable () -> Date) -> ConnectorRegistry {
        ConnectorRegistry(available.map { $0.make(apiBase: configuration.platformBases[$0.description.kind], now: now) })
    }
}
