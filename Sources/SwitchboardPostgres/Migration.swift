public import Foundation
import Crypto

/// One numbered SQL file of the schema: `0001_create_tenants.sql` is version 1.
///
/// Landed migrations are never edited: the migrator records each one's SHA-256 and refuses
/// to start when an applied file has changed.
public struct Migration: Sendable, Hashable {
    public var version: Int
    public var name: String
    public var sql: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }

    /// The file name: `0001_create_tenants.sql`.
    public var fileName: String { String(format: "%04d_%@.sql", version, name) }

    /// Hex SHA-256 of the file's bytes.
    public var checksum: String { Self.sha256Hex(sql) }

    /// Hex SHA-256 of a file's text, as recorded for migrations and function files.
    static func sha256Hex(_ text: String) -> String {
        SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// The migrations shipped in this build, in order.
    public static func bundled() throws -> [Migration] {
        guard let folder = Bundle.module.url(forResource: "Migrations", withExtension: nil) else {
            throw DatabaseError(.migrationFailed, "the migrations folder is missing from this build")
        }
        return try load(from: folder)
    }

    /// Reads `NNNN_name.sql` files from a folder, in version order; refuses gaps and repeats.
    public static func load(from folder: URL) throws -> [Migration] {
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".sql") }
        var migrations: [Migration] = []
        for fileName in names {
            let stem = fileName.dropLast(4)
            guard let underscore = stem.firstIndex(of: "_"), let version = Int(stem[..<underscore]) else {
                throw DatabaseError(.migrationFailed, "migration file \(fileName) is not named NNNN_name.sql")
            }
            let sql = try String(contentsOf: folder.appendingPathComponent(fileName), encoding: .utf8)
            migrations.append(Migration(version: version, name: String(stem[stem.index(after: underscore)...]), sql: sql))
        }
        migrations.sort { $0.version < $1.version }
        for (index, migration) in migrations.enumerated() where migration.version != index + 1 {
            throw DatabaseError(.migrationFailed, "migrations must be numbered 1, 2, 3… without gaps; found \(migration.fileName)")
        }
        return migrations
    }
}
