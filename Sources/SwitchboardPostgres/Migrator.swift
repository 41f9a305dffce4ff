import Crypto
import Foundation
public import Logging
import PostgresNIO

/// Applies the numbered migrations, as the database owner, under a transaction-scoped
/// advisory lock, so two replicas (or two test processes) starting together take turns
/// and both come up.
///
/// Before the migrations it makes sure the app role exists and can log in: the role that
/// serves requests, owns nothing, is not superuser and cannot bypass row-level security.
///
/// The migrations themselves run as ``ownerRole``, not as the login: the login is often a
/// superuser (the embedded cluster's bootstrap user, `POSTGRES_USER` of the compose file),
/// and the owner of a `SECURITY DEFINER` function is who that function runs as. Owned by a
/// superuser, every such function ran with row-level security off. The owner role is neither
/// superuser nor BYPASSRLS, so the tables' policies hold inside the functions too; the few
/// functions that work across tenants (sweeps, rollups) say so with `app.cross_tenant`
/// (see the owner_role_under_rls migration). A login that may not create roles and is no superuser is already
/// such a role, and runs the migrations itself.
public struct Migrator: Sendable {
    /// The login that serves requests. Migrations grant it what it needs, table by table.
    public static let appRole = "switchboard_app"
    /// The longest a statement of the app role may run.
    public static let appStatementTimeout = "30s"
    /// The role that owns the schema and runs the migrations: no login, not superuser, no
    /// BYPASSRLS.
    public static let ownerRole = "switchboard_owner"
    /// Key of the advisory lock that serializes migrators on one database.
    static let lockKey: Int64 = 7_283_001_100

    public var owner: DatabaseConfiguration
    public var migrations: [Migration]
    /// The SQL functions' current definitions, applied after the migrations.
    public var functions: [SQLFunctionFile]
    /// The password the app role is given; derived from the master key by the caller.
    public var appRolePassword: String
    public var logger: Logger

    public init(
        owner: DatabaseConfiguration, migrations: [Migration], functions: [SQLFunctionFile], appRolePassword: String, logger: Logger
    ) {
        self.owner = owner
        self.migrations = migrations
        self.functions = functions
        self.appRolePassword = appRolePassword
        self.logger = logger
    }

    /// The app role's password: HMAC-SHA256 of a fixed purpose under the master key, so
    /// every replica with the same key derives the same password and none is stored.
    public static func appRolePassword(masterKey: [UInt8]) -> String {
        HMAC<SHA256>.authenticationCode(for: Array("switchboard.postgres.app-role".utf8), using: SymmetricKey(data: masterKey))
            .map { String(format: "%02x", $0) }.joined()
    }

    /// The app role's login on the same server and database.
    public var appConfiguration: DatabaseConfiguration {
        owner.with(username: Self.appRole, password: appRolePassword)
    }

    /// Brings the schema up to date; answers the migrations applied by this call.
    @discardableResult
    public func migrate() async throws -> [Migration] {
        // Roles belong to the whole cluster, outside the per-database advisory lock: a
        // migrator of another database on the same server may update the app role at the
        // same moment ("tuple concurrently updated"). That is worth a second try.
        var attempt = 0
        while true {
            do {
                return try await migrateOnce()
            } catch let error as DatabaseError where attempt < 8 && PostgresErrorText.sqlState(error.underlying ?? error) == "XX000" {
                attempt += 1
                try await Task.sleep(for: .milliseconds(Int.random(in: 20...100) * attempt))
            }
        }
    }

    private func migrateOnce() async throws -> [Migration] {
        let migrations = self.migrations
        let functions = self.functions
        let password = self.appRolePassword
        let logger = self.logger
        return try await PostgresAdministration.withConnection(owner, logger: logger) { connection in
            do {
                return try await connection.withTransaction(logger: logger) { connection in
                    try await connection.query("SELECT pg_advisory_xact_lock(\(Self.lockKey))", logger: logger)
                    try await connection.query(
                        """
                        CREATE TABLE IF NOT EXISTS schema_migrations (
                            version integer PRIMARY KEY,
                            name text NOT NULL,
                            checksum text NOT NULL,
                            applied_at timestamptz NOT NULL DEFAULT now()
                        )
                        """,
                        logger: logger
                    )
                    try await Self.ensureAppRole(connection, password: password, logger: logger)
                    if try await Self.ensureOwnerRole(connection, logger: logger) {
                        try await Self.handOverToOwnerRole(connection, logger: logger)
                        try await connection.query(PostgresQuery(unsafeSQL: "SET LOCAL ROLE \(Self.ownerRole)"), logger: logger)
                    }
                    // Data migrations read and write every tenant's rows: the owner's policy
                    // for that is on for this transaction only.
                    try await connection.query("SELECT set_config('app.cross_tenant', 'on', true)", logger: logger)

                    var applied: [Int: (name: String, checksum: String)] = [:]
                    let rows = try await connection.query("SELECT version, name, checksum FROM schema_migrations", logger: logger)
                    for try await (version, name, checksum) in rows.decode((Int, String, String).self) {
                        applied[version] = (name, checksum)
                    }
                    try Self.check(applied: applied, against: migrations)

                    var appliedNow: [Migration] = []
                    for migration in migrations where applied[migration.version] == nil {
                        do {
                            for statement in SQLScript.statements(migration.sql) {
                                try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                            }
                        } catch {
                            throw DatabaseError(
                                .migrationFailed,
                                "migration \(migration.fileName) failed: \(PostgresErrorText.describe(error))",
                                underlying: error
                            )
                        }
                        try await connection.query(
                            """
                            INSERT INTO schema_migrations (version, name, checksum)
                            VALUES (\(migration.version), \(migration.name), \(migration.checksum))
                            """,
                            logger: logger
                        )
                        logger.info("applied migration", metadata: ["migration": "\(migration.fileName)"])
                        appliedNow.append(migration)
                    }
                    try await Self.applyFunctions(functions, all: !appliedNow.isEmpty, connection, logger: logger)
                    return appliedNow
                }
            } catch let error as PostgresTransactionError {
                if let inner = error.closureError as? DatabaseError { throw inner }
                throw DatabaseError(.migrationFailed, "migrations failed: \(PostgresErrorText.describe(error))", underlying: error)
            }
        }
    }

    /// Applies the function files (`SQLFunctionFile`): all of them when `all` (a migration
    /// ran, and may have replaced a function with an older body or dropped one), else those
    /// whose checksum is not the one recorded. Bodies are checked when called, not when
    /// created, so one file may call a function of a file applied after it.
    static func applyFunctions(_ files: [SQLFunctionFile], all: Bool, _ connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            """
            CREATE TABLE IF NOT EXISTS schema_functions (
                file text PRIMARY KEY,
                checksum text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            logger: logger
        )
        var recorded: [String: String] = [:]
        for try await (file, checksum) in try await connection.query("SELECT file, checksum FROM schema_functions", logger: logger)
            .decode((String, String).self)
        {
            recorded[file] = checksum
        }
        let due = files.filter { all || recorded[$0.name] != $0.checksum }
        guard !due.isEmpty else { return }
        try await connection.query("SET LOCAL check_function_bodies = off", logger: logger)
        for file in due {
            do {
                for statement in SQLScript.statements(file.sql) {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
            } catch {
                throw DatabaseError(
                    .migrationFailed, "SQL functions file \(file.name) failed: \(PostgresErrorText.describe(error))", underlying: error
                )
            }
            try await connection.query(
                """
                INSERT INTO schema_functions (file, checksum) VALUES (\(file.name), \(file.checksum))
                ON CONFLICT (file) DO UPDATE SET checksum = EXCLUDED.checksum, applied_at = now()
                """,
                logger: logger
            )
            logger.info("applied SQL functions", metadata: ["file": "\(file.name)"])
        }
    }

    /// Refuses an applied migration whose file changed, and a database newer than this build.
    static func check(applied: [Int: (name: String, checksum: String)], against migrations: [Migration]) throws {
        let known = Dictionary(uniqueKeysWithValues: migrations.map { ($0.version, $0) })
        for (version, record) in applied.sorted(by: { $0.key < $1.key }) {
            guard let migration = known[version] else {
                throw DatabaseError(
                    .migrationFailed,
                    "the database has migration \(version) (\(record.name)), which this build does not know: "
                        + "it was migrated by a newer Switchboard"
                )
            }
            guard migration.checksum == record.checksum else {
                throw DatabaseError(
                    .migrationChanged,
                    "migration \(migration.fileName) was changed after it was applied (its checksum differs from the "
                        + "one recorded). Landed migrations are never edited: restore the file and add a new migration."
                )
            }
        }
    }

    /// Creates the app role when missing and sets its password. Roles belong to the whole
    /// cluster, so a concurrent creator elsewhere is tolerated; the password is set only
    /// when it changed (the role's comment keeps a SHA-256 of it), so replicas starting
    /// together rarely write the shared role at all.
    static func ensureAppRole(_ connection: PostgresConnection, password: String, logger: Logger) async throws {
        let role = PostgresAdministration.quoteIdentifier(appRole)
        let literal = PostgresAdministration.quoteLiteral(appRole)
        let marker = "password sha256:" + SHA256.hash(data: Data(password.utf8)).map { String(format: "%02x", $0) }.joined()
        try await connection.query(PostgresQuery(unsafeSQL: createRole(appRole, login: true)), logger: logger)
        var current: String?
        for try await comment in try await connection.query(
            "SELECT shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname = \(appRole)", logger: logger
        ).decode(String?.self) {
            current = comment
        }
        if current != marker {
            let script = """
                ALTER ROLE \(role) WITH LOGIN PASSWORD \(PostgresAdministration.quoteLiteral(password));
                COMMENT ON ROLE \(role) IS \(PostgresAdministration.quoteLiteral(marker))
                """
            for statement in SQLScript.statements(script) {
                try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
            }
        }
        // No statement of the app role runs for more than `appStatementTimeout`: one slow
        // query (a tenant's analytics over years, a runaway plan) holds a pooled connection
        // and its locks while every other tenant waits. The message path's statements take
        // milliseconds, the analytics refresh works a day at a time, exports and erasures a
        // contact at a time. Set here, by the login, not in a migration: the migrations run
        // as the owner role, which may not alter roles. It applies from the next login.
        let timeout = PostgresAdministration.quoteLiteral("statement_timeout=\(Self.appStatementTimeout)")
        let setTimeout = """
            DO $$
            BEGIN
                IF NOT EXISTS (SELECT FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole
                               WHERE r.rolname = \(literal) AND s.setdatabase = 0 AND \(timeout) = ANY(s.setconfig)) THEN
                    ALTER ROLE \(role) SET statement_timeout = \(PostgresAdministration.quoteLiteral(Self.appStatementTimeout));
                END IF;
            END $$
            """
        try await connection.query(PostgresQuery(unsafeSQL: setTimeout), logger: logger)
        let grants = """
            DO $$ BEGIN EXECUTE format('GRANT CONNECT ON DATABASE %I TO \(appRole)', current_database()); END $$;
            GRANT USAGE ON SCHEMA public TO \(role);
            GRANT SELECT ON schema_migrations TO \(role)
            """
        for statement in SQLScript.statements(grants) {
            try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
        }
    }

    /// Makes sure the owner role exists and the login may act as it; answers `false` when the
    /// login can do neither and is itself no superuser (then it runs the migrations itself).
    static func ensureOwnerRole(_ connection: PostgresConnection, logger: Logger) async throws -> Bool {
        var facts: (superuser: Bool, createRole: Bool, exists: Bool, member: Bool) = (false, false, false, false)
        let rows = try await connection.query(
            """
            SELECT r.rolsuper OR r.rolbypassrls, r.rolcreaterole,
                   EXISTS (SELECT FROM pg_roles WHERE rolname = \(ownerRole)),
                   EXISTS (SELECT FROM pg_roles o WHERE o.rolname = \(ownerRole) AND pg_has_role(current_user, o.oid, 'MEMBER'))
            FROM pg_roles r WHERE r.rolname = current_user
            """,
            logger: logger
        )
        for try await row in rows.decode((Bool, Bool, Bool, Bool).self) { facts = row }
        guard facts.superuser || facts.createRole || facts.member else {
            logger.notice("the database login may not create roles: it runs the migrations itself")
            return false
        }
        let role = PostgresAdministration.quoteIdentifier(ownerRole)
        let literal = PostgresAdministration.quoteLiteral(ownerRole)
        let script = """
            \(createRole(ownerRole, login: false));
            DO $$
            BEGIN
                IF NOT pg_has_role(current_user, \(literal), 'MEMBER') THEN
                    EXECUTE format('GRANT %I TO %I', \(literal), current_user);
                END IF;
            END $$;
            DO $$ BEGIN EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO \(ownerRole)', current_database()); END $$;
            DO $$
            BEGIN
                -- Functions name this setting in their definitions; PostgreSQL 15 asks for the
                -- privilege to do that with a custom setting. Only a superuser may grant it.
                IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
                   AND NOT has_parameter_privilege(\(literal), 'app.cross_tenant', 'SET') THEN
                    GRANT SET ON PARAMETER app.cross_tenant TO \(role);
                END IF;
            END $$;
            GRANT USAGE, CREATE ON SCHEMA public TO \(role)
            """
        for statement in SQLScript.statements(script) {
            try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
        }
        return true
    }

    /// Gives the owner role what earlier builds created as the login: the tables, views,
    /// sequences and functions of the schema, and the app role's default grants on what the
    /// owner creates from now on. Nothing to do on a database migrated by this build.
    static func handOverToOwnerRole(_ connection: PostgresConnection, logger: Logger) async throws {
        let script = """
            DO $$
            DECLARE
                item record;
            BEGIN
                FOR item IN
                    SELECT c.oid::regclass AS name,
                           CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END AS kind
                    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
                      AND c.relowner <> '\(ownerRole)'::regrole
                      -- a sequence that belongs to a column moves with its table
                      AND NOT (c.relkind = 'S' AND EXISTS (
                          SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('a', 'i')))
                LOOP
                    EXECUTE format('ALTER %s %s OWNER TO \(ownerRole)', item.kind, item.name);
                END LOOP;
                FOR item IN
                    SELECT p.oid::regprocedure AS name, CASE p.prokind WHEN 'p' THEN 'PROCEDURE' WHEN 'a' THEN 'AGGREGATE' ELSE 'FUNCTION' END AS kind
                    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                    WHERE n.nspname = 'public' AND p.proowner <> '\(ownerRole)'::regrole
                LOOP
                    EXECUTE format('ALTER %s %s OWNER TO \(ownerRole)', item.kind, item.name);
                END LOOP;
            END $$;
            ALTER DEFAULT PRIVILEGES FOR ROLE \(ownerRole) IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO \(appRole);
            ALTER DEFAULT PRIVILEGES FOR ROLE \(ownerRole) IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO \(appRole)
            """
        for statement in SQLScript.statements(script) {
            try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
        }
    }

    /// A statement that creates `name` (no superuser, no BYPASSRLS, no CREATEDB or
    /// CREATEROLE) when it is missing. Roles belong to the whole cluster, so a concurrent
    /// creator elsewhere (another database's migrator) is tolerated.
    static func createRole(_ name: String, login: Bool) -> String {
        """
        DO $$
        BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = \(PostgresAdministration.quoteLiteral(name))) THEN
                CREATE ROLE \(PostgresAdministration.quoteIdentifier(name)) \(login ? "LOGIN" : "NOLOGIN") NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
            END IF;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END $$
        """
    }
}
