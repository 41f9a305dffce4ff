public import ConnectorKit

extension TelegramConnector {
    /// Checks the token with `getMe`, then points the bot at `webhookURL` with
    /// `setWebhook(url, secret_token, allowed_updates)`.
    ///
    /// A token Telegram refuses is `credentialsRejected` ("the bot token was refused by
    /// Telegram"); a webhook URL it refuses is `sendFailed`, not retryable, with its reason.
    public func register(
        webhookURL: String, credentials: ChannelCredentials, http: any OutboundHTTPClient
    ) async throws(ConnectorError) {
        guard let token = credentials["bot_token"], Self.isBotToken(token) else {
            throw ConnectorError(.invalidCredentials, "the channel has no usable bot_token", field: "bot_token")
        }
        guard let secret = credentials["secret_token"], !secret.isEmpty else {
            throw ConnectorError(.invalidCredentials, "the channel has no secret_token", field: "secret_token")
        }

        let me = try await call("getMe", body: EmptyRequest(), token: token, http: http, result: TelegramIgnoredResult.self)
        guard me.result != nil else { throw me.failure }

        let webhook = try await call(
            "setWebhook",
            body: SetWebhookRequest(url: webhookURL, secretToken: secret, allowedUpdates: Self.allowedUpdates),
            token: token, http: http, result: TelegramIgnoredResult.self)
        guard webhook.result != nil else { throw webhook.failure }
    }

    struct EmptyRequest: Encodable {}

    struct SetWebhookRequest: Encodable {
        var url: String
        var secretToken: String
        var allowedUpdates: [String]

        enum CodingKeys: String, CodingKey {
            case url
            case secretToken = "secret_token"
            case allowedUpdates = "allowed_updates"
        }
    }
}
