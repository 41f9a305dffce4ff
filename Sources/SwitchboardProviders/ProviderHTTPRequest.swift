/// One HTTP request to a model provider, as bytes: what a ``ProviderTransport`` sends.
public struct ProviderHTTPRequest: Sendable {
    /// The absolute URL (`https://api.openai.com/v1/chat/completions`).
    public var url: String
    /// `POST` for every call the providers make.
    public var method: String
    /// Header fields in order; they carry the API key, so never log them.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(url: String, method: String = "POST", headers: [(name: String, value: String)], body: [UInt8]) {
        self.url = url
        self.method = method
        self.headers = headers
        self.body = body
    }

    /// The first value of a header field, its name compared case-insensitively.
    public func header(_ name: String) -> String? { headers.value(of: name) }
}
