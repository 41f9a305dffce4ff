import Crypto
import Foundation
import Hummingbird
import Logging
import SwitchboardCore
import SwitchboardPostgres

/// Everything the routes need, passed in once by `buildApplication`.
struct RouteDependencies: Sendable {
    var store: any TenantStore
    var database: Database
    var metrics: AppMetrics
    var expectedMigrations: Int
    /// SHA-256 of `SWITCHBOARD_METRICS_TOKEN`, compared in constant time; `nil`: `/metrics` is open.
    var metricsTokenDigest: SHA256.Digest?
    /// Told when a key is minted (it forgets the keys it found unknown).
    var keys: APIKeyAuthentication
}

// MARK: Operations

extension RouteDependencies {
    func addOperationRoutes(to router: Router<AppRequestContext>) {
        router.get("/health") { _, _ in
            try JSONBody.response(StatusResponse(status: "ok"))
        }
        router.get("/ready") { _, _ in
            switch await database.readiness(expectedMigrations: expectedMigrations) {
            case .ready: return try JSONBody.response(StatusResponse(status: "ready"))
            case .notReady(let reason): throw SwitchboardError(.unavailable, "not ready: \(reason)")
            }
        }
        // The gauges are read on a timer (`MetricsGauges`): a scrape costs no query. With
        // SWITCHBOARD_METRICS_TOKEN set, only that bearer token is answered.
        router.get("/metrics") { request, _ in
            if let metricsTokenDigest {
                guard let presented = request.bearerToken, SHA256.hash(data: Data(presented.utf8)) == metricsTokenDigest else {
                    throw SwitchboardError(.unauthorized, "the metrics token is required: Authorization: Bearer <SWITCHBOARD_METRICS_TOKEN>")
                }
            }
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: metrics.exposition())))
        }
        router.get("/openapi.json") { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "application/json; charset=utf-8"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: try OpenAPIDocument.data())))
        }
    }
}

// MARK: Operator API

struct CreateTenantRequest: RequestBody {
    var name: String
    var trialCreditsMicros: Int64?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name
        case trialCreditsMicros = "trial_credits_micros"
    }
}

extension RouteDependencies {
    func addOperatorRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post("/tenants") { request, context in
            let body = try await JSONBody.decode(CreateTenantRequest.self, from: request, context: context)
            let name = try FieldRule.tenantName.check(body.name, field: "name")
            let trial = body.trialCreditsMicros ?? 0
            guard trial >= 0 else {
                throw SwitchboardError.invalid("trial_credits_micros must be zero or more", field: "trial_credits_micros")
            }
            let secret = APIKeySecret(name: "default")
            let (tenant, _) = try await store.createTenant(name: name, trialCredits: Credits(micros: trial), firstKey: secret.stored)
            keys.keyCreated()
            context.logger.info("tenant created", metadata: ["tenant.id": "\(tenant.id)"])
            return try JSONBody.response(CreatedTenantResponse(tenant: TenantResponse(tenant), apiKey: secret.secret), status: .created, secret: true)
        }
        group.delete("/tenants/{id}") { _, context in
            guard let id = context.parameters.get("id").flatMap({ TenantID($0) }) else { throw SwitchboardError.notFound("tenant") }
            try await store.deleteTenant(id)
            context.logger.notice("tenant off-boarded: every row deleted", metadata: ["tenant.id": "\(id)"])
            return try JSONBody.response(DeletedResponse(id))
        }
        group.get("/tenants") { request, _ in
            let page = try await store.tenants(page: try request.pageRequest())
            let accounts = try await PostgresCreditStore(database: database).accounts(page.data.map(\.id))
            return try JSONBody.response(ListResponse(
                data: page.data.map { TenantResponse($0, account: accounts[$0.id]) }, nextCursor: page.nextCursor
            ))
        }
    }
}

// MARK: Tenant API

struct CreateAPIKeyRequest: RequestBody {
    var name: String?
    var scopes: [String]?
    var expiresAt: Date?
    var rateLimitPerMinute: Int?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, scopes, expiresAt = "expires_at", rateLimitPerMinute = "rate_limit_per_minute"
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decodeIfPresent(String.self, forKey: .name)
        scopes = try container.decodeIfPresent([String].self, forKey: .scopes)
        rateLimitPerMinute = try container.decodeIfPresent(Int.self, forKey: .rateLimitPerMinute)
        expiresAt = try container.decodeIfPresent(String.self, forKey: .expiresAt).map { try APITime.parse($0, field: "expires_at") }
    }

    /// The key's scopes: those named (each known, at least one), or `admin` without any.
    func checkedScopes() throws -> Set<Scope> {
        guard let scopes else { return [.admin] }
        guard !scopes.isEmpty, scopes.count <= Scope.allCases.count * 2 else {
            throw SwitchboardError.invalid("scopes names at least one scope (or leave it out for admin)", field: "scopes")
        }
        return Set(try scopes.map { name in
            guard let scope = Scope(rawValue: name) else {
                let known = Scope.allCases.map(\.rawValue).joined(separator: ", ")
                throw SwitchboardError.invalid("unknown scope \(name.prefix(40)); scopes are \(known)", field: "scopes")
            }
            return scope
        })
    }
}

extension RouteDependencies {
    func addTenantRoutes(to group: RouterGroup<TenantRequestContext>) {
        group.get("/tenant") { _, context in
            let tenant = try await store.tenant(context.tenantID)
            let account = try await PostgresCreditStore(database: database).account(context.tenantID)
            let required = try await PostgresWorkspaceStore(database: database).requiresTwoFactor(context.tenantID)
            return try JSONBody.response(TenantResponse(tenant, account: account, requireTwoFactor: required))
        }
        group.post("/api-keys") { request, context in
            let body = try await JSONBody.decode(CreateAPIKeyRequest.self, from: request, context: context)
            let name = try FieldRule.shortName.check(body.name ?? "default", field: "name")
            let scopes = try body.checkedScopes()
            if let expiresAt = body.expiresAt, expiresAt <= Date() {
                throw SwitchboardError.invalid("expires_at must be in the future", field: "expires_at")
            }
            if let limit = body.rateLimitPerMinute, !(1...1_000_000).contains(limit) {
                throw SwitchboardError.invalid("rate_limit_per_minute is 1 to 1000000", field: "rate_limit_per_minute")
            }
            var secret = APIKeySecret(name: name)
            secret.stored.scopes = scopes
            secret.stored.expiresAt = body.expiresAt
            secret.stored.rateLimitPerMinute = body.rateLimitPerMinute
            let key = try await store.createAPIKey(context.tenantID, secret.stored)
            keys.keyCreated()
            context.logger.info("api key created", metadata: ["api_key.id": "\(key.id)"])
            return try JSONBody.response(APIKeyResponse(key, secret: secret.secret), status: .created, secret: true)
        }
        group.get("/api-keys") { request, context in
            let page = try await store.apiKeys(context.tenantID, page: try request.pageRequest())
            return try JSONBody.response(ListResponse(data: page.data.map { APIKeyResponse($0) }, nextCursor: page.nextCursor))
        }
        group.delete("/api-keys/{id}") { _, context in
            guard let id = context.parameters.get("id").flatMap({ APIKeyID($0) }) else {
                throw SwitchboardError.notFound("API key")
            }
            let key = try await store.revokeAPIKey(context.tenantID, id)
            context.logger.info("api key revoked", metadata: ["api_key.id": "\(key.id)"])
            return try JSONBody.response(APIKeyResponse(key))
        }
    }
}
