public import Foundation

/// One file of `Functions/`: the current definitions of the SQL functions of one area
/// (`credits.sql`, `jobs_and_replies.sql`, …), each `CREATE OR REPLACE FUNCTION` with its
/// grants.
///
/// A function's body lives in exactly one of these files, so a reader finds the code that
/// runs in one place and a change to a function is a diff of its file. The migrator applies
/// them after the migrations: every file whenever a migration was applied in the same run
/// (a migration may have replaced or dropped something), otherwise each file whose SHA-256
/// differs from the one recorded in `schema_functions`. Migrations keep schema changes; a
/// signature change is both: the migration drops the old signature, the file defines the new.
public struct SQLFunctionFile: Sendable, Hashable {
    /// The file name: `credits.sql`.
    public var name: String
    public var sql: String

    public init(name: String, sql: String) {
        self.name = name
        self.sql = sql
    }

    /// Hex SHA-256 of the file's bytes.
    public var checksum: String { Migration.sha256Hex(sql) }

    /// The function files shipped in this build, by name.
    public static func bundled() throws -> [SQLFunctionFile] {
        guard let folder = Bundle.module.url(forResource: "Functions", withExtension: nil) else {
            throw DatabaseError(.migrationFailed, "the SQL functions folder is missing from this build")
        }
        return try load(from: folder)
    }

    /// Reads the `.sql` files of a folder, in name order (the order they are applied in).
    public static func load(from folder: URL) throws -> [SQLFunctionFile] {
        try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".sql") }.sorted().map {
            SQLFunctionFile(name: $0, sql: try String(contentsOf: folder.appendingPathComponent($0), encoding: .utf8))
        }
    }
}
