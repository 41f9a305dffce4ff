public import ConnectorKit
import EmailConnector
public import Foundation
import MetaConnector
import SwitchboardCore
public import SwitchboardEgress
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
        InstagramConnector.self,
        MessengerConnector.self,
        WebhookConnector.self,
        EmailConnector.self,
    ]

    /// The connectors' descriptions, by kind.
    public static let descriptions: [String: ConnectorDescription] = Dictionary(
        uniqueKeysWithValues: available.map { ($0.description.kind, $0.description) }
    )

    /// The platform API bases' defaults, by kind.
    public static let defaultPlatformBases: [String: URL] = descriptions.compactMapValues { $0.apiBase?.defaultURL }

    /// The standard set, pointed at the configured platform bases; connectors that open
    /// their own connections (mail) tunnel through `egress`.
    public static func standard(
        _ configuration: AppConfiguration, now: @escaping @Sendable () -> Date, egress: EgressGate? = nil
    ) -> ConnectorRegistry {
        ConnectorRegistry(available.map {
            $0.make(ConnectorEnvironment(
                apiBase: configuration.platformBases[$0.description.kind], now: now,
                egressProxy: egress.map { ConnectorEnvironment.EgressProxy(host: "127.0.0.1", port: $0.port, authorization: $0.proxyAuthorization) },
                extraTrustRootsFile: configuration.mailTrustFile
            ))
        })
    }
}
