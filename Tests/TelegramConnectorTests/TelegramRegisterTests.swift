import ConnectorKit
import ConnectorKitTesting
import Foundation
import HTTPTypes
import TelegramConnector
import Testing

@Suite("Telegram webhook registration")
struct TelegramRegisterTests {
    let connector = Telegram.connector
    let webhookURL = "https://switchboard.example.kz/hooks/ch_01JD6Z8Q3W"
    let getMe = RecordingHTTPClient.Reply.json(
        200, #"{"ok":true,"result":{"id":123456789,"is_bot":true,"first_name":"ShopBot","username":"shop_bot"}}"#)

    struct SetWebhookBody: Decodable, Equatable {
        var url: String
        var secret_token: String
        var allowed_updates: [String]
    }

    func registerError(_ http: RecordingHTTPClient) async -> ConnectorError? {
        do {
            try await connector.register(webhookURL: webhookURL, credentials: Telegram.credentials, http: http)
            return nil
        } catch {
            return error
        }
    }

    @Test("registration checks the token with getMe, then calls setWebhook with the URL and secret")
    func registers() async throws {
        let http = RecordingHTTPClient()
        http.enqueue(getMe, forPathSuffix: "/getMe")
        http.enqueue(.json(200, #"{"ok":true,"result":true,"description":"Webhook was set"}"#), forPathSuffix: "/setWebhook")
        try await connector.register(webhookURL: webhookURL, credentials: Telegram.credentials, http: http)

        let requests = http.requests
        try #require(requests.count == 2)
        #expect(requests[0].request.method == .post)
        #expect(requests[0].request.path == "/bot\(Telegram.token)/getMe")
        #expect(requests[1].request.method == .post)
        #expect(requests[1].request.path == "/bot\(Telegram.token)/setWebhook")
        #expect(requests[1].request.headerFields[.contentType] == "application/json")
        #expect(
            try requests[1].decode(SetWebhookBody.self)
                == SetWebhookBody(
                    url: webhookURL, secret_token: Telegram.secret,
                    allowed_updates: ["message", "edited_message", "channel_post", "edited_channel_post", "callback_query"]))
    }

    @Test("a bad token is refused at getMe and no webhook is set")
    func badToken() async {
        for status in [401, 404] {
            let http = RecordingHTTPClient()
            http.enqueue(.json(status, #"{"ok":false,"error_code":\#(status),"description":"Not Found"}"#), forPathSuffix: "/getMe")
            let error = await registerError(http)
            #expect(error?.code == .credentialsRejected)
            #expect(error?.message == "the bot token was refused by Telegram")
            #expect(error.map { !$0.description.contains(Telegram.token) } == true)
            #expect(http.requests(pathSuffix: "/setWebhook").isEmpty)
        }
    }

    @Test("a webhook URL Telegram refuses is a send failure with Telegram's reason")
    func badWebhookURL() async {
        let http = RecordingHTTPClient()
        http.enqueue(getMe, forPathSuffix: "/getMe")
        http.enqueue(
            .json(400, #"{"ok":false,"error_code":400,"description":"Bad Request: bad webhook: HTTPS url must be provided for webhook"}"#),
            forPathSuffix: "/setWebhook")
        let error = await registerError(http)
        #expect(error?.code == .sendFailed)
        #expect(error?.retryable == false)
        #expect(error?.message.contains("HTTPS url must be provided") == true)
    }

    @Test("an unreachable Telegram is retryable and does not quote the URL")
    func unreachable() async {
        let http = RecordingHTTPClient()
        http.enqueue(.networkFailure("timed out: http://127.0.0.1:9/bot\(Telegram.token)/getMe"), forPathSuffix: "/getMe")
        let error = await registerError(http)
        #expect(error?.code == .sendFailed)
        #expect(error?.retryable == true)
        #expect(error.map { !$0.description.contains(Telegram.token) } == true)
    }

    @Test("registration needs the stored secret token")
    func needsSecret() async {
        let http = RecordingHTTPClient()
        do {
            try await connector.register(
                webhookURL: webhookURL, credentials: ChannelCredentials(["bot_token": Telegram.token]), http: http)
            Issue.record("registered without a secret token")
        } catch {
            #expect(error.code == .invalidCredentials)
            #expect(error.field == "secret_token")
        }
        #expect(http.requests.isEmpty)
    }
}
