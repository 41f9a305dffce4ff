/// Why a connector refused a delivery, credentials or a send. The message never carries a
/// secret, a token or an expected signature.
public struct ConnectorError: Error, Sendable, CustomStringConvertible, Equatable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The signature or secret does not match: 401, nothing stored.
        public static let unauthorized = Code("unauthorized")
        /// Verified but unreadable: 400, kept as a dead letter.
        public static let malformed = Code("malformed")
        /// The credentials a tenant submitted are missing a field or malformed: 400.
        public static let invalidCredentials = Code("invalid_credentials")
        /// The platform refused the credentials (bad token): retrying will not help.
        public static let credentialsRejected = Code("credentials_rejected")
        /// The platform refused or failed the send; `retryAfter` says when to try again,
        /// `retryable` whether to.
        public static let sendFailed = Code("send_failed")
        /// A file the platform keeps is larger than it lets us download (or than we take):
        /// retrying will not help, and the message should say so.
        public static let fileTooLarge = Code("file_too_large")
        /// The platform throttles sends (WhatsApp 130429, Graph 4, 613): retried later.
        public static let rateLimited = Code("rate_limited")
        /// The contact's messaging window is closed (Messenger 10/2018278, WhatsApp 131047
        /// "re-engagement required"): only a template or a tagged message may go.
        public static let reengagementRequired = Code("reengagement_required")
        /// The platform cannot deliver to this contact (WhatsApp 131026, Messenger 551):
        /// retrying will not help.
        public static let undeliverable = Code("undeliverable")
    }

    public var code: Code
    public var message: String
    /// The credential or payload field at fault, where there is one.
    public var field: String?
    /// Seconds the platform asked us to wait (Telegram `retry_after`, HTTP `Retry-After`),
    /// within `0...RetryHint.ceiling` whatever the connector passed.
    public var retryAfter: Int? {
        get { boundedRetryAfter }
        set { boundedRetryAfter = newValue.map(RetryHint.bounded) }
    }
    private var boundedRetryAfter: Int?
    /// Whether trying again later may succeed (429, 5xx, network) or not (400, 401, 403).
    public var retryable: Bool
    /// The platform's own error code (Graph `error.code`), for the record.
    public var platformCode: Int?

    public init(
        _ code: Code, _ message: String, field: String? = nil, retryAfter: Int? = nil, retryable: Bool = false, platformCode: Int? = nil
    ) {
        self.platformCode = platformCode
        self.code = code
        self.message = message
        self.field = field
        self.boundedRetryAfter = retryAfter.map(RetryHint.bounded)
        self.retryable = retryable
    }

    public var description: String { "\(code): \(message)" }
}
