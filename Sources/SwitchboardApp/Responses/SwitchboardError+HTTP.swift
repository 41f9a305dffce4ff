import Foundation
public import HTTPTypes
public import Hummingbird
public import SwitchboardCore

/// The JSON error envelope every route answers with (`/openapi.json`, `Error`):
/// `{"error": {"code": "<snake_case>", "message": "<human text>", "field": "<optional>"}}`.
struct ErrorEnvelope: Codable, APIResource {
    struct Body: Codable, Sendable {
        var code: String
        var message: String
        var field: String?
    }

    var error: Body
}

extension SwitchboardError: HTTPResponseError {
    public var status: HTTPResponse.Status {
        switch code {
        case .unauthorized, .totpRequired: .unauthorized
        case .forbidden, .insufficientScope, .twoFactorRequired: .forbidden
        case .notFound: .notFound
        case .methodNotAllowed: .methodNotAllowed
        case .invalidRequest: .badRequest
        case .conflict, .windowClosed: .conflict
        case .payloadTooLarge: .contentTooLarge
        case .unsupportedMediaType: .unsupportedMediaType
        case .insufficientCredits: .init(code: 402)
        case .rateLimited: .tooManyRequests
        case .upstreamError: .badGateway
        case .unavailable: .serviceUnavailable
        default: .internalServerError
        }
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = try JSONBody.response(ErrorEnvelope(error: .init(code: code.rawValue, message: message, field: field)), status: status)
        if code == .unauthorized { response.headers[.wwwAuthenticate] = "Bearer" }
        if code == .insufficientScope { response.headers[.wwwAuthenticate] = "Bearer error=\"insufficient_scope\"" }
        if let retryAfter { response.headers[.retryAfter] = String(retryAfter) }
        return response
    }

    /// 429 `rate_limited` for `what` ("requests with this API key"), with `Retry-After`: the
    /// wait rounded up to whole seconds, at least 1 and at most a day.
    static func rateLimited(_ what: String, retryAfter: Double) -> SwitchboardError {
        let seconds = retryAfter.isFinite ? Int(min(max(retryAfter.rounded(.up), 1), 86_400)) : 86_400
        var error = SwitchboardError(.rateLimited, "too many \(what); retry after \(seconds) s")
        error.retryAfter = seconds
        return error
    }

    /// The domain error for an HTTP status raised by the framework (an unmatched route, a
    /// body over its limit).
    static func from(status: HTTPResponse.Status) -> SwitchboardError {
        switch status.code {
        case 400: SwitchboardError(.invalidRequest, "the request is malformed")
        case 401: SwitchboardError(.unauthorized, "authentication is required")
        case 403: SwitchboardError(.forbidden, "not allowed")
        case 404: SwitchboardError(.notFound, "no such route")
        case 405: SwitchboardError(.methodNotAllowed, "method not allowed")
        case 413: SwitchboardError(.payloadTooLarge, "the request body is too large")
        case 415: SwitchboardError(.unsupportedMediaType, "the request body must be application/json")
        case 429: SwitchboardError(.rateLimited, "too many requests")
        case 503: SwitchboardError(.unavailable, "the service is unavailable")
        case 400..<500: SwitchboardError(.invalidRequest, status.reasonPhrase)
        default: SwitchboardError(.internalError, "the request could not be completed")
        }
    }
}
