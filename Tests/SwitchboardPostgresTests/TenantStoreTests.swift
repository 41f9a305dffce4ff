import Foundation
import SwitchboardCore
import SwitchboardPostgres
import SwitchboardTestSupport
import Testing

@Suite("Tenant store")
struct TenantStoreTests {
    @Test("a key authenticates to its tenant until it is revoked")
    func authenticateAndRevoke() async throws {
        try await withAppDatabase { database in
            let store = PostgresTenantStore(database: database)
            let first = newKey()
            let (tenant, firstKey) = try await store.createTenant(name: "Keys", trialCredits: .zero, firstKey: first.key)
            let second = newKey("second")
            _ = try await store.createAPIKey(tenant.id, second.key)

            let principal = try await store.authenticate(keyHash: first.key.hash)
            #expect(principal == TenantPrincipal(tenantID: tenant.id, apiKeyID: firstKey.id))

            let revoked = try await store.revokeAPIKey(tenant.id, firstKey.id)
            #expect(revoked.revokedAt != nil)
            #expect(try await store.authenticate(keyHash: first.key.hash) == nil)
            // Revoking again answers the revoked key unchanged.
            #expect(try await store.revokeAPIKey(tenant.id, firstKey.id).revokedAt == revoked.revokedAt)
        }
    }

    @Test("the last active key cannot be revoked")
    func lastKeyStays() async throws {
        try await withAppDatabase { database in
            let store = PostgresTenantStore(database: database)
            let (tenant, key) = try await store.createTenant(name: "One key", trialCredits: .zero, firstKey: newKey().key)
            let error = await #expect(throws: SwitchboardError.self) { try await store.revokeAPIKey(tenant.id, key.id) }
            #expect(error?.code == .conflict)
        }
    }

    @Test("another tenant's key id is not found")
    func otherTenantsKeyIsNotFound() async throws {
        try await withAppDatabase { database in
            let store = PostgresTenantStore(database: database)
            let (a, _) = try await store.createTenant(name: "A", trialCredits: .zero, firstKey: newKey().key)
            let (_, bKey) = try await store.createTenant(name: "B", trialCredits: .zero, firstKey: newKey().key)
            _ = try await store.createAPIKey(a.id, newKey().key)
            let error = await #expect(throws: SwitchboardError.self) { try await store.revokeAPIKey(a.id, bKey.id) }
            #expect(error?.code == .notFound)
        }
    }

    @Test("keys page by cursor in creation order, each exactly once")
    func pagination() async throws {
        try await withAppDatabase { database in
            let store = PostgresTenantStore(database: database)
            let (tenant, first) = try await store.createTenant(name: "Pages", trialCredits: .zero, firstKey: newKey().key)
            var created = [first.id]
            for index in 0..<6 { created.append(try await store.createAPIKey(tenant.id, newKey("k\(index)").key).id) }

            var seen: [APIKeyID] = []
            var cursor: Cursor?
            var pages = 0
            repeat {
                let page = try await store.apiKeys(tenant.id, page: PageRequest(limit: 3, cursor: cursor))
                seen += page.data.map(\.id)
                cursor = page.nextCursor.flatMap(Cursor.init(encoded:))
                pages += 1
            } while cursor != nil
            #expect(seen == created)
            #expect(pages == 3)
        }
    }

    @Test("a duplicate key hash is a conflict, not a crash")
    func duplicateHashConflicts() async throws {
        try await withAppDatabase { database in
            let store = PostgresTenantStore(database: database)
            let key = newKey()
            let (tenant, _) = try await store.createTenant(name: "Dup", trialCredits: .zero, firstKey: key.key)
            var again = key.key
            again.id = APIKeyID()
            let error = await #expect(throws: SwitchboardError.self) { try await store.createAPIKey(tenant.id, again) }
            #expect(error?.code == .conflict)
        }
    }
}
