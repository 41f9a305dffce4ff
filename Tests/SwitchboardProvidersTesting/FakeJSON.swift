import Foundation
public import SwitchboardProviders

/// A JSON value, for building the fake's answers and asserting on recorded request bodies:
/// `request.json?["messages"]?[0]?["role"]?.string`. It is the provider layer's own
/// `ModelJSON`, with the readers only the tests need.
public typealias FakeJSON = ModelJSON

extension ModelJSON {
    /// Parses JSON bytes; `nil` when they are not JSON.
    public init?(parsing bytes: [UInt8]) {
        self.init(parsing: String(decoding: bytes, as: UTF8.self))
    }

    public var int: Int? {
        if case .int(let value) = self { return value }
        return nil
    }

    /// A number, integral or not.
    public var double: Double? {
        switch self {
        case .double(let value): value
        case .int(let value): Double(value)
        default: nil
        }
    }

    public var bool: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    public var array: [ModelJSON]? {
        if case .array(let value) = self { return value }
        return nil
    }

    /// The keys of an object, sorted.
    public var keys: [String] {
        if case .object(let object) = self { return object.keys.sorted() }
        return []
    }
}
