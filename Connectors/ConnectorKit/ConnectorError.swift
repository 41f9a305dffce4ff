/// Why a connector refused a delivery or failed a send. The message never carries a
/// secret or an expected signature.
public struct ConnectorError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The signature or secret does not match: 401, nothing stored.
        public static let unauthorized = Code("unauthorized")
        /// Verified but unreadable: 400, kept as a dead letter.
        public static let malformed = Code("malformed")
        /// The platform refused or failed the send; `retryAfter` says when to try again.
        public static let sendFailed = Code("send_failed")
        /// The platform refused the credentials: retrying will not help.
        public static let credentialsRejected = Code("credentials_rejected")
    }

    public var code: Code
    public var message: String
    /// Seconds the platform asked us to wait (Telegram `retry_after`, HTTP `Retry-After`).
    public var retryAfter: Int?

    public init(_ code: Code, _ message: String, retryAfter: Int? = nil) {
        self.code = code
        self.message = message
        self.retryAfter = retryAfter
    }

    public var description: String { "\(code): \(message)" }
}
