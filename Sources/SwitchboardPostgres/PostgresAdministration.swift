import Foundation
public import Logging
public import PostgresNIO
import NIOSSL

/// One-off owner connections for start-up work (creating databases, migrations, the app
/// role): they fail fast with a clear message when the server cannot be reached, where a
/// pool would wait and retry.
public enum PostgresAdministration {
    /// Opens one connection, runs `body`, and closes it.
    public static func withConnection<Result: Sendable>(
        _ configuration: DatabaseConfiguration,
        logger: Logger,
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(
                configuration: try connectionConfiguration(configuration), id: 1, logger: logger
            )
        } catch {
            throw DatabaseError(
                .unreachable,
                "cannot connect to PostgreSQL at \(configuration): \(PostgresErrorText.describe(error))",
                underlying: error
            )
        }
        do {
            let result = try await body(connection)
            try? await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw error
        }
    }

    static func connectionConfiguration(_ configuration: DatabaseConfiguration) throws -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS
        switch configuration.tls {
        case .disable: tls = .disable
        case .prefer: tls = .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
        case .require: tls = .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
        }
        var result = PostgresConnection.Configuration(
            host: configuration.host, port: configuration.port, username: configuration.username,
            password: configuration.password, database: configuration.database, tls: tls
        )
        result.options.connectTimeout = .seconds(5)
        return result
    }

    /// `CREATE DATABASE "name"`, the name quoted as an identifier (it cannot be a bind).
    public static func createDatabase(_ name: String) -> PostgresQuery {
        PostgresQuery(unsafeSQL: "CREATE DATABASE \(quoteIdentifier(name))")
    }

    /// `DROP DATABASE IF EXISTS "name" WITH (FORCE)`.
    public static func dropDatabase(_ name: String) -> PostgresQuery {
        PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(quoteIdentifier(name)) WITH (FORCE)")
    }

    static func quoteIdentifier(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    static func quoteLiteral(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
    }
}

/// Short, safe descriptions of PostgreSQL errors for operators: the server's own message
/// and SQLSTATE, never the query or its values.
enum PostgresErrorText {
    static func describe(_ error: any Error) -> String {
        if let error = error as? PostgresTransactionError {
            for inner in [error.closureError, error.beginError, error.commitError].compactMap({ $0 }) {
                return describe(inner)
            }
        }
        if let error = error as? PSQLError {
            if let info = error.serverInfo {
                let state = info[.sqlState].map { " (SQLSTATE \($0))" } ?? ""
                return (info[.message] ?? "server error") + state
            }
            if let underlying = error.underlying { return "\(error.code): \(underlying)" }
            return "\(error.code)"
        }
        if let error = error as? DatabaseError { return error.message }
        return "\(error)"
    }

    static func sqlState(_ error: any Error) -> String? {
        if let error = error as? PostgresTransactionError {
            for inner in [error.closureError, error.beginError, error.commitError].compactMap({ $0 }) {
                return sqlState(inner)
            }
        }
        return (error as? PSQLError)?.serverInfo?[.sqlState]
    }
}
