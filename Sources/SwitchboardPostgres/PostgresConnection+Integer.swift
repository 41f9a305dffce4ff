public import Logging
public import PostgresNIO

extension PostgresConnection {
    /// The first column of the first row as an integer (0 when there is no row): for
    /// counts, and for "how many rows did this change" via `WITH … RETURNING 1`.
    public func integer(_ query: PostgresQuery, logger: Logger) async throws -> Int {
        var result = 0
        for try await value in try await self.query(query, logger: logger).decode(Int.self) {
            result = value
            break
        }
        return result
    }
}

extension PostgresConnection {
    /// Runs a statement and reads its answer to the end. A `SELECT f(…)` reports an
    /// error `f` raises only while its rows are read, so a statement called for its effect
    /// must be read through, or the error is lost.
    public func perform(_ query: PostgresQuery, logger: Logger) async throws {
        for try await _ in try await self.query(query, logger: logger) {}
    }
}
