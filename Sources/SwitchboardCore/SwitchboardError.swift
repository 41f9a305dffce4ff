/// A domain error: a code callers branch on, a message a person can read, and the field
/// at fault where there is one.
///
/// The message never carries a secret, a token, a hash or SQL. The underlying error, if
/// any, is for logs only and never reaches a response.
public struct SwitchboardError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, as a small open set: new codes don't break callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let unauthorized = Code("unauthorized")
        public static let forbidden = Code("forbidden")
        public static let notFound = Code("not_found")
        public static let methodNotAllowed = Code("method_not_allowed")
        public static let invalidRequest = Code("invalid_request")
        public static let conflict = Code("conflict")
        public static let payloadTooLarge = Code("payload_too_large")
        public static let unsupportedMediaType = Code("unsupported_media_type")
        public static let insufficientCredits = Code("insufficient_credits")
        public static let rateLimited = Code("rate_limited")
        public static let upstreamError = Code("upstream_error")
        public static let unavailable = Code("unavailable")
        public static let internalError = Code("internal_error")
        /// 403: the key or the person's role lacks the scope the route needs (named in the message).
        public static let insufficientScope = Code("insufficient_scope")
        /// 401: the password was right; the person's second factor is needed too.
        public static let totpRequired = Code("totp_required")
        /// 403: the team requires two-factor authentication, which this person has not set up.
        public static let twoFactorRequired = Code("two_factor_required")
        /// 409: the channel's messaging window with this contact has closed (past 24 hours
        /// free-form, past 7 days for a tagged answer): a template may still reopen it.
        public static let windowClosed = Code("window_closed")
    }

    public var code: Code
    public var message: String
    public var field: String?
    public var underlying: (any Error)?
    /// For `rateLimited`: whole seconds until a retry may succeed (`Retry-After`).
    public var retryAfter: Int? = nil

    public init(_ code: Code, _ message: String, field: String? = nil, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.field = field
        self.underlying = underlying
    }

    public var description: String {
        "\(code): \(message)" + (field.map { " (field \($0))" } ?? "")
    }

    public static func notFound(_ what: String) -> SwitchboardError {
        SwitchboardError(.notFound, "\(what) not found")
    }

    public static func invalid(_ message: String, field: String? = nil) -> SwitchboardError {
        SwitchboardError(.invalidRequest, message, field: field)
    }
}
