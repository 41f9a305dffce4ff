import Foundation
import Logging
import PostgresNIO
import SwitchboardPostgres
import SwitchboardTestSupport
import Testing

@Suite("SQL functions kept as source: one file per area, applied after the migrations")
struct SQLFunctionFilesTests {
    let logger = TestDatabase.logger

    @Test("every function of the schema is defined in exactly one Functions file, with the body that runs, verbatim")
    func everyFunctionHasOneHome() async throws {
        let owner = try await TestDatabase.shared.migratedDatabase(prefix: "functions")
        let files = try SQLFunctionFile.bundled()
        #expect(!files.isEmpty)
        let functions = try await PostgresAdministration.withConnection(owner, logger: logger) { connection in
            var found: [(name: String, body: String)] = []
            let rows = try await connection.query(
                """
                SELECT p.proname::text, p.prosrc FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                -- Functions; an aggregate (CREATE AGGREGATE, no body) is schema, kept in its migration.
                WHERE n.nspname = 'public' AND p.prokind = 'f'
                  AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
                ORDER BY 1
                """,
                logger: logger
            )
            for try await row in rows.decode((String, String).self) { found.append(row) }
            return found
        }
        #expect(functions.count > 40, "the schema's functions: \(functions.count)")
        for function in functions {
            let pattern = try Regex("FUNCTION\\s+(public\\.)?\(function.name)\\s*\\(").ignoresCase()
            let homes = files.filter { $0.sql.contains(pattern) }.map(\.name)
            #expect(homes.count == 1, "\(function.name) is defined in \(homes.isEmpty ? "no file" : homes.joined(separator: ", "))")
            #expect(
                files.contains { $0.sql.contains(function.body) },
                "the body of \(function.name) that runs is not in the Functions files: a migration replaced it after them?"
            )
        }
    }

    @Test("a changed file is applied at the next start, an unchanged one is not, and a file that fails stops start-up naming it")
    func changedFilesAreApplied() async throws {
        let owner = try await TestDatabase.shared.freshDatabase(prefix: "functions")
        try await TestDatabase.migrator(owner).migrate()
        func recorded() async throws -> [String: String] {
            try await PostgresAdministration.withConnection(owner, logger: logger) { connection in
                var rows: [String: String] = [:]
                for try await (file, stamp) in try await connection.query(
                    "SELECT file, checksum || '@' || applied_at::text FROM schema_functions", logger: logger
                ).decode((String, String).self) {
                    rows[file] = stamp
                }
                return rows
            }
        }
        let bundled = try SQLFunctionFile.bundled()
        let first = try await recorded()
        #expect(Set(first.keys) == Set(bundled.map(\.name)))

        // A second start with nothing changed applies nothing.
        try await TestDatabase.migrator(owner).migrate()
        #expect(try await recorded() == first)

        // One file gains a function: that file alone is applied, and the function exists.
        var edited = bundled
        edited[0].sql += "\nCREATE OR REPLACE FUNCTION public.function_files_probe() RETURNS integer LANGUAGE sql AS $$ SELECT 42 $$;\n"
        try await TestDatabase.migrator(owner, functions: edited).migrate()
        let after = try await recorded()
        #expect(after[edited[0].name] != first[edited[0].name])
        for file in bundled.dropFirst() { #expect(after[file.name] == first[file.name], "\(file.name) was applied again") }
        let answer = try await PostgresAdministration.withConnection(owner, logger: logger) { connection in
            var value = 0
            for try await (found,) in try await connection.query("SELECT public.function_files_probe()", logger: logger).decode((Int32,).self) {
                value = Int(found)
            }
            return value
        }
        #expect(answer == 42)

        // A file that does not apply stops start-up with its name, and records nothing.
        var broken = bundled
        broken[1].sql += "\nCREATE OR REPLACE FUNCTION public.function_files_broken( RETURNS integer;\n"
        let error = await #expect(throws: DatabaseError.self) {
            try await TestDatabase.migrator(owner, functions: broken).migrate()
        }
        #expect(error?.code == .migrationFailed)
        #expect(error?.message.contains(broken[1].name) == true, "\(error?.message ?? "")")
        #expect(try await recorded()[broken[1].name] == after[broken[1].name])
    }
}
