/// A provider's complete answer: head and collected body.
public struct ProviderHTTPResponse: Sendable {
    public var head: ProviderHTTPResponseHead
    /// The body, collected up to the transport's limit.
    public var body: [UInt8]

    public init(head: ProviderHTTPResponseHead, body: [UInt8]) {
        self.head = head
        self.body = body
    }

    public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8]) {
        self.init(head: ProviderHTTPResponseHead(status: status, headers: headers), body: body)
    }

    public var status: Int { head.status }
    public var headers: [(name: String, value: String)] { head.headers }
}
