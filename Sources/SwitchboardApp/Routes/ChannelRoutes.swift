import ConnectorKit
import Foundation
import Hummingbird
import Logging
import SwitchboardCore
import SwitchboardPipeline
import SwitchboardPostgres

/// `/v1/channels`: a tenant's messenger and webhook connections. Credentials are
/// write-only: sealed at rest, never answered, except the secrets Switchboard generates,
/// shown once in the answer that creates them.
struct ChannelRoutes: Sendable {
    let store: PostgresChannelStore
    let agents: PostgresAgentStore
    let cache: ChannelRouteCache
    let connectors: ConnectorRegistry
    let secrets: SecretBox
    let http: any OutboundHTTPClient
    let egress: EgressCheck
    let publicURL: String?
    let effectivePublicURL: String
    /// Called when a channel the server fetches was created, changed or deleted.
    var pulledChanged: @Sendable () -> Void = {}

    struct CreateBody: RequestBody {
        var kind: String
        var name: String
        var agentID: String?
        var credentials: [String: String]?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case kind, name, agentID = "agent_id", credentials
        }
    }

    struct UpdateBody: RequestBody {
        var name: String?
        var agentID: String??
        var enabled: Bool?
        var credentials: [String: String]?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case name, agentID = "agent_id", enabled, credentials
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            name = try container.decodeIfPresent(String.self, forKey: .name)
            if container.contains(.agentID) {
                agentID = .some(try container.decodeIfPresent(String.self, forKey: .agentID))
            }
            enabled = try container.decodeIfPresent(Bool.self, forKey: .enabled)
            credentials = try container.decodeIfPresent([String: String].self, forKey: .credentials)
        }
    }

    func add(to group: RouterGroup<TenantRequestContext>) {
        group.post("/channels") { request, context in
            let body = try await JSONBody.decode(CreateBody.self, from: request, context: context)
            guard let connector = connectors[body.kind] else {
                throw SwitchboardError.invalid("kind must be one of \(connectors.kinds.joined(separator: ", "))", field: "kind")
            }
            let name = try FieldRule.shortName.check(body.name, field: "name")
            let agentID = try await checkAgent(body.agentID, tenant: context.tenantID)
            let prepared = try await prepare(connector, body.credentials ?? [:])
            let id = ChannelID()
            // Talk to the platform before storing: a bad bot token, a mailbox's wrong
            // password, is refused at creation. A pushed channel's platform is told its
            // webhook only when the server has a public URL; a pulled one is always checked.
            if publicURL != nil || connector is any PullingConnector {
                try await register(connector, id: id, credentials: prepared.stored)
            }
            let sealed = try secrets.sealCredentials(prepared.stored, tenant: context.tenantID, channel: id)
            let channel = try await store.create(
                context.tenantID, id: id, kind: body.kind, name: name, agentID: agentID?.uuid, sealedCredentials: sealed,
                credentialFields: prepared.stored.keys.sorted()
            )
            cache.invalidate(id)
            if connector is any PullingConnector { pulledChanged() }
            context.logger.info("channel created", metadata: ["channel.id": "\(id)", "channel.kind": "\(body.kind)"])
            return try prepared.revealOnce.isEmpty
                ? JSONBody.response(answer(channel), status: .created)
                : JSONBody.response(answer(channel, revealed: prepared.revealOnce), status: .created, secret: true)
        }
        group.get("/channels") { request, context in
            let page = try await store.list(context.tenantID, page: try request.pageRequest())
            return try JSONBody.response(ListResponse(page) { answer($0) })
        }
        group.get("/channels/{id}") { _, context in
            try JSONBody.response(answer(try await store.get(context.tenantID, try Self.channelID(context))))
        }
        group.patch("/channels/{id}") { request, context in
            let id = try Self.channelID(context)
            let body = try await JSONBody.decode(UpdateBody.self, from: request, context: context)
            let current = try await store.get(context.tenantID, id)
            var changes = ChannelChanges()
            if let name = body.name { changes.name = try FieldRule.shortName.check(name, field: "name") }
            if let agent = body.agentID { changes.agentID = .some(try await checkAgent(agent, tenant: context.tenantID)?.uuid) }
            changes.enabled = body.enabled
            var revealed: [String: String] = [:]
            if let submitted = body.credentials {
                guard let connector = connectors[current.kind] else { throw SwitchboardError.notFound("channel") }
                let prepared = try await prepare(connector, submitted)
                if publicURL != nil || connector is any PullingConnector {
                    try await register(connector, id: id, credentials: prepared.stored)
                }
                changes.sealedCredentials = try secrets.sealCredentials(prepared.stored, tenant: context.tenantID, channel: id)
                changes.credentialFields = prepared.stored.keys.sorted()
                revealed = prepared.revealOnce
            }
            let channel = try await store.update(context.tenantID, id, changes)
            cache.invalidate(id)
            if connectors[current.kind] is any PullingConnector { pulledChanged() }
            return try revealed.isEmpty ? JSONBody.response(answer(channel)) : JSONBody.response(answer(channel, revealed: revealed), secret: true)
        }
        group.delete("/channels/{id}") { request, context in
            let id = try Self.channelID(context)
            // ?data=delete: the conversations, messages and contacts it brought go too;
            // by default they stay in the CRM and only the channel stops.
            var deleted = DeletedResponse(id)
            if try Self.deletesData(request) {
                deleted.removed = try await store.deleteWithData(context.tenantID, id)
            } else {
                try await store.delete(context.tenantID, id)
            }
            cache.invalidate(id)
            context.logger.info("channel deleted", metadata: ["channel.id": "\(id)"])
            return try JSONBody.response(deleted)
        }
    }

    /// The `data` parameter of a delete: `keep` (the default) or `delete`.
    static func deletesData(_ request: Request) throws -> Bool {
        switch request.uri.queryParameters["data"].map(String.init) {
        case nil, "keep": false
        case "delete": true
        default: throw SwitchboardError.invalid("data must be keep or delete", field: "data")
        }
    }

    static func channelID(_ context: TenantRequestContext) throws -> ChannelID {
        guard let id = context.parameters.get("id").flatMap({ ChannelID($0) }) else { throw SwitchboardError.notFound("channel") }
        return id
    }

    /// The agent a channel is to point at: one of the tenant's, or `not_found` naming the field.
    func checkAgent(_ value: String?, tenant: TenantID) async throws -> AgentID? {
        guard let value else { return nil }
        guard let id = AgentID(value), try await agents.exists(tenant, id) else {
            throw SwitchboardError(.notFound, "no agent \(value.prefix(64)) exists", field: "agent_id")
        }
        return id
    }

    func prepare(_ connector: any Connector, _ submitted: [String: String]) async throws -> PreparedCredentials {
        let prepared: PreparedCredentials
        do {
            prepared = try connector.prepareCredentials(submitted)
        } catch {
            throw SwitchboardError.invalid(error.message, field: error.field.map { "credentials.\($0)" } ?? "credentials")
        }
        if let callback = prepared.stored["callback_url"] {
            try await egress.check(callback, field: "credentials.callback_url")
        }
        return prepared
    }

    func register(_ connector: any Connector, id: ChannelID, credentials: [String: String]) async throws {
        do {
            try await connector.register(
                webhookURL: "\(effectivePublicURL)/hooks/\(id)", credentials: ChannelCredentials(credentials), http: http
            )
        } catch {
            if error.code == .credentialsRejected {
                throw SwitchboardError.invalid(error.message, field: error.field.map { "credentials.\($0)" } ?? "credentials")
            }
            throw SwitchboardError(.upstreamError, "the platform could not be reached to set up the channel: \(error.message)")
        }
    }

    /// The channel's answer: its webhook URL is this server's, so the routes make it.
    func answer(_ channel: SwitchboardCore.Channel, revealed: [String: String] = [:]) -> ChannelResponse {
        ChannelResponse(
            channel, webhookURL: "\(effectivePublicURL)/hooks/\(channel.id)", revealed: revealed,
            pulled: connectors[channel.kind] is any PullingConnector
        )
    }

    /// How a fetched channel's fetching goes: `connecting` until a replica reports.
    struct PullResponse: Encodable, Sendable {
        var state: String
        @Nullable var cursor: String?
        @Nullable var lastError: String?
        @Nullable var nextRetryAt: Date?
        @Nullable var checkedAt: Date?

        enum CodingKeys: String, CodingKey {
            case state, cursor, lastError = "last_error", nextRetryAt = "next_retry_at", checkedAt = "checked_at"
        }
    }

    /// How the channel stands: `needs_credentials` once its platform refused its token
    /// (until new credentials, or a send that goes through), else a fetched channel's
    /// fetching (`connecting`, `connected`, `error`), else `connected`; with when a
    /// verified delivery last arrived (to the minute).
    struct StateResponse: Encodable, Sendable {
        var status: String
        @Nullable var lastError: String?
        @Nullable var since: Date?
        @Nullable var lastEventAt: Date?

        enum CodingKeys: String, CodingKey { case status, lastError = "last_error", since, lastEventAt = "last_event_at" }

        init(_ channel: SwitchboardCore.Channel, pulled: Bool) {
            lastEventAt = channel.lastEventAt
            if let error = channel.credentialsError {
                (status, lastError, since) = ("needs_credentials", error, channel.credentialsErrorAt)
            } else if pulled, let state = channel.pullState {
                switch state.phase {
                case .connecting: (status, lastError, since) = ("connecting", nil, nil)
                case .connected: (status, lastError, since) = ("connected", nil, nil)
                case .failing: (status, lastError, since) = ("error", state.error, state.checkedAt)
                }
            } else {
                (status, lastError, since) = (pulled ? "connecting" : "connected", nil, nil)
            }
        }
    }

    /// A channel as the API shows it: the names of its stored credentials, never their
    /// values, except `credentials` with the secrets Switchboard generated, once, in the
    /// answer that made them (sent with `Cache-Control: no-store`).
    struct ChannelResponse: APIResource {
        var id: String
        var kind: String
        var name: String
        @Nullable var agentID: String?
        var enabled: Bool
        var credentialFields: [String]
        var webhookURL: String
        var createdAt: Date
        var updatedAt: Date
        var credentials: [String: String]?
        @Nullable var pull: PullResponse?
        var state: StateResponse

        init(_ channel: SwitchboardCore.Channel, webhookURL: String, revealed: [String: String], pulled: Bool) {
            id = channel.id.description
            kind = channel.kind
            name = channel.name
            agentID = channel.agentID.map { $0.uuidString.lowercased() }
            enabled = channel.enabled
            credentialFields = channel.credentialFields
            self.webhookURL = webhookURL
            createdAt = channel.createdAt
            updatedAt = channel.updatedAt
            credentials = revealed.isEmpty ? nil : revealed
            self.state = StateResponse(channel, pulled: pulled)
            let state = channel.pullState
            pull = pulled
                ? PullResponse(
                    state: state?.phase.rawValue ?? PullState.Phase.connecting.rawValue, cursor: channel.pullCursor,
                    lastError: state?.phase == .failing ? state?.error : nil, nextRetryAt: state?.phase == .failing ? state?.retryAt : nil,
                    checkedAt: state?.checkedAt
                )
                : nil
        }

        enum CodingKeys: String, CodingKey {
            case id, kind, name, agentID = "agent_id", enabled, credentialFields = "credential_fields", webhookURL = "webhook_url"
            case createdAt = "created_at", updatedAt = "updated_at", credentials, pull, state
        }
    }
}
