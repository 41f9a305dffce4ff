public import SwitchboardCore
public import SwitchboardPostgres

/// What the ingest tests of both the store and the app need: a tenant with a webhook
/// channel, and a one-message delivery to it.
public enum IngestFixtures {
    /// A new tenant named `tenantName` with a webhook channel (no agent), as its route.
    public static func webhookRoute(_ database: Database, tenantName: String) async throws -> ChannelRoute {
        let key = NewAPIKey(name: "k", prefix: "sb_live_x", hash: (0..<32).map { _ in UInt8.random(in: 0...255) })
        let (tenant, _) = try await PostgresTenantStore(database: database).createTenant(name: tenantName, trialCredits: .zero, firstKey: key)
        let channel = ChannelID()
        _ = try await PostgresChannelStore(database: database).create(
            tenant.id, id: channel, kind: "webhook", name: "c", agentID: nil, sealedCredentials: [1, 2, 3], credentialFields: []
        )
        return ChannelRoute(channelID: channel, tenantID: tenant.id, kind: "webhook", enabled: true, sealedCredentials: [1, 2, 3])
    }

    /// A delivery of one new message, `event` both its event and message id, from `sender`.
    public static func message(_ route: ChannelRoute, event: String, sender: String, text: String? = nil) -> IngestDelivery {
        IngestDelivery(route: route, payload: "{}", events: [
            IngestEvent(kind: .message, eventID: event, messageID: event, sender: .init(externalID: sender, name: sender), text: text ?? "text of \(event)"),
        ])
    }
}
