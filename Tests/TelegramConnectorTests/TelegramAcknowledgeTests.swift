import ConnectorKit
import ConnectorKitTesting
import Foundation
import HTTPTypes
import TelegramConnector
import Testing

@Suite("Telegram acknowledgements: a pressed button is answered")
struct TelegramAcknowledgeTests {
    let connector = Telegram.connector

    struct Body: Decodable, Equatable {
        var callback_query_id: String
    }

    @Test("a callback query is answered with answerCallbackQuery and its id")
    func answersCallbackQuery() async throws {
        let http = RecordingHTTPClient()
        http.enqueue(.json(200, #"{"ok":true,"result":true}"#), forPathSuffix: "/answerCallbackQuery")
        try await connector.acknowledge(messageID: "callback:2231554443339900123", credentials: Telegram.credentials, http: http)
        let recorded = try #require(http.requests.first)
        #expect(http.requests.count == 1)
        #expect(recorded.request.path == "/bot\(Telegram.token)/answerCallbackQuery")
        #expect(try recorded.decode(Body.self) == Body(callback_query_id: "2231554443339900123"))
    }

    @Test("an ordinary message needs no acknowledgement and makes no request")
    func ordinaryMessage() async throws {
        let http = RecordingHTTPClient()
        try await connector.acknowledge(messageID: "520011223:17", credentials: Telegram.credentials, http: http)
        #expect(http.requests.isEmpty)
        // The worker asks first, and does not open the channel's credentials for it.
        #expect(!connector.needsAcknowledgement(messageID: "520011223:17"))
        #expect(connector.needsAcknowledgement(messageID: "callback:2231554443339900123"))
    }

    @Test("a refused answer is an error that names the method and not the token")
    func refused() async throws {
        let http = RecordingHTTPClient()
        http.enqueue(
            .json(400, #"{"ok":false,"error_code":400,"description":"Bad Request: query is too old and response timeout expired"}"#),
            forPathSuffix: "/answerCallbackQuery"
        )
        let error = await #expect(throws: ConnectorError.self) {
            try await connector.acknowledge(messageID: "callback:1", credentials: Telegram.credentials, http: http)
        }
        #expect(error?.message.contains("answerCallbackQuery") == true)
        #expect(error?.message.contains(Telegram.token) == false)
    }
}
