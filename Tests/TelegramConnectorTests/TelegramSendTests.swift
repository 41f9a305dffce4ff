import ConnectorKit
import ConnectorKitTesting
import Foundation
import HTTPTypes
import TelegramConnector
import Testing

@Suite("Telegram sending")
struct TelegramSendTests {
    let connector = Telegram.connector

    struct SentBody: Decodable, Equatable {
        var chat_id: Int64
        var text: String
    }

    func message(_ text: String, chat: String = "520011223") -> OutboundMessage {
        OutboundMessage(chatExternalID: chat, text: text, idempotencyKey: "msg-1")
    }

    /// The error sending "Привет" throws when Telegram answers `reply`.
    func sendError(_ reply: RecordingHTTPClient.Reply) async -> ConnectorError? {
        let http = RecordingHTTPClient()
        http.enqueue(reply, forPathSuffix: "/sendMessage")
        do {
            _ = try await connector.send(message("Привет"), credentials: Telegram.credentials, http: http)
            return nil
        } catch {
            return error
        }
    }

    @Test("a message is POSTed as JSON to /bot<token>/sendMessage")
    func sendsMessage() async throws {
        let http = RecordingHTTPClient()
        http.enqueue(Telegram.sent(901), forPathSuffix: "/sendMessage")
        let receipt = try await connector.send(
            message("Здравствуйте! Доставка 1 500 ₸ 🚚"), credentials: Telegram.credentials, http: http)
        #expect(receipt == SendReceipt(externalIDs: ["520011223:901"]))

        let recorded = try #require(http.requests.first)
        #expect(http.requests.count == 1)
        #expect(recorded.request.method == .post)
        #expect(recorded.request.scheme == "http")
        #expect(recorded.request.authority == "127.0.0.1:9")
        #expect(recorded.request.path == "/bot\(Telegram.token)/sendMessage")
        #expect(recorded.request.headerFields[.contentType] == "application/json")
        #expect(try recorded.decode(SentBody.self) == SentBody(chat_id: 520_011_223, text: "Здравствуйте! Доставка 1 500 ₸ 🚚"))
    }

    @Test("an API base with a path keeps it")
    func apiBaseWithPath() async throws {
        let connector = TelegramConnector(apiBase: URL(string: "http://127.0.0.1:9/telegram/")!)
        let http = RecordingHTTPClient()
        http.enqueue(Telegram.sent(5), forPathSuffix: "/sendMessage")
        _ = try await connector.send(message("x"), credentials: Telegram.credentials, http: http)
        #expect(http.requests.first?.request.path == "/telegram/bot\(Telegram.token)/sendMessage")
    }

    @Test("a channel username is sent as a string chat id")
    func usernameChatID() async throws {
        let http = RecordingHTTPClient()
        http.enqueue(Telegram.sent(12, chat: -1_002_223_334_445), forPathSuffix: "/sendMessage")
        let receipt = try await connector.send(message("hi", chat: "@shop_news"), credentials: Telegram.credentials, http: http)
        let body = try #require(http.requests.first).jsonObject()
        #expect(body["chat_id"] as? String == "@shop_news")
        #expect(receipt.externalIDs == ["-1002223334445:12"])
    }

    @Test("a text over 4096 UTF-16 units is sent in order, in parts that add up to it")
    func splitsLongText() async throws {
        let mixed = String(decoding: try Telegram.fixture("long_text_4096", extension: "txt"), as: UTF8.self)
        let text = mixed + "\n" + mixed + " " + String(repeating: "🇰🇿", count: 1500)
        let http = RecordingHTTPClient()
        for id in 1...10 { http.enqueue(Telegram.sent(1000 + id), forPathSuffix: "/sendMessage") }

        let receipt = try await connector.send(message(text), credentials: Telegram.credentials, http: http)
        let parts = try http.requests.map { try $0.decode(SentBody.self).text }
        #expect(parts.count >= 3)
        #expect(parts.allSatisfy { $0.utf16.count <= 4096 && !$0.isEmpty })
        #expect(parts.joined() == text)
        #expect(Array(parts.joined().utf8) == Array(text.utf8))
        // No grapheme cut in two: the parts hold as many characters as the whole.
        #expect(parts.map(\.count).reduce(0, +) == text.count)
        #expect(receipt.externalIDs == (1...parts.count).map { "520011223:\(1000 + $0)" })
    }

    @Test("a split prefers a newline, then a space, in the second half of a part")
    func splitPoints() async throws {
        let newline = String(repeating: "а", count: 3000) + "\n" + String(repeating: "б", count: 3000)
        let space = String(repeating: "a", count: 2500) + " " + String(repeating: "b", count: 3000)
        let early = "a\n" + String(repeating: "b", count: 5000)
        for (text, firstLength) in [(newline, 3001), (space, 2501), (early, 4096)] {
            let http = RecordingHTTPClient()
            let parts = try await sentParts(text, http: http)
            #expect(parts.first?.utf16.count == firstLength)
            #expect(parts.joined() == text)
        }
    }

    @Test("emoji and flags at the 4096 boundary are never cut")
    func boundaryGraphemes() async throws {
        // 4095 units then a flag (4 units): the flag must move whole to the second part.
        let text = String(repeating: "x", count: 4095) + "🇰🇿" + "👩‍👩‍👧‍👦"
        let parts = try await sentParts(text, http: RecordingHTTPClient())
        #expect(parts == [String(repeating: "x", count: 4095), "🇰🇿👩‍👩‍👧‍👦"])
    }

    @Test("exactly 4096 units is one message")
    func exactLimit() async throws {
        let text = String(decoding: try Telegram.fixture("long_text_4096", extension: "txt"), as: UTF8.self)
        let parts = try await sentParts(text, http: RecordingHTTPClient())
        #expect(parts == [text])
    }

    func sentParts(_ text: String, http: RecordingHTTPClient) async throws -> [String] {
        for id in 1...10 { http.enqueue(Telegram.sent(id), forPathSuffix: "/sendMessage") }
        _ = try await connector.send(message(text), credentials: Telegram.credentials, http: http)
        return try http.requests.map { try $0.decode(SentBody.self).text }
    }

    @Test("429 says when to retry, from retry_after")
    func rateLimited() async {
        let error = await sendError(
            .json(429, #"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}}"#))
        #expect(error?.code == .sendFailed)
        #expect(error?.retryAfter == 7)
        #expect(error?.retryable == true)
    }

    @Test("429 without parameters falls back to the Retry-After header")
    func rateLimitedHeader() async {
        let error = await sendError(.json(429, #"{"ok":false,"error_code":429}"#, headers: [.retryAfter: "11"]))
        #expect(error?.retryAfter == 11)
        #expect(error?.retryable == true)
    }

    @Test("401 and 404 mean the token is refused")
    func tokenRefused() async {
        for status in [401, 404] {
            let error = await sendError(.json(status, #"{"ok":false,"error_code":\#(status),"description":"Unauthorized"}"#))
            #expect(error?.code == .credentialsRejected)
            #expect(error?.message == "the bot token was refused by Telegram")
            #expect(error?.retryable == false)
        }
    }

    @Test("403 (the user blocked the bot) and 400 are not retried")
    func refusedForGood() async {
        let blocked = await sendError(
            .json(403, #"{"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"}"#))
        #expect(blocked?.code == .sendFailed)
        #expect(blocked?.retryable == false)
        #expect(blocked?.message.contains("bot was blocked by the user") == true)

        let bad = await sendError(.json(400, #"{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}"#))
        #expect(bad?.code == .sendFailed)
        #expect(bad?.retryable == false)
        #expect(bad?.message.contains("chat not found") == true)
    }

    @Test("5xx, a dead network and an unreadable answer are retried")
    func retried() async {
        for reply: RecordingHTTPClient.Reply in [
            .json(500, "Internal Server Error"), .json(502, "<html>bad gateway</html>"), .networkFailure(),
            .json(200, "not json"), .json(200, #"{"ok":true}"#),
        ] {
            let error = await sendError(reply)
            #expect(error?.code == .sendFailed)
            #expect(error?.retryable == true)
        }
    }

    @Test("no error message carries the bot token, even when Telegram or the network repeats it")
    func tokenNeverInErrors() async {
        let url = "http://127.0.0.1:9/bot\(Telegram.token)/sendMessage"
        let secretPart = String(Telegram.token.split(separator: ":")[1])
        let replies: [RecordingHTTPClient.Reply] = [
            .networkFailure("connection refused: \(url)"),
            .json(400, #"{"ok":false,"error_code":400,"description":"Bad Request: \#(url)"}"#),
            .json(403, #"{"ok":false,"error_code":403,"description":"Forbidden: token \#(secretPart)"}"#),
            .json(401, #"{"ok":false,"error_code":401,"description":"Unauthorized \#(Telegram.token)"}"#),
            .json(500, url), .json(429, #"{"ok":false,"description":"\#(url)"}"#),
        ]
        for reply in replies {
            let error = await sendError(reply)
            let text = String(describing: error) + (error?.message ?? "") + (error?.field ?? "")
            #expect(error != nil)
            #expect(!text.contains(Telegram.token))
            #expect(!text.contains(secretPart))
        }
    }

    @Test("an empty text or a missing token is refused before any request")
    func refusedLocally() async {
        let http = RecordingHTTPClient()
        await #expect(throws: ConnectorError.self) {
            try await connector.send(message(""), credentials: Telegram.credentials, http: http)
        }
        do {
            _ = try await connector.send(message("x"), credentials: ChannelCredentials([:]), http: http)
            Issue.record("sent without a token")
        } catch {
            #expect(error.code == .credentialsRejected)
        }
        #expect(http.requests.isEmpty)
    }

    @Test("when a later part fails, the parts before it were sent and the error says why")
    func partialFailure() async {
        let http = RecordingHTTPClient()
        http.enqueue(Telegram.sent(1), forPathSuffix: "/sendMessage")
        http.enqueue(.json(500, "oops"), forPathSuffix: "/sendMessage")
        do {
            _ = try await connector.send(
                message(String(repeating: "a", count: 5000)), credentials: Telegram.credentials, http: http)
            Issue.record("a failed part went unnoticed")
        } catch {
            #expect(error.retryable)
        }
        #expect(http.requests.count == 2)
    }
}
