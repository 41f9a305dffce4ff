import Foundation
import Logging
import PostgresNIO
import SwitchboardCore
import SwitchboardPostgres
import SwitchboardTestSupport
import Testing

@Suite("Stored values this build does not know")
struct StoredValuesTests {
    let logger = TestDatabase.logger

    @Test("a provider kind written by a newer build is an error that names it, never read as the local FAQ")
    func unknownProviderKind() async throws {
        try await withAppDatabase(ownDatabase: true) { database, owner in
            let route = try await IngestFixtures.webhookRoute(database, tenantName: "Newer")
            let store = PostgresProviderStore(database: database)
            let provider = try await store.create(
                route.tenantID, id: ProviderID(UUID()), name: "m", kind: .openaiCompatible, baseURL: "https://llm.example.com/v1",
                region: "eu", sealedAPIKey: nil
            )
            #expect(try await store.get(route.tenantID, provider.id).kind == .openaiCompatible)
            // What a newer build with one more kind would leave behind.
            try await PostgresAdministration.withConnection(owner, logger: logger) { connection in
                try await connection.query("ALTER TABLE providers DROP CONSTRAINT providers_kind_check", logger: logger)
                try await connection.query("UPDATE providers SET kind = 'mistral'", logger: logger)
            }
            // The request answers 500 `internal_error`; the log line carries the reason.
            for attempt in [{ _ = try await store.get(route.tenantID, provider.id) }, { _ = try await store.list(route.tenantID, page: PageRequest()) }]
                as [@Sendable () async throws -> Void]
            {
                let error = await #expect(throws: SwitchboardError.self) { try await attempt() }
                let reason = error?.underlying as? DatabaseError
                #expect(reason?.code == .unknownValue)
                #expect(reason?.message.contains("providers.kind 'mistral'") == true, "\(String(describing: error?.underlying))")
            }
        }
    }

    @Test("every reply and job status the workers write is one the schema's checks allow, and no allowed one is missing")
    func statusesMatchTheSchema() async throws {
        let owner = try await TestDatabase.shared.migratedDatabase(prefix: "statuses")
        let checks = try await PostgresAdministration.withConnection(owner, logger: logger) { connection in
            var found: [String: String] = [:]
            let rows = try await connection.query(
                """
                SELECT c.conrelid::regclass::text || '.' || a.attname::text, pg_get_constraintdef(c.oid)
                FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
                WHERE c.contype = 'c' AND (c.conrelid, a.attname) IN (('messages'::regclass, 'reply_status'), ('jobs'::regclass, 'status'))
                """,
                logger: logger
            )
            for try await (column, definition) in rows.decode((String, String).self) { found[column] = definition }
            return found
        }
        func allowed(_ column: String) throws -> Set<String> {
            let definition = try #require(checks[column], "no check on \(column): \(checks)")
            return Set(definition.matches(of: /'([a-z_]+)'::text/).map { String($0.output.1) })
        }
        #expect(try allowed("messages.reply_status") == Set(ReplyStatus.allCases.map(\.rawValue)))
        #expect(try allowed("jobs.status") == Set(JobStatus.allCases.map(\.rawValue)))
    }

    @Test("the ingest's status updates move forward in DeliveryStatus's order, the one the send worker reads")
    func deliveryStatusOrder() async throws {
        let owner = try await TestDatabase.shared.migratedDatabase(prefix: "delivery")
        let orders = try await PostgresAdministration.withConnection(owner, logger: logger) { connection in
            var found: [String] = []
            let rows = try await connection.query(
                "SELECT prosrc FROM pg_proc WHERE prosrc LIKE '%array_position(ARRAY[''pending''%'", logger: logger
            )
            for try await (source,) in rows.decode((String,).self) {
                for match in source.matches(of: /array_position\(ARRAY\[([^\]]*)\]/) { found.append(String(match.output.1)) }
            }
            return found
        }
        #expect(!orders.isEmpty, "no function orders delivery statuses")
        for order in orders {
            let values = order.matches(of: /'([a-z_]+)'/).map { String($0.output.1) }
            #expect(values == DeliveryStatus.allCases.map(\.rawValue))
        }
        #expect(DeliveryStatus.sent < .delivered && DeliveryStatus.read < .failed)
    }

    @Test("the default privacy policy is one policy: the schema's column defaults are PrivacyPolicy.standard's")
    func defaultPrivacyPolicy() async throws {
        // A tenant without a row of its own is read as `PrivacyPolicy.standard`, and a row
        // written with the columns' defaults must mean the same policy.
        let owner = try await TestDatabase.shared.migratedDatabase(prefix: "policy")
        let defaults = try await PostgresAdministration.withConnection(owner, logger: logger) { connection in
            var found: [String: String] = [:]
            let rows = try await connection.query(
                """
                SELECT column_name::text, COALESCE(column_default, 'NULL') FROM information_schema.columns
                WHERE table_schema = 'public' AND table_name = 'privacy_policies'
                """,
                logger: logger
            )
            for try await (column, value) in rows.decode((String, String).self) { found[column] = value }
            return found
        }
        let standard = PrivacyPolicy.standard
        #expect(defaults["conversation_days"] == "NULL" && standard.conversationDays == nil)
        #expect(defaults["log_days"] == "\(standard.logDays)")
        #expect(defaults["ledger_years"] == "\(standard.ledgerYears)")
        #expect(defaults["redact_pii"] == "\(standard.redactPII)")
        #expect(defaults["allowed_regions"] == "NULL" && standard.allowedRegions == nil)
        #expect(defaults["home_region"] == "'\(standard.homeRegion)'::text")
        #expect(defaults["ai_label"] == "NULL" && standard.aiLabel == nil)
        #expect(defaults["keep_contacts"] == "\(standard.keepContacts)")
        // The retention sweep's own fallback for a tenant without a row.
        let privacy = try #require(try SQLFunctionFile.bundled().first { $0.name == "privacy.sql" })
        #expect(privacy.sql.contains("COALESCE(v_policy.log_days, \(standard.logDays))"))
    }
}
