import Foundation
import Logging
import PostgresNIO
import SwitchboardCore
import SwitchboardPostgres
import SwitchboardTestSupport

/// Runs `body` with a running pool of the app role on the shared test database.
func withAppDatabase<Result: Sendable>(
    ownDatabase: Bool = false, connections: Int = 4, _ body: @Sendable (Database) async throws -> Result
) async throws -> Result {
    try await withAppDatabase(ownDatabase: ownDatabase, connections: connections) { database, _ in try await body(database) }
}

/// The same, with the owner's configuration too (for what only the migrating role may try).
func withAppDatabase<Result: Sendable>(
    ownDatabase: Bool = false, connections: Int = 4, _ body: @Sendable (Database, DatabaseConfiguration) async throws -> Result
) async throws -> Result {
    let owner = ownDatabase ? try await TestDatabase.shared.migratedDatabase() : try await TestDatabase.shared.sharedDatabase()
    let database = Database(
        configuration: owner.with(username: Migrator.appRole, password: TestDatabase.appRolePassword),
        maximumConnections: connections, acquireTimeout: .seconds(30), logger: TestDatabase.logger
    )
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { await database.client.run() }
        defer { group.cancelAll() }
        return try await body(database, owner)
    }
}

/// A new key with a random secret, as the API would mint it.
func newKey(_ name: String = "test") -> (secret: String, key: NewAPIKey) {
    let secret = "sb_live_" + UUID().uuidString.replacingOccurrences(of: "-", with: "") + "0123456789a"
    var hash = [UInt8](repeating: 0, count: 32)
    for (index, byte) in secret.utf8.enumerated() { hash[index % 32] = hash[index % 32] &+ byte &* UInt8(truncatingIfNeeded: index + 1) }
    return (secret, NewAPIKey(name: name, prefix: String(secret.prefix(12)), hash: hash))
}

extension PostgresRowSequence {
    /// Every row's first column as a string.
    func strings() async throws -> [String] {
        var values: [String] = []
        for try await value in decode(String.self) { values.append(value) }
        return values
    }
}
