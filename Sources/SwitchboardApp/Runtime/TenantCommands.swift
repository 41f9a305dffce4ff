import Foundation
import SwitchboardCore
public import SwitchboardPostgres

/// What the CLI does with tenants, beside the HTTP API.
public enum TenantCommands {
    public struct Created: Sendable {
        public var tenantID: String
        public var secret: String
    }

    /// The demo tenant's name: `make run` reuses it and mints it a new key each start.
    public static let demoTenantName = "Demo"

    /// Creates a tenant with a first key.
    public static func create(name: String, trialCreditsMicros: Int64, database: Database) async throws -> Created {
        let name = try FieldRule.tenantName.check(name, field: "name")
        guard trialCreditsMicros >= 0 else { throw SwitchboardError.invalid("trial credits must be zero or more") }
        let secret = APIKeySecret(name: "default")
        let store = PostgresTenantStore(database: database)
        let (tenant, _) = try await store.createTenant(name: name, trialCredits: Credits(micros: trialCreditsMicros), firstKey: secret.stored)
        return Created(tenantID: tenant.id.description, secret: secret.secret)
    }

    /// The demo tenant (created on first use) with a newly minted key: keys are shown once,
    /// so each start mints one.
    public static func demoKey(database: Database) async throws -> Created {
        let store = PostgresTenantStore(database: database)
        var cursor: Cursor?
        repeat {
            let page = try await store.tenants(page: PageRequest(limit: PageRequest.maximumLimit, cursor: cursor))
            if let demo = page.data.first(where: { $0.name == demoTenantName }) {
                let secret = APIKeySecret(name: "demo \(demo.createdAt.timeIntervalSince1970)")
                _ = try await store.createAPIKey(demo.id, secret.stored)
                return Created(tenantID: demo.id.description, secret: secret.secret)
            }
            cursor = page.nextCursor.flatMap(Cursor.init(encoded:))
        } while cursor != nil
        let created = try await create(name: demoTenantName, trialCreditsMicros: 10 * Credits.microsPerCredit, database: database)
        try await demoAgent(TenantID(created.tenantID)!, database: database)
        return created
    }

    /// The demo tenant's agent: the `local` provider answering from a short FAQ, so the
    /// demo answers messages with no model provider at all (and hands off what it cannot).
    static func demoAgent(_ tenant: TenantID, database: Database) async throws {
        let provider = try await PostgresProviderStore(database: database).create(
            tenant, id: ProviderID(), name: "FAQ (no model)", kind: .local, baseURL: nil, region: "local", sealedAPIKey: nil
        )
        _ = try await PostgresAgentStore(database: database).create(tenant, AgentSettings(
            name: "Demo assistant", providerID: provider.id, model: "faq", systemPrompt: "",
            handoffKeywords: ["operator", "оператор", "human"],
            faq: [
                FAQEntry(question: "What are your opening hours?", answer: "We are open every day, 9:00 to 21:00."),
                FAQEntry(question: "How much is delivery?", answer: "Delivery in the city is free from 10,000 ₸; otherwise 1,000 ₸."),
                FAQEntry(question: "Сколько стоит доставка?", answer: "Доставка по городу бесплатно от 10 000 ₸, иначе 1 000 ₸."),
            ]
        ))
    }
}
