import Foundation
import Hummingbird
import Logging
import SwitchboardCore
import SwitchboardPipeline
import SwitchboardPostgres

/// `/v1/providers`: the model providers a tenant's agents call. The API key is write-only:
/// sealed at rest and never answered; answers say only whether one is set.
struct ProviderRoutes: Sendable {
    let store: PostgresProviderStore
    let secrets: SecretBox
    let egress: EgressCheck

    struct CreateBody: RequestBody {
        var name: String
        var kind: String
        var baseURL: String?
        var apiKey: String?
        var region: String?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case name, kind, baseURL = "base_url", apiKey = "api_key", region
        }
    }

    struct UpdateBody: RequestBody {
        var name: String?
        var baseURL: String??
        var apiKey: String??
        var region: String?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case name, baseURL = "base_url", apiKey = "api_key", region
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            name = try container.decodeIfPresent(String.self, forKey: .name)
            region = try container.decodeIfPresent(String.self, forKey: .region)
            if container.contains(.baseURL) { baseURL = .some(try container.decodeIfPresent(String.self, forKey: .baseURL)) }
            if container.contains(.apiKey) { apiKey = .some(try container.decodeIfPresent(String.self, forKey: .apiKey)) }
        }
    }

    func add(to group: RouterGroup<TenantRequestContext>) {
        group.post("/providers") { request, context in
            let body = try await JSONBody.decode(CreateBody.self, from: request, context: context)
            guard let kind = ProviderKind(rawValue: body.kind) else {
                throw SwitchboardError.invalid(
                    "kind must be one of \(ProviderKind.allCases.map(\.rawValue).joined(separator: ", "))", field: "kind"
                )
            }
            let name = try FieldRule.shortName.check(body.name, field: "name")
            let baseURL = try await checkBaseURL(body.baseURL, kind: kind)
            let region = try Self.region(body.region ?? (kind == .local ? "local" : nil))
            let key = try Self.apiKey(body.apiKey, kind: kind)
            if kind.needsAPIKey, key == nil {
                throw SwitchboardError.invalid("api_key is required for \(kind.rawValue) providers", field: "api_key")
            }
            let id = ProviderID()
            let sealed = try key.map { try secrets.sealAPIKey($0, tenant: context.tenantID, provider: id) }
            let provider = try await store.create(
                context.tenantID, id: id, name: name, kind: kind, baseURL: baseURL, region: region, sealedAPIKey: sealed
            )
            context.logger.info("provider created", metadata: ["provider.id": "\(id)", "provider.kind": "\(kind.rawValue)"])
            return try JSONBody.response(ProviderResponse(provider), status: .created)
        }
        group.get("/providers") { request, context in
            let page = try await store.list(context.tenantID, page: try request.pageRequest())
            return try JSONBody.response(ListResponse(page, ProviderResponse.init))
        }
        group.get("/providers/{id}") { _, context in
            try JSONBody.response(ProviderResponse(try await store.get(context.tenantID, try Self.providerID(context))))
        }
        group.patch("/providers/{id}") { request, context in
            let id = try Self.providerID(context)
            let body = try await JSONBody.decode(UpdateBody.self, from: request, context: context)
            let current = try await store.get(context.tenantID, id)
            var changes = ProviderChanges()
            if let name = body.name { changes.name = try FieldRule.shortName.check(name, field: "name") }
            if let region = body.region { changes.region = try Self.region(region) }
            if let baseURL = body.baseURL {
                if baseURL == nil, current.kind.needsBaseURL {
                    throw SwitchboardError.invalid("base_url is required for \(current.kind.rawValue) providers", field: "base_url")
                }
                changes.baseURL = .some(try await checkBaseURL(baseURL, kind: current.kind))
            }
            if let submitted = body.apiKey {
                if let key = try Self.apiKey(submitted, kind: current.kind) {
                    changes.sealedAPIKey = .some(try secrets.sealAPIKey(key, tenant: context.tenantID, provider: id))
                } else if current.kind.needsAPIKey {
                    throw SwitchboardError.invalid("api_key is required for \(current.kind.rawValue) providers", field: "api_key")
                } else {
                    changes.sealedAPIKey = .some(nil)
                }
            }
            return try JSONBody.response(ProviderResponse(try await store.update(context.tenantID, id, changes)))
        }
        group.delete("/providers/{id}") { _, context in
            let id = try Self.providerID(context)
            try await store.delete(context.tenantID, id)
            context.logger.info("provider deleted", metadata: ["provider.id": "\(id)"])
            return try JSONBody.response(DeletedResponse(id))
        }
    }

    static func providerID(_ context: TenantRequestContext) throws -> ProviderID {
        guard let id = context.parameters.get("id").flatMap({ ProviderID($0) }) else { throw SwitchboardError.notFound("provider") }
        return id
    }

    func checkBaseURL(_ value: String?, kind: ProviderKind) async throws -> String? {
        guard let value else {
            if kind.needsBaseURL { throw SwitchboardError.invalid("base_url is required for \(kind.rawValue) providers", field: "base_url") }
            return nil
        }
        guard kind != .local else { throw SwitchboardError.invalid("local providers take no base_url", field: "base_url") }
        let trimmed = try FieldRule.baseURL.check(value, field: "base_url")
        try await egress.check(trimmed, field: "base_url")
        return trimmed.hasSuffix("/") ? String(trimmed.dropLast()) : trimmed
    }

    /// A region code for the sub-processor register: `us`, `eu`, `kz`, `us-east-1`.
    static func region(_ value: String?, field: String = "region") throws -> String {
        guard let value else { throw SwitchboardError.invalid("\(field) is required (where the provider processes data, e.g. us, eu, kz)", field: field) }
        return try FieldRule.region.check(value, field: field)
    }

    static func apiKey(_ value: String?, kind: ProviderKind) throws -> String? {
        guard let value else { return nil }
        guard kind != .local else { throw SwitchboardError.invalid("local providers take no api_key", field: "api_key") }
        return try FieldRule.providerAPIKey.check(value, field: "api_key")
    }

    /// A provider as the API shows it: whether it has an API key, never the key.
    struct ProviderResponse: APIResource {
        var id: String
        var name: String
        var kind: String
        @Nullable var baseURL: String?
        var region: String
        var hasAPIKey: Bool
        var createdAt: Date
        var updatedAt: Date

        init(_ provider: Provider) {
            id = provider.id.description
            name = provider.name
            kind = provider.kind.rawValue
            baseURL = provider.baseURL ?? provider.kind.defaultBaseURL
            region = provider.region
            hasAPIKey = provider.hasAPIKey
            createdAt = provider.createdAt
            updatedAt = provider.updatedAt
        }

        enum CodingKeys: String, CodingKey {
            case id, name, kind, baseURL = "base_url", region, hasAPIKey = "has_api_key", createdAt = "created_at", updatedAt = "updated_at"
        }
    }
}
