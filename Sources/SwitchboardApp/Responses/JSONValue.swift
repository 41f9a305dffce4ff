import Foundation

/// A JSON value built by hand, for answers whose absent values must read `null` rather
/// than vanish (synthesized `Encodable` leaves out `nil`s).
enum JSONValue: Encodable, Sendable, ExpressibleByStringLiteral, ExpressibleByBooleanLiteral, ExpressibleByNilLiteral {
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

    static func string(_ value: String?) -> JSONValue { value.map { .string($0) } ?? .null }
    static func integer(_ value: Int64?) -> JSONValue { value.map { .integer($0) } ?? .null }
    static func number(_ value: Double?) -> JSONValue { value.map { .number($0) } ?? .null }
    static func date(_ value: Date?) -> JSONValue {
        value.map { .string($0.formatted(Date.ISO8601FormatStyle())) } ?? .null
    }
    static func strings(_ values: [String]) -> JSONValue { .array(values.map { .string($0) }) }
    static func id(_ value: (some CustomStringConvertible)?) -> JSONValue { value.map { .string($0.description) } ?? .null }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .bool(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        case .null: try container.encodeNil()
        }
    }
}
