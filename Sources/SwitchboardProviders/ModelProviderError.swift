/// Why a model call failed, in the terms the router decides on.
///
/// The message is for people and logs: it never carries the API key or a response body,
/// at most a short excerpt of the provider's own error message with any key removed.
public struct ModelProviderError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, as far as retrying and falling back are concerned.
    public enum Kind: String, Sendable, Hashable {
        /// 401 or 403: the key is wrong, revoked or lacks access.
        case unauthorized
        /// 400, 422 and other 4xx, or a 3xx (redirects are not followed): the request is at fault.
        case badRequest = "bad_request"
        /// 408, 409 or 429; `retryAfter` holds the provider's hint.
        case rateLimited = "rate_limited"
        /// 5xx (Anthropic's 529 "overloaded" too), or an error event in a stream.
        case server
        /// The call did not complete within its deadline.
        case timeout
        /// No connection, or the connection failed before an answer.
        case network
        /// A 2xx answer that is not the JSON the protocol promises.
        case malformedResponse = "malformed_response"
        /// A stream that failed or ended before its terminator.
        case streamInterrupted = "stream_interrupted"
        /// The URL resolves to an address the egress policy refuses; nothing was sent. (Kept
        /// for recorded calls: the HTTP transport now reports a refusal as `.network`, like
        /// any connection that could not be made, so the record does not map a network.)
        case egressRefused = "egress_refused"
        /// The router skipped the provider because it is cooling down; nothing was sent.
        case cooldown
        /// 404: the model or the endpoint does not exist.
        case notFound = "not_found"
    }

    public var kind: Kind
    /// The HTTP status, when the provider answered with one.
    public var status: Int?
    /// How long the provider asked us to wait (`Retry-After`, `retry-after-ms`).
    public var retryAfter: Duration?
    /// Human text for logs and operators (see the type's notes on what it never holds).
    public var message: String

    public init(_ kind: Kind, _ message: String, status: Int? = nil, retryAfter: Duration? = nil) {
        self.kind = kind
        self.status = status
        self.retryAfter = retryAfter
        self.message = message
    }

    public init(kind: Kind, status: Int? = nil, retryAfter: Duration? = nil, message: String) {
        self.init(kind, message, status: status, retryAfter: retryAfter)
    }

    /// Whether the same call may succeed later: true for rate limits, server errors,
    /// timeouts, network failures, malformed answers, broken streams and cooldowns; false
    /// for what only a change of key, request or configuration fixes.
    public var isRetryable: Bool {
        switch kind {
        case .rateLimited, .server, .timeout, .network, .malformedResponse, .streamInterrupted, .cooldown: true
        case .unauthorized, .badRequest, .egressRefused, .notFound: false
        }
    }

    public var description: String {
        let status = status.map { " (HTTP \($0))" } ?? ""
        return "\(kind.rawValue)\(status): \(message)"
    }
}
