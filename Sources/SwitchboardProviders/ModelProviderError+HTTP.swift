import Foundation

extension ModelProviderError {
    /// The error an HTTP answer stands for, or `nil` for a 2xx.
    ///
    /// - Parameters:
    ///   - provider: the provider's name for the message ("OpenAI").
    ///   - secrets: strings removed from the provider's message (the API key).
    static func http(
        status: Int, headers: [(name: String, value: String)], body: [UInt8], provider: String, secrets: [String],
        now: Date = Date()
    ) -> ModelProviderError? {
        // A success is not read as an error: its body is the answer, decoded once, by the caller.
        if (200..<300).contains(status) { return nil }
        let retryAfter = RetryAfter.parse(headers, now: now)
        let detail = ProviderErrorExcerpt.from(body, secrets: secrets).map { ": \($0)" } ?? ""
        switch status {
        case 300..<400:
            return ModelProviderError(
                .badRequest, "\(provider) answered with a redirect (HTTP \(status)); redirects are not followed",
                status: status)
        case 401, 403:
            // The provider's words on a refused key often quote part of the key: leave them out.
            return ModelProviderError(.unauthorized, "\(provider) refused the API key", status: status)
        case 404:
            return ModelProviderError(.notFound, "\(provider) does not know this model or endpoint\(detail)", status: status)
        case 408, 409, 429:
            return ModelProviderError(
                .rateLimited, "\(provider) is rate limiting or busy\(detail)", status: status, retryAfter: retryAfter)
        case 400..<500:
            return ModelProviderError(.badRequest, "\(provider) refused the request\(detail)", status: status)
        default:
            return ModelProviderError(.server, "\(provider) failed\(detail)", status: status, retryAfter: retryAfter)
        }
    }
}
