/// The port for tenants and their API keys. Every tenant-scoped method takes the tenant
/// first, so a reviewer sees the scope at the call site.
public protocol TenantStore: Sendable {
    /// Creates a tenant together with its first API key (operator action).
    func createTenant(name: String, trialCredits: Credits, firstKey: NewAPIKey) async throws -> (Tenant, APIKey)
    /// Lists every tenant, oldest first (operator action).
    func tenants(page: PageRequest) async throws -> Page<Tenant>
    /// The tenant's own profile.
    func tenant(_ tenant: TenantID) async throws -> Tenant
    /// Off-boards a tenant: every row of it is deleted, in one transaction. Not found → 404.
    func deleteTenant(_ tenant: TenantID) async throws
    /// Adds a key to the tenant.
    func createAPIKey(_ tenant: TenantID, _ key: NewAPIKey) async throws -> APIKey
    /// The tenant's keys, active and revoked, oldest first.
    func apiKeys(_ tenant: TenantID, page: PageRequest) async throws -> Page<APIKey>
    /// Revokes a key; revoking a revoked key answers it unchanged. Refuses the last active key.
    func revokeAPIKey(_ tenant: TenantID, _ id: APIKeyID) async throws -> APIKey
    /// Finds the active key whose SHA-256 hash this is.
    func authenticate(keyHash: [UInt8]) async throws -> TenantPrincipal?
}
