/// The status and header fields of a provider's answer, before its body.
public struct ProviderHTTPResponseHead: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]

    public init(status: Int, headers: [(name: String, value: String)] = []) {
        self.status = status
        self.headers = headers
    }

    /// The first value of a header field, its name compared case-insensitively.
    public func header(_ name: String) -> String? { headers.value(of: name) }
}
