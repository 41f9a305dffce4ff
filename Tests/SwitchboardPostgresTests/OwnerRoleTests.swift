import Foundation
import Logging
import PostgresNIO
import SwitchboardCore
import SwitchboardPostgres
import SwitchboardTestSupport
import Testing

@Suite("The schema's owner is no superuser: row-level security holds inside SECURITY DEFINER functions")
struct OwnerRoleTests {
    let logger = TestDatabase.logger

    @Test("every table, view and function of the schema belongs to the owner role, which is neither superuser nor BYPASSRLS")
    func ownerIsNoSuperuser() async throws {
        try await withAppDatabase { _, owner in
            try await PostgresAdministration.withConnection(owner, logger: logger) { connection in
                let role = try await connection.query(
                    "SELECT rolsuper::text || ',' || rolbypassrls::text || ',' || rolcanlogin::text FROM pg_roles WHERE rolname = \(Migrator.ownerRole)",
                    logger: logger
                ).strings()
                #expect(role == ["false,false,false"])
                #expect(try await notOwnedByTheOwnerRole(connection) == [])
            }
        }
    }

    @Test("every SECURITY DEFINER function says whether it crosses tenants, and every table under RLS has the owner's policy")
    func everyDefinerFunctionNamesItsScope() async throws {
        try await withAppDatabase { _, owner in
            try await PostgresAdministration.withConnection(owner, logger: logger) { connection in
                // CREATE OR REPLACE drops a function's settings: a migration that forgets to
                // name the setting again shows up here.
                let unnamed = try await connection.query(
                    """
                    SELECT p.proname::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                    WHERE n.nspname = 'public' AND p.prosecdef
                      AND NOT (COALESCE(p.proconfig, '{}') && ARRAY['app.cross_tenant=on', 'app.cross_tenant=off'])
                    """,
                    logger: logger
                ).strings()
                #expect(unnamed == [])
                let crossing = try await connection.query(
                    """
                    SELECT p.proname::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                    WHERE n.nspname = 'public' AND p.prosecdef AND p.proconfig @> ARRAY['app.cross_tenant=on'] ORDER BY 1
                    """,
                    logger: logger
                ).strings()
                #expect(crossing.contains("retention_sweep"))
                #expect(!crossing.contains("erase_contact") && !crossing.contains("credit_apply"))
                let unguarded = try await connection.query(
                    """
                    SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                    WHERE n.nspname = 'public' AND c.relrowsecurity
                      AND NOT EXISTS (SELECT FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = 'definer_cross_tenant')
                    """,
                    logger: logger
                ).strings()
                #expect(unguarded == [])
            }
        }
    }

    @Test("a SECURITY DEFINER function that forgets its WHERE sees only the calling tenant's rows")
    func definerFunctionIsUnderRLS() async throws {
        try await withAppDatabase(ownDatabase: true) { database, owner in
            let store = PostgresTenantStore(database: database)
            let (a, _) = try await store.createTenant(name: "A", trialCredits: .zero, firstKey: newKey().key)
            _ = try await store.createTenant(name: "B", trialCredits: .zero, firstKey: newKey().key)
            // A careless function, created the way migrations create theirs: as the owner role,
            // naming its scope. Owned by a superuser, it would count every tenant.
            try await PostgresAdministration.withConnection(owner, logger: logger) { connection in
                try await connection.withTransaction(logger: logger) { connection in
                    try await connection.query(PostgresQuery(unsafeSQL: "SET LOCAL ROLE \(Migrator.ownerRole)"), logger: logger)
                    try await connection.query(
                        """
                        CREATE FUNCTION careless_tenant_count() RETURNS integer LANGUAGE sql SECURITY DEFINER
                        SET search_path = public, pg_temp SET app.cross_tenant = off AS $$ SELECT count(*)::integer FROM tenants $$
                        """,
                        logger: logger
                    )
                    try await connection.query("GRANT EXECUTE ON FUNCTION careless_tenant_count() TO switchboard_app", logger: logger)
                }
            }
            let seenByA = try await database.withTenant(a.id) { connection in
                try await connection.integer("SELECT careless_tenant_count()", logger: logger)
            }
            #expect(seenByA == 1)
            // The app role cannot turn the owner's cross-tenant policy on for a function that says off.
            let forced = try await database.withTenant(a.id) { connection in
                try await connection.perform("SELECT set_config('app.cross_tenant', 'on', true)", logger: logger)
                return try await connection.integer("SELECT careless_tenant_count()", logger: logger)
            }
            #expect(forced == 1)
            let unscoped = try await database.withoutScope { connection in
                try await connection.integer("SELECT careless_tenant_count()", logger: logger)
            }
            #expect(unscoped == 0)
        }
    }

    @Test("a database an earlier build migrated as a superuser is handed to the owner role, data and all")
    func earlierDatabaseIsHandedOver() async throws {
        let owner = try await TestDatabase.shared.freshDatabase(prefix: "handover")
        let all = try Migration.bundled()
        let earlier = all.filter { $0.version <= 10 }
        // What the earlier build did: the ten first migrations run as the login itself.
        let app = Migrator.appRole
        try await PostgresAdministration.withConnection(owner, logger: logger) { connection in
            try await connection.withTransaction(logger: logger) { connection in
                try await connection.query(
                    "CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
                    logger: logger
                )
                try await connection.query(
                    PostgresQuery(unsafeSQL: "DO $$ BEGIN CREATE ROLE \(app) LOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"),
                    logger: logger
                )
                for migration in earlier {
                    for statement in SQLScript.statements(migration.sql) {
                        try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                    try await connection.query(
                        "INSERT INTO schema_migrations (version, name, checksum) VALUES (\(migration.version), \(migration.name), \(migration.checksum))",
                        logger: logger
                    )
                }
                try await connection.query("INSERT INTO tenants (id, name) VALUES (gen_random_uuid(), 'from before')", logger: logger)
            }
        }
        let applied = try await TestDatabase.migrator(owner, migrations: all).migrate()
        #expect(applied.map(\.version) == Array(11...all.count))
        try await PostgresAdministration.withConnection(owner, logger: logger) { connection in
            #expect(try await notOwnedByTheOwnerRole(connection) == [])
            let kept = try await connection.query("SELECT name FROM tenants", logger: logger).strings()
            #expect(kept == ["from before"])
        }
        // And a second start finds nothing to do.
        #expect(try await TestDatabase.migrator(owner, migrations: all).migrate().isEmpty)
    }

    /// The tables, views and functions of the schema that some other role owns.
    func notOwnedByTheOwnerRole(_ connection: PostgresConnection) async throws -> [String] {
        try await connection.query(
            """
            SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm') AND c.relowner <> \(Migrator.ownerRole)::regrole
            UNION ALL
            SELECT p.proname::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname = 'public' AND p.proowner <> \(Migrator.ownerRole)::regrole
            """,
            logger: logger
        ).strings()
    }
}
