import Foundation
import Logging
import PostgresNIO
import SwitchboardCore
import SwitchboardPostgres
import SwitchboardTestSupport
import Testing

@Suite("Tenant isolation (row-level security as the app role)")
struct TenantIsolationTests {
    let logger = TestDatabase.logger

    @Test("with tenant A set, a hand-written query with no WHERE sees none of B's rows")
    func tenantSeesOnlyItself() async throws {
        try await withAppDatabase { database in
            let store = PostgresTenantStore(database: database)
            let (a, _) = try await store.createTenant(name: "A", trialCredits: .zero, firstKey: newKey().key)
            let (b, _) = try await store.createTenant(name: "B", trialCredits: .zero, firstKey: newKey().key)
            _ = try await store.createAPIKey(b.id, newKey("second of B").key)

            let seen = try await database.withTenant(a.id) { connection in
                let keys = try await connection.query("SELECT tenant_id::text FROM api_keys", logger: logger).strings()
                let tenants = try await connection.query("SELECT id::text FROM tenants", logger: logger).strings()
                return (keys, tenants)
            }
            #expect(seen.0 == [a.id.description])
            #expect(seen.1 == [a.id.description])
        }
    }

    @Test("with no tenant set, the app role sees no tenant rows at all")
    func noScopeSeesNothing() async throws {
        try await withAppDatabase { database in
            let store = PostgresTenantStore(database: database)
            _ = try await store.createTenant(name: "Invisible", trialCredits: .zero, firstKey: newKey().key)
            let counts = try await database.withoutScope { connection in
                var counts: [Int] = []
                for table in ["tenants", "api_keys"] {
                    for try await count in try await connection.query(
                        PostgresQuery(unsafeSQL: "SELECT count(*)::int FROM \(table)"), logger: logger
                    ).decode(Int.self) { counts.append(count) }
                }
                return counts
            }
            #expect(counts == [0, 0])
        }
    }

    @Test("a write for another tenant is refused by the policy's check")
    func crossTenantWriteRefused() async throws {
        try await withAppDatabase { database in
            let store = PostgresTenantStore(database: database)
            let (a, _) = try await store.createTenant(name: "A", trialCredits: .zero, firstKey: newKey().key)
            let (b, _) = try await store.createTenant(name: "B", trialCredits: .zero, firstKey: newKey().key)
            let key = newKey().key
            await #expect(throws: (any Error).self) {
                try await database.withTenant(a.id) { connection in
                    try await connection.query(
                        """
                        INSERT INTO api_keys (tenant_id, id, name, prefix, key_hash)
                        VALUES (\(b.id.uuid), \(UUID()), 'smuggled', 'sb_live_x', \(Data(key.hash)))
                        """,
                        logger: logger
                    )
                }
            }
            let updated = try await database.withTenant(a.id) { connection in
                var count = 0
                for try await value in try await connection.query(
                    "WITH changed AS (UPDATE api_keys SET name = 'hijacked' WHERE tenant_id = \(b.id.uuid) RETURNING 1) SELECT count(*)::int FROM changed",
                    logger: logger
                ).decode(Int.self) { count = value }
                return count
            }
            #expect(updated == 0)
        }
    }

    @Test("the app role is not owner, not superuser, cannot bypass RLS, and owns nothing")
    func appRoleHasNoPower() async throws {
        let owner = try await TestDatabase.shared.sharedDatabase()
        let attributes = try await PostgresAdministration.withConnection(owner, logger: logger) { connection in
            var result: (Bool, Bool, Bool, Int) = (true, true, true, -1)
            for try await row in try await connection.query(
                """
                SELECT r.rolsuper, r.rolbypassrls, r.rolcreaterole,
                       (SELECT count(*)::int FROM pg_class c WHERE c.relowner = r.oid)
                FROM pg_roles r WHERE r.rolname = \(Migrator.appRole)
                """,
                logger: logger
            ).decode((Bool, Bool, Bool, Int).self) { result = row }
            return result
        }
        #expect(attributes.0 == false, "superuser")
        #expect(attributes.1 == false, "bypassrls")
        #expect(attributes.2 == false, "createrole")
        #expect(attributes.3 == 0, "owns relations")
    }

    @Test("every table with a tenant_id (and tenants itself) has RLS enabled and forced")
    func everyTenantTableHasForcedRLS() async throws {
        let owner = try await TestDatabase.shared.sharedDatabase()
        let unprotected = try await PostgresAdministration.withConnection(owner, logger: logger) { connection in
            try await connection.query(
                """
                SELECT c.relname::text FROM pg_class c
                JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
                WHERE c.relkind IN ('r', 'p')
                  AND (c.relname = 'tenants' OR EXISTS (
                      SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped))
                  AND NOT (c.relrowsecurity AND c.relforcerowsecurity
                           AND EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid))
                """,
                logger: logger
            ).strings()
        }
        #expect(unprotected.isEmpty, "tables without forced RLS: \(unprotected)")
        let protectedCount = try await PostgresAdministration.withConnection(owner, logger: logger) { connection in
            var count = 0
            for try await value in try await connection.query(
                "SELECT count(*)::int FROM pg_class WHERE relrowsecurity AND relforcerowsecurity AND relnamespace = 'public'::regnamespace",
                logger: logger
            ).decode(Int.self) { count = value }
            return count
        }
        #expect(protectedCount >= 2)
    }

    @Test("every tenant-owned table's primary key starts with tenant_id")
    func primaryKeysStartWithTenant() async throws {
        let owner = try await TestDatabase.shared.sharedDatabase()
        let offenders = try await PostgresAdministration.withConnection(owner, logger: logger) { connection in
            try await connection.query(
                """
                SELECT c.relname::text FROM pg_class c
                JOIN pg_constraint k ON k.conrelid = c.oid AND k.contype = 'p'
                JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.conkey[1]
                WHERE c.relnamespace = 'public'::regnamespace
                  AND EXISTS (SELECT 1 FROM pg_attribute t WHERE t.attrelid = c.oid AND t.attname = 'tenant_id')
                  AND a.attname <> 'tenant_id'
                  -- Global lookups (an address → its tenant) are the one exception, by name.
                  AND c.relname NOT LIKE '%\\_directory'
                """,
                logger: logger
            ).strings()
        }
        #expect(offenders.isEmpty, "tables whose key does not start with tenant_id: \(offenders)")
    }

    @Test("every table of the schema is declared in the data inventory (category, role, purpose, legal basis, retention)")
    func everyTableDeclared() async throws {
        let owner = try await TestDatabase.shared.sharedDatabase()
        let tables = try await PostgresAdministration.withConnection(owner, logger: logger) { connection in
            try await connection.query(
                "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
                logger: logger
            ).strings()
        }
        #expect(tables.count > 30)
        let undeclared = Set(tables).subtracting(DataInventory.tables.keys)
        #expect(undeclared.isEmpty, "tables without a declaration in DataInventory: \(undeclared.sorted())")
        let gone = Set(DataInventory.tables.keys).subtracting(tables)
        #expect(gone.isEmpty, "declared tables that do not exist: \(gone.sorted())")
        // Tables with a tenant's customers' data are the tenant's to control: processor.
        for table in ["contacts", "messages", "notes", "consents"] {
            #expect(DataInventory.tables[table]?.role == .processor)
            #expect(DataInventory.tables[table]?.personal == true)
        }
    }
}
