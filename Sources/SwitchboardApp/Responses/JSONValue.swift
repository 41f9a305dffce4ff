import Foundation

/// A JSON value built by hand: the schema keywords the code merges into the published
/// OpenAPI document (`OpenAPIConstraints`, `FieldRule.schema`). Not an answer: the API
/// answers with `APIResource` types.
enum JSONValue: Sendable, ExpressibleByStringLiteral, ExpressibleByBooleanLiteral, ExpressibleByNilLiteral {
    case string(String)
    case integer(Int64)
    case number(Double)
    case bool(Bool)
    case array([JSONValue])
    case object([String: JSONValue])
    case null

    init(stringLiteral value: String) { self = .string(value) }
    init(booleanLiteral value: Bool) { self = .bool(value) }
    init(nilLiteral: ()) { self = .null }

    static func strings(_ values: [String]) -> JSONValue { .array(values.map { .string($0) }) }
}
