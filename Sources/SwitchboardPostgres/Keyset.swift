import Foundation
import PostgresNIO
public import SwitchboardCore

/// Keyset pagination on `(created_at, id)`: cursors carry the creation time in whole
/// microseconds (exact, unlike a `Date`) and the id of the last row of a page.
enum Keyset {
    /// The SQL of a row's creation time in microseconds since 1970, for cursors.
    static func micros(_ column: String = "created_at") -> String {
        "(extract(epoch FROM \(column)) * 1000000)::int8"
    }

    /// The times a cursor may carry: the years 1 to 9999, in microseconds since 1970.
    static let minimumMicros: Int64 = -62_135_596_800_000_000
    static let maximumMicros: Int64 = 253_402_300_799_999_999

    /// The position after which the next page starts; `(nil, nil)` for the first page.
    static func after(_ cursor: Cursor?) throws -> (micros: Int64?, id: UUID?) {
        guard let cursor else { return (nil, nil) }
        // A time PostgreSQL cannot hold (a crafted cursor) is refused here, not by the statement.
        guard let micros = Int64(cursor.sortKey), micros >= minimumMicros, micros <= maximumMicros,
              let id = UUID(uuidString: cursor.id)
        else {
            throw SwitchboardError.invalid("cursor is not one this API issued", field: "cursor")
        }
        return (micros, id)
    }

    /// Cuts the one extra row read past `limit` and makes the next cursor from the last kept.
    static func page<Element>(_ rows: [(Element, Int64, UUID)], limit: Int) -> Page<Element> {
        let kept = Array(rows.prefix(limit))
        let next = rows.count > limit ? kept.last.map { Cursor(sortKey: String($0.1), id: $0.2.uuidString.lowercased()).encoded } : nil
        return Page(data: kept.map(\.0), nextCursor: next)
    }
}

extension PostgresQuery.StringInterpolation {
    /// `AND (created_at, id) > (<cursor time>, <cursor id>)`, or nothing on the first page.
    mutating func appendInterpolation(after keyset: (micros: Int64?, id: UUID?), column: String = "created_at") {
        appendInterpolation(unescaped: "(")
        appendInterpolation(keyset.micros)
        appendInterpolation(unescaped: "::int8 IS NULL OR (\(column), id) > (timestamptz 'epoch' + ")
        appendInterpolation(keyset.micros)
        appendInterpolation(unescaped: "::int8 * interval '1 microsecond', ")
        appendInterpolation(keyset.id)
        appendInterpolation(unescaped: "::uuid))")
    }
}
