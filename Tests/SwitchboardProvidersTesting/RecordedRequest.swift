public import SwitchboardProviders
/// A request the fake received, for assertions.
public struct RecordedRequest: Sendable {
    /// Which protocol's endpoint was called.
    public enum API: String, Sendable, Hashable {
        case openAI = "openai"
        case anthropic
        case gemini
    }

    public var api: API
    public var method: String
    /// The path without the query.
    public var path: String
    /// Header fields in order, names lowercased.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// The body parsed as JSON, `nil` when it is not JSON.
    public var json: FakeJSON?
    /// Whether the body asked for a stream (`"stream": true`).
    public var isStream: Bool { json?["stream"]?.bool == true }

    /// The first value of a header field, its name compared case-insensitively.
    public func header(_ name: String) -> String? {
        let name = name.lowercased()
        return headers.first { $0.name == name }?.value
    }
}
