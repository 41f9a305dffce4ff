import ConnectorKit
import Foundation
import HTTPTypes

extension TelegramConnector {
    /// One Bot API call: `POST {apiBase}/bot{token}/{method}` with a JSON body.
    ///
    /// The token is in the URL, so nothing here repeats the URL or an underlying error's
    /// text (a transport error often quotes the URL): errors say what failed, by method.
    func call<Body: Encodable, Result: Decodable>(
        _ method: String, body: Body, token: String, http: any OutboundHTTPClient, result: Result.Type
    ) async throws(ConnectorError) -> BotAPICall<Result> {
        var request = HTTPRequest(method: .post, url: apiBase)
        let basePath = String((request.path ?? "/").prefix { $0 != "?" })
        request.path = (basePath.hasSuffix("/") ? String(basePath.dropLast()) : basePath) + "/bot\(token)/\(method)"
        request.headerFields[.contentType] = "application/json"
        request.headerFields[.accept] = "application/json"

        let bytes: [UInt8]
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            bytes = Array(try encoder.encode(body))
        } catch {
            throw ConnectorError(.sendFailed, "could not encode the \(method) request")
        }

        let response: HTTPResponse
        let responseBody: [UInt8]
        do {
            (response, responseBody) = try await http.execute(request, body: bytes)
        } catch {
            throw ConnectorError(.sendFailed, "could not reach Telegram for \(method)", retryable: true)
        }
        let answer = try? JSONDecoder().decode(TelegramBotAPIAnswer<Result>.self, from: Data(responseBody))
        return BotAPICall(
            method: method, status: response.status, answer: answer,
            retryAfterHeader: response.headerFields[.retryAfter].flatMap { RetryHint.seconds(header: $0, now: Date()) },
            token: token)
    }

    /// A Bot API call's outcome, to be judged by the caller.
    struct BotAPICall<Result: Decodable> {
        var method: String
        var status: HTTPResponse.Status
        var answer: TelegramBotAPIAnswer<Result>?
        var retryAfterHeader: Int?
        var token: String

        /// The result when the call succeeded.
        var result: Result? {
            guard status.kind == .successful, let answer, answer.ok else { return nil }
            return answer.result
        }

        /// The error code Telegram reports (in the body, else the HTTP status).
        var errorCode: Int {
            if let code = answer?.errorCode, !(answer?.ok ?? false) { return code }
            return status.code
        }

        /// Telegram's own words about a failure, without the token, kept short.
        var reason: String {
            guard var text = answer?.description, !text.isEmpty else { return "HTTP \(status.code)" }
            text = text.replacingOccurrences(of: token, with: "<token>")
            if let colon = token.firstIndex(of: ":") {
                let secret = String(token[token.index(after: colon)...])
                if !secret.isEmpty { text = text.replacingOccurrences(of: secret, with: "<token>") }
            }
            return String(text.prefix(200))
        }

        /// Why the call failed, as the error a caller should throw.
        var failure: ConnectorError {
            let code = errorCode
            if status.kind == .successful && (answer == nil || answer?.ok == true) {
                return ConnectorError(.sendFailed, "Telegram answered \(method) with an unreadable body", retryable: true)
            }
            switch code {
            case 429:
                return ConnectorError(
                    .sendFailed, "Telegram is rate limiting \(method)",
                    retryAfter: answer?.parameters?.retryAfter ?? retryAfterHeader, retryable: true)
            case 401, 404:
                return ConnectorError(.credentialsRejected, "the bot token was refused by Telegram")
            case 403:
                return ConnectorError(.sendFailed, "Telegram refused \(method) (403): \(reason)")
            case 400..<500:
                return ConnectorError(.sendFailed, "Telegram refused \(method) (\(code)): \(reason)")
            default:
                return ConnectorError(.sendFailed, "Telegram failed \(method) (\(code))", retryable: true)
            }
        }
    }
}
