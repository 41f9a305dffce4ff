public import Foundation
import Logging
import PostgresNIO
public import SwitchboardCore

/// Whose Idempotency-Keys: a tenant's (its API keys share them) or the operator's.
public enum IdempotencyScope: Sendable, Hashable {
    case tenant(TenantID)
    case `operator`

    var uuid: UUID {
        switch self {
        case .tenant(let id): id.uuid
        case .operator: UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))
        }
    }
}

/// What a claimed Idempotency-Key says to do with a call.
public enum IdempotencyClaim: Sendable, Equatable {
    /// The key is new: run the call, then `complete` or `release` it.
    case new
    /// The first call's answer.
    case replay(status: Int, contentType: String?, body: [UInt8])
    /// The key was used with a different request.
    case mismatch
    /// The first call with the key is still running.
    case inProgress
    /// The first call succeeded, but its answer held a secret shown once.
    case notReplayable
}

/// Idempotency-Keys in PostgreSQL (migration 0004), each in its scope's row-level security.
public struct PostgresIdempotencyStore: Sendable {
    let database: Database

    public init(database: Database) {
        self.database = database
    }

    func scoped<Result: Sendable>(
        _ scope: IdempotencyScope, _ body: @escaping @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        switch scope {
        case .tenant(let tenant): try await database.withTenant(tenant, body)
        case .operator: try await database.withOperator(body)
        }
    }

    public func claim(_ scope: IdempotencyScope, key: String, requestHash: [UInt8], now: Date) async throws -> IdempotencyClaim {
        let logger = database.logger
        let hash = Data(requestHash)
        return try await scoped(scope) { connection in
            let rows = try await connection.query(
                "SELECT state, status, content_type, body FROM claim_idempotency_key(\(scope.uuid), \(key), \(hash), \(now))",
                logger: logger
            )
            for try await (state, status, contentType, body) in rows.decode((String, Int32?, String?, Data?).self) {
                switch state {
                case "new": return .new
                case "mismatch": return .mismatch
                case "in_progress": return .inProgress
                case "not_replayable": return .notReplayable
                default: return .replay(status: Int(status ?? 200), contentType: contentType, body: Array(body ?? Data()))
                }
            }
            throw SwitchboardError(.internalError, "the idempotency key was not claimed")
        }
    }

    /// Keeps the first call's answer; `replayable: false` keeps only that it succeeded.
    public func complete(
        _ scope: IdempotencyScope, key: String, status: Int, contentType: String?, body: [UInt8], replayable: Bool
    ) async throws {
        let logger = database.logger
        let kept = replayable ? Data(body) : nil
        try await scoped(scope) { connection in
            try await connection.perform(
                """
                UPDATE idempotency_keys SET status = \(Int32(status)), content_type = \(contentType), body = \(kept),
                    replayable = \(replayable)
                WHERE scope = \(scope.uuid) AND key = \(key)
                """,
                logger: logger
            )
        }
    }

    /// Forgets a claim whose call failed, so a retry runs it again.
    public func release(_ scope: IdempotencyScope, key: String) async throws {
        let logger = database.logger
        try await scoped(scope) { connection in
            try await connection.perform(
                "DELETE FROM idempotency_keys WHERE scope = \(scope.uuid) AND key = \(key) AND status IS NULL", logger: logger
            )
        }
    }
}
