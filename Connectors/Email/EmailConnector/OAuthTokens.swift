import ConnectorKit
import Foundation
import HTTPTypes
import Synchronization

/// Access tokens for XOAUTH2 logins, from each mailbox's OAuth refresh token (RFC 6749
/// §6), kept until a minute before they expire so that a mailbox watched all day asks
/// for one an hour, not one a fetch. The token endpoint is called through the server's
/// outbound client (the egress gate).
final class OAuthTokens: Sendable {
    private let cache = Mutex<[EmailCredentials.OAuthClient: (token: String, until: Date)]>([:])
    let now: @Sendable () -> Date

    init(now: @escaping @Sendable () -> Date) { self.now = now }

    func accessToken(_ client: EmailCredentials.OAuthClient, http: any OutboundHTTPClient) async throws(ConnectorError) -> String {
        let now = self.now()
        if let cached = cache.withLock({ $0[client] }), cached.until > now { return cached.token }
        guard let url = URL(string: client.tokenURL), let scheme = url.scheme, let host = url.host else {
            throw ConnectorError(.credentialsRejected, "oauth_token_url is not a URL", field: "oauth_token_url")
        }
        var form = [
            "grant_type=refresh_token", "refresh_token=\(Self.formEncoded(client.refreshToken))", "client_id=\(Self.formEncoded(client.clientID))",
        ]
        if let secret = client.clientSecret { form.append("client_secret=\(Self.formEncoded(secret))") }
        var request = HTTPRequest(method: .post, scheme: scheme, authority: url.port.map { "\(host):\($0)" } ?? host, path: url.path.isEmpty ? "/" : url.path)
        request.headerFields[.contentType] = "application/x-www-form-urlencoded"
        request.headerFields[.accept] = "application/json"
        let response: HTTPResponse
        let body: [UInt8]
        do {
            (response, body) = try await http.execute(request, body: Array(form.joined(separator: "&").utf8))
        } catch {
            throw ConnectorError(.sendFailed, "the OAuth token endpoint could not be reached", retryable: true)
        }
        struct Answer: Decodable {
            var accessToken: String?
            var expiresIn: Double?
            var error: String?
            enum CodingKeys: String, CodingKey { case accessToken = "access_token", expiresIn = "expires_in", error }
        }
        let answer = try? JSONDecoder().decode(Answer.self, from: Data(body))
        guard response.status.code == 200, let token = answer?.accessToken, !token.isEmpty, token.count <= 8192 else {
            // invalid_grant: the refresh token was revoked or expired; retrying will not help.
            let reason = answer?.error.map { String($0.prefix(64)) } ?? "status \(response.status.code)"
            if (400..<500).contains(response.status.code) {
                throw ConnectorError(.credentialsRejected, "the OAuth token endpoint refused the refresh token (\(reason))", field: "oauth_refresh_token")
            }
            throw ConnectorError(.sendFailed, "the OAuth token endpoint failed (\(reason))", retryable: true)
        }
        let lifetime = min(max(answer?.expiresIn ?? 3600, 60), 86_400)
        cache.withLock { cache in
            if cache.count > 10_000 { cache.removeAll() }
            cache[client] = (token, now.addingTimeInterval(lifetime - 60))
        }
        return token
    }

    /// Forgets a token the server refused, so the next login asks for a new one.
    func forget(_ client: EmailCredentials.OAuthClient) {
        _ = cache.withLock { $0.removeValue(forKey: client) }
    }

    static func formEncoded(_ value: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }
}
