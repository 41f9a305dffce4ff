public import ConnectorKit
public import Foundation
import HTTPTypes

/// What differs between Meta's two messaging products on the Messenger Platform: the
/// channel kind, the webhook `object`, the account ids a channel answers for, the
/// credentials, the API base and the text limit. Everything else (signatures, the
/// verification GET, the webhook's `messaging` items, the Send API and its errors, the
/// profile lookup) is shared by `MetaMessaging`.
struct MetaPlatform: Sendable {
    /// `instagram` or `messenger`.
    var kind: String
    /// The webhook body's `object`: `instagram` or `page`.
    var object: String
    /// For people and errors: `Instagram`, `Messenger`.
    var displayName: String
    /// The credential whose id messages are sent from (`ig_user_id`, `page_id`).
    var senderIDField: String
    /// Every id credential a delivery's `entry[].id` may name (Instagram: the account id,
    /// or the Page it is connected through).
    var accountIDFields: [String]
    /// Credentials every channel must give.
    var requiredFields: [String]
    /// Credentials a channel may give.
    var optionalFields: [String]
    /// The longest text one message takes, in UTF-16 units.
    var maximumTextLength: Int
    /// The profile fields asked for a sender (`name,username`).
    var profileFields: String
    /// Whether a send carries `message.metadata`, which Messenger hands back on the echo:
    /// the echo of a message sent from here is then known even before its id is stored.
    var echoesMetadata = false

    var idFields: [String] { (requiredFields + optionalFields).filter { $0.hasSuffix("_id") } }

    static let instagram = MetaPlatform(
        kind: "instagram", object: "instagram", displayName: "Instagram", senderIDField: "ig_user_id",
        accountIDFields: ["ig_user_id", "page_id"],
        requiredFields: ["ig_user_id", "access_token", "app_secret", "verify_token"], optionalFields: ["page_id"],
        maximumTextLength: 1000, profileFields: "name,username")

    static let messenger = MetaPlatform(
        kind: "messenger", object: "page", displayName: "Messenger", senderIDField: "page_id",
        accountIDFields: ["page_id"],
        requiredFields: ["page_id", "access_token", "app_secret", "verify_token"], optionalFields: [],
        maximumTextLength: 2000, profileFields: "first_name,last_name,name", echoesMetadata: true)
}

/// The part of a Messenger Platform connector both kinds share: credentials, signatures,
/// the verification GET, parsing, sending and the profile lookup, for one `platform`.
struct MetaMessaging: Sendable {
    var platform: MetaPlatform
    /// The API base URL; messages go to `POST {apiBase}/{apiVersion}/{id}/messages`.
    var apiBase: URL
    /// The Graph API version in the path (`v21.0`).
    var apiVersion: String

    /// The shortest `verify_token` a tenant may choose: it alone answers Meta's
    /// subscription check, so it must not be guessable.
    static let minimumVerifyTokenLength = 16
    /// The shortest `app_secret`: Meta's app secrets are 32 hexadecimal characters.
    static let minimumAppSecretLength = 32
    /// Meta's ids are digits; longer than this is no id.
    static let maximumIDLength = 64

    // MARK: - Credentials

    func prepareCredentials(_ submitted: [String: String]) throws(ConnectorError) -> PreparedCredentials {
        let known = platform.requiredFields + platform.optionalFields
        if let unknown = submitted.keys.filter({ !known.contains($0) }).sorted().first {
            let list = platform.requiredFields.joined(separator: ", ")
                + (platform.optionalFields.isEmpty ? "" : " (optional: \(platform.optionalFields.joined(separator: ", ")))")
            throw ConnectorError(
                .invalidCredentials, "unknown credential field \(unknown): a \(platform.kind) channel takes \(list)", field: unknown)
        }
        for name in platform.requiredFields where (submitted[name] ?? "").isEmpty {
            throw ConnectorError(.invalidCredentials, "\(name) is required", field: name)
        }
        for name in platform.idFields {
            guard let value = submitted[name] else { continue }
            guard !value.isEmpty, value.utf8.count <= Self.maximumIDLength, value.utf8.allSatisfy({ (0x30...0x39).contains($0) })
            else {
                throw ConnectorError(.invalidCredentials, "\(name) must be digits", field: name)
            }
        }
        for name in ["access_token", "app_secret", "verify_token"]
        where (submitted[name] ?? "").unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.value < 0x20 || $0.value == 0x7F }) {
            throw ConnectorError(.invalidCredentials, "\(name) must not contain spaces or control characters", field: name)
        }
        for (name, minimum) in [("app_secret", Self.minimumAppSecretLength), ("verify_token", Self.minimumVerifyTokenLength)]
        where (submitted[name] ?? "").unicodeScalars.count < minimum {
            throw ConnectorError(.invalidCredentials, "\(name) must be at least \(minimum) characters", field: name)
        }
        return PreparedCredentials(stored: submitted)
    }

    // MARK: - Verification

    /// Meta's subscription check (`MetaWebhookCheck`).
    func answerVerification(query: [String: String], credentials: ChannelCredentials) throws(ConnectorError) -> String? {
        try MetaWebhookCheck.answer(query: query, credentials: credentials)
    }

    /// `X-Hub-Signature-256` over the raw body (`MetaWebhookCheck`).
    func verify(_ delivery: WebhookDelivery, credentials: ChannelCredentials) throws(ConnectorError) {
        try MetaWebhookCheck.verify(delivery, credentials: credentials)
    }

    // MARK: - Requests

    /// A request to `{apiBase}/{apiVersion}/{path}` with the bearer token.
    func makeRequest(_ method: HTTPRequest.Method, path: String, token: String) -> HTTPRequest {
        var request = HTTPRequest(method: method, url: apiBase)
        let basePath = String((request.path ?? "/").prefix { $0 != "?" })
        request.path = (basePath.hasSuffix("/") ? String(basePath.dropLast()) : basePath) + "/\(apiVersion)/\(path)"
        request.headerFields[.authorization] = "Bearer \(token)"
        request.headerFields[.accept] = "application/json"
        return request
    }

    func accessToken(_ credentials: ChannelCredentials) throws(ConnectorError) -> String {
        guard let token = credentials["access_token"], !token.isEmpty else {
            throw ConnectorError(.credentialsRejected, "the channel has no access_token", field: "access_token")
        }
        return token
    }
}
