import Foundation

/// One page of a list, with the opaque cursor of the next page (`nil` on the last).
public struct Page<Element: Sendable>: Sendable {
    public var data: [Element]
    public var nextCursor: String?

    public init(data: [Element], nextCursor: String?) {
        self.data = data
        self.nextCursor = nextCursor
    }
}

/// How much of a list to read: `limit` in 1...200 (default 50) after an opaque cursor.
public struct PageRequest: Sendable, Hashable {
    public static let defaultLimit = 50
    public static let maximumLimit = 200

    public var limit: Int
    public var cursor: Cursor?

    public init(limit: Int = PageRequest.defaultLimit, cursor: Cursor? = nil) {
        self.limit = limit
        self.cursor = cursor
    }

    /// Validates the query parameters of a list call.
    public static func parse(limit: String?, cursor: String?) throws(SwitchboardError) -> PageRequest {
        var request = PageRequest()
        if let limit {
            guard let value = Int(limit), (1...maximumLimit).contains(value) else {
                throw .invalid("limit must be an integer from 1 to \(maximumLimit)", field: "limit")
            }
            request.limit = value
        }
        if let cursor {
            guard let value = Cursor(encoded: cursor) else {
                throw .invalid("cursor is not one this API issued", field: "cursor")
            }
            request.cursor = value
        }
        return request
    }
}

/// A keyset position in a list: the sort key and the id of the last row seen.
///
/// Encoded as base64url so clients treat it as opaque.
public struct Cursor: Sendable, Hashable {
    public var sortKey: String
    public var id: String

    public init(sortKey: String, id: String) {
        self.sortKey = sortKey
        self.id = id
    }

    public init?(encoded: String) {
        var base64 = encoded.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64.append("=") }
        guard let data = Data(base64Encoded: base64), let text = String(data: data, encoding: .utf8) else { return nil }
        let parts = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
        self.sortKey = String(parts[0])
        self.id = String(parts[1])
    }

    public var encoded: String {
        Data("\(sortKey)\n\(id)".utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
