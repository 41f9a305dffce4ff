public import ConnectorKit
import Foundation
import HTTPTypes

extension WhatsAppConnector {
    /// A request to `{graphAPIBase}/{apiVersion}/{path}` (path may carry a query) with the
    /// bearer token.
    func graphRequest(_ method: HTTPRequest.Method, path: String, token: String) -> HTTPRequest {
        var request = HTTPRequest(method: method, url: graphAPIBase)
        let basePath = String((request.path ?? "/").prefix { $0 != "?" })
        request.path = (basePath.hasSuffix("/") ? String(basePath.dropLast()) : basePath) + "/\(apiVersion)/\(path)"
        request.headerFields[.authorization] = "Bearer \(token)"
        request.headerFields[.accept] = "application/json"
        if method == .post { request.headerFields[.contentType] = "application/json" }
        return request
    }

    /// The error a Graph API answer that is not a success means, for `action` ("send",
    /// "template listing"). The platform's code is kept in `platformCode`; Meta's text is
    /// cut, made plain and never repeats the token.
    ///
    /// 401 or 190: the token is refused. 131047: the 24-hour window is closed (only a
    /// template may go). 131026: the number cannot receive. 429 and Meta's throttling
    /// codes: rate limited, retried after `Retry-After`. Other 4xx: refused for good.
    /// 5xx: failed, retried.
    static func graphError(_ response: HTTPResponse, _ body: [UInt8], token: String, action: String) -> ConnectorError {
        let status = response.status
        let error = (try? JSONDecoder().decode(GraphErrorAnswer.self, from: Data(body)))?.error
        let code = error?.code
        let retryAfter = response.headerFields[.retryAfter].flatMap { RetryHint.seconds(header: $0, now: Date()) }
        var reason = error?.message ?? ""
        if let details = error?.errorData?.details, !details.isEmpty, details != reason {
            reason += reason.isEmpty ? details : " — \(details)"
        }
        reason = plain(reason.replacingOccurrences(of: token, with: "<token>"), limit: 200)
        let detail =
            "HTTP \(status.code)" + (code.map { ", error \($0)" } ?? "") + (error?.errorSubcode.map { "/\($0)" } ?? "")
            + (reason.isEmpty ? "" : ": \(reason)")

        if status.code == 401 || code == 190 {
            return ConnectorError(
                .credentialsRejected, "the access token was refused by WhatsApp (\(detail))", platformCode: code)
        }
        if code == 131047 {
            return ConnectorError(
                .reengagementRequired,
                "more than 24 hours have passed since the customer last replied: only a template may be sent (\(detail))",
                platformCode: code)
        }
        if code == 131026 {
            return ConnectorError(
                .undeliverable, "WhatsApp cannot deliver to this number (\(detail))", platformCode: code)
        }
        if status.code == 429 || code.map(rateLimitCodes.contains) == true {
            return ConnectorError(
                .rateLimited, "WhatsApp is rate limiting the \(action) (\(detail))", retryAfter: retryAfter, retryable: true,
                platformCode: code)
        }
        if status.kind == .clientError {
            return ConnectorError(.sendFailed, "WhatsApp refused the \(action) (\(detail))", platformCode: code)
        }
        return ConnectorError(
            .sendFailed, "WhatsApp failed the \(action) (\(detail))", retryAfter: retryAfter, retryable: true,
            platformCode: code)
    }

    /// Meta's throttling codes: app and account rate limits, pair rate limit, spam limits.
    static let rateLimitCodes: Set<Int> = [4, 80007, 130429, 131048, 131056]

    /// `text` without control characters, cut to `limit` characters.
    static func plain(_ text: String, limit: Int) -> String {
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            scalars.append(scalar.properties.generalCategory == .control || scalar.properties.generalCategory == .format ? " " : scalar)
        }
        return String(String(scalars).prefix(limit))
    }

    /// Graph's error answer: `{"error":{"message","code","error_subcode","error_data":{"details"}}}`.
    struct GraphErrorAnswer: Decodable {
        var error: Detail?

        struct Detail: Decodable {
            var message: String?
            var code: Int?
            var errorSubcode: Int?
            var errorData: ErrorData?

            enum CodingKeys: String, CodingKey {
                case message, code
                case errorSubcode = "error_subcode"
                case errorData = "error_data"
            }

            init(from decoder: any Decoder) throws {
                let container = try decoder.container(keyedBy: CodingKeys.self)
                message = try? container.decodeIfPresent(String.self, forKey: .message)
                code = try? container.decodeIfPresent(Int.self, forKey: .code)
                errorSubcode = try? container.decodeIfPresent(Int.self, forKey: .errorSubcode)
                errorData = try? container.decodeIfPresent(ErrorData.self, forKey: .errorData)
            }
        }

        struct ErrorData: Decodable {
            var details: String?
        }
    }
}
