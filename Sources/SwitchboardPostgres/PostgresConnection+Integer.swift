import Logging
import PostgresNIO

extension PostgresConnection {
    /// The first column of the first row as an integer (0 when there is no row): for
    /// counts, and for "how many rows did this change" via `WITH … RETURNING 1`.
    func integer(_ query: PostgresQuery, logger: Logger) async throws -> Int {
        var result = 0
        for try await value in try await self.query(query, logger: logger).decode(Int.self) {
            result = value
            break
        }
        return result
    }
}
