import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import PostgresNIO
import SwitchboardApp
import SwitchboardPostgres
import SwitchboardProvidersTesting
import SwitchboardTestSupport
import Testing

@Suite("Off-boarding: DELETE /admin/tenants/{id} deletes every row of the tenant")
struct OffboardingTests {
    /// Every table of the schema that holds a tenant's id, with the column that holds it.
    func tenantColumns(_ harness: AgentHarness) async throws -> [(table: String, column: String)] {
        try await PostgresAdministration.withConnection(harness.bootstrap.ownerConfiguration, logger: TestDatabase.logger) { connection in
            var columns: [(String, String)] = []
            for try await row in try await connection.query(
                """
                SELECT c.table_name::text, c.column_name::text FROM information_schema.columns c
                JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name AND t.table_type = 'BASE TABLE'
                WHERE c.table_schema = 'public' AND c.column_name IN ('tenant_id', 'scope')
                   OR (c.table_schema = 'public' AND c.table_name = 'tenants' AND c.column_name = 'id')
                ORDER BY 1
                """,
                logger: TestDatabase.logger
            ).decode((String, String).self) { columns.append(row) }
            return columns
        }
    }

    /// Rows per table that belong to `tenant`, as the owner sees them.
    func rows(_ harness: AgentHarness, _ tenant: String) async throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for (table, column) in try await tenantColumns(harness) {
            counts[table] = try await harness.count("SELECT count(*)::int FROM \(table) WHERE \(column) = '\(tenant)'")
        }
        return counts
    }

    @Test("a tenant with rows in every part of the product is deleted to the last row; another tenant keeps all of its own")
    func deletesEverything() async throws {
        try await withAgentWorld { model, _, client, harness in
            let setup = try await setUpAgent(client, model: model, trialMicros: 5_000_000)
            let other = try await setUpAgent(client, model: model, trialMicros: 5_000_000)
            for (index, tenant) in [setup, other].enumerated() {
                _ = try await deliver(
                    client, channel: tenant.channel.id, body: telegramUpdate(updateID: 10 + index, text: "Здравствуйте"),
                    headers: telegramHeaders(tenant.secret)
                )
                _ = try await deliver(client, channel: tenant.channel.id, body: Array("{not json".utf8), headers: telegramHeaders(tenant.secret))
            }
            #expect(try await harness.drain() == 2)
            let key = setup.tenant.key
            let contact = try #require(try await listData(client, "/v1/contacts", key: key).first?["id"] as? String)
            var keyed = headers(bearer: key)
            keyed[HTTPField.Name("Idempotency-Key")!] = "note-1"
            #expect(try await client.execute(
                uri: "/v1/contacts/\(contact)/notes", method: .post, headers: keyed, body: json(["body": "prefers calls"])
            ) { $0 }.status == .created)
            #expect(try await client.execute(
                uri: "/v1/deals", method: .post, headers: headers(bearer: key), body: json(["contact_id": contact, "title": "Sofa"])
            ) { $0 }.status == .created)
            #expect(try await client.execute(
                uri: "/admin/tenants/\(setup.tenant.id)/prices", method: .put, headers: headers(bearer: adminToken),
                body: json(["provider_kind": "openai", "model": "gpt-4o-mini", "input_micros_per_million": 1, "output_micros_per_million": 1])
            ) { $0 }.status == .ok)

            let before = try await rows(harness, setup.tenant.id)
            let seeded = before.filter { $0.value > 0 }.keys.sorted()
            // The seed reaches the tables that matter; the check below covers every table.
            for table in ["tenants", "api_keys", "channels", "contacts", "contact_identities", "conversations", "messages", "inbound_events",
                          "dead_letters", "jobs", "notes", "deals", "providers", "agents", "model_calls", "idempotency_keys",
                          "credit_accounts", "credit_entries", "credit_holds", "tenant_prices"] {
                #expect(seeded.contains(table), "the seed left \(table) empty")
            }
            let otherBefore = try await rows(harness, other.tenant.id)

            let deleted = try await client.execute(
                uri: "/admin/tenants/\(setup.tenant.id)", method: .delete, headers: headers(bearer: adminToken)
            ) { $0 }
            #expect(deleted.status == .ok)
            #expect(try object(deleted)["deleted"] as? Bool == true)
            let after = try await rows(harness, setup.tenant.id)
            #expect(after.filter { $0.value > 0 }.isEmpty, "rows left: \(after.filter { $0.value > 0 })")
            #expect(try await rows(harness, other.tenant.id) == otherBefore)

            // Its key no longer opens anything; a second delete finds nothing.
            #expect(try await client.execute(uri: "/v1/tenant", method: .get, headers: headers(bearer: key)) { $0 }.status == .unauthorized)
            let again = try await client.execute(uri: "/admin/tenants/\(setup.tenant.id)", method: .delete, headers: headers(bearer: adminToken)) { $0 }
            try expectError(again, .notFound, "not_found")
            let bogus = try await client.execute(uri: "/admin/tenants/not-an-id", method: .delete, headers: headers(bearer: adminToken)) { $0 }
            try expectError(bogus, .notFound, "not_found")
            let tenantKey = try await client.execute(uri: "/admin/tenants/\(other.tenant.id)", method: .delete, headers: headers(bearer: other.tenant.key)) { $0 }
            try expectError(tenantKey, .unauthorized, "unauthorized")
        }
    }
}
