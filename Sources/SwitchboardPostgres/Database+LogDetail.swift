import PostgresNIO
import SwitchboardCore

extension Database {
    /// An error's detail for an error-level log line, without what the server quotes.
    ///
    /// `String(reflecting:)` of a `PSQLError` carries the server's message, detail, context
    /// and the statement — which quote the values that failed: a message's text, a
    /// contact's name. Here a database error is told by its SQLSTATE, the server routine and
    /// the schema objects involved (names, never values); any other error as it reflects.
    public static func logDetail(_ error: any Error) -> String {
        if let error = error as? SwitchboardError, let underlying = error.underlying { return logDetail(underlying) }
        if let error = error as? PostgresTransactionError {
            for inner in [error.closureError, error.beginError, error.commitError].compactMap({ $0 }) {
                return "transaction: " + logDetail(inner)
            }
        }
        if let error = error as? PSQLError {
            var parts = ["PSQLError", "code=\(error.code)"]
            let fields: [(String, PSQLError.ServerInfo.Field)] = [
                ("sqlstate", .sqlState), ("severity", .severity), ("routine", .routine), ("schema", .schemaName),
                ("table", .tableName), ("column", .columnName), ("constraint", .constraintName), ("type", .dataTypeName),
            ]
            for (name, field) in fields {
                if let value = error.serverInfo?[field] { parts.append("\(name)=\(value)") }
            }
            return parts.joined(separator: " ")
        }
        return String(reflecting: error)
    }
}
