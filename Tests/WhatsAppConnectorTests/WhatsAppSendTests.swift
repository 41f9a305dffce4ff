import ConnectorKit
import ConnectorKitTesting
import Foundation
import HTTPTypes
import Testing
import WhatsAppConnector

@Suite("WhatsApp sending")
struct WhatsAppSendTests {
    let connector = WhatsApp.connector

    struct SentBody: Decodable, Equatable {
        struct Text: Decodable, Equatable {
            var preview_url: Bool
            var body: String
        }

        var messaging_product: String
        var recipient_type: String
        var to: String?
        var recipient: String?
        var type: String
        var text: Text
    }

    static func accepted(_ wamid: String) -> RecordingHTTPClient.Reply {
        .json(200, #"{"messaging_product":"whatsapp","contacts":[{"input":"77011234567","wa_id":"77011234567"}],"messages":[{"id":"\#(wamid)"}]}"#)
    }

    func message(_ text: String, to chat: String = "77011234567") -> OutboundMessage {
        OutboundMessage(chatExternalID: chat, text: text, idempotencyKey: "msg-1")
    }

    func sendError(_ reply: RecordingHTTPClient.Reply) async -> ConnectorError? {
        let http = RecordingHTTPClient()
        http.enqueue(reply, forPathSuffix: "/messages")
        do {
            _ = try await connector.send(message("Сәлем"), credentials: WhatsApp.credentials, http: http)
            return nil
        } catch {
            return error
        }
    }

    @Test("a text is POSTed to /{version}/{phone_number_id}/messages with the bearer token")
    func sendsText() async throws {
        let http = RecordingHTTPClient()
        http.enqueue(Self.accepted("wamid.SENT1"), forPathSuffix: "/messages")
        let receipt = try await connector.send(
            message("Да, открыто до 21:00 🕘"), credentials: WhatsApp.credentials, http: http)
        #expect(receipt == SendReceipt(externalIDs: ["wamid.SENT1"]))

        let recorded = try #require(http.requests.first)
        #expect(recorded.request.method == .post)
        #expect(recorded.request.scheme == "http")
        #expect(recorded.request.authority == "127.0.0.1:9")
        #expect(recorded.request.path == "/v21.0/106540352242922/messages")
        #expect(recorded.request.headerFields[.authorization] == "Bearer \(WhatsApp.accessToken)")
        #expect(recorded.request.headerFields[.contentType] == "application/json")
        #expect(
            try recorded.decode(SentBody.self)
                == SentBody(
                    messaging_product: "whatsapp", recipient_type: "individual", to: "77011234567", type: "text",
                    text: .init(preview_url: false, body: "Да, открыто до 21:00 🕘")))
    }

    @Test("the API version is configurable")
    func apiVersion() async throws {
        let connector = WhatsAppConnector(graphAPIBase: URL(string: "http://127.0.0.1:9/graph")!, apiVersion: "v23.0")
        let http = RecordingHTTPClient(defaultReply: Self.accepted("wamid.X"))
        _ = try await connector.send(message("x"), credentials: WhatsApp.credentials, http: http)
        #expect(http.requests.first?.request.path == "/graph/v23.0/106540352242922/messages")
    }

    @Test("a user known only by a business-scoped user id is addressed as recipient")
    func sendsToUserID() async throws {
        let http = RecordingHTTPClient(defaultReply: Self.accepted("wamid.BSUID"))
        _ = try await connector.send(message("Привет", to: "KZ.1502576394655843"), credentials: WhatsApp.credentials, http: http)
        let body = try #require(http.requests.first).decode(SentBody.self)
        #expect(body.recipient == "KZ.1502576394655843")
        #expect(body.to == nil)
    }

    @Test("a long text is split into parts of at most 4096 units, sent in order")
    func splits() async throws {
        let paragraph = "Қазақстан 🇰🇿 — שלום — مرحبا\u{200B} e\u{301}\n"
        let text = String(repeating: paragraph, count: 400)
        let http = RecordingHTTPClient()
        for index in 1...10 { http.enqueue(Self.accepted("wamid.PART\(index)"), forPathSuffix: "/messages") }
        let receipt = try await connector.send(message(text), credentials: WhatsApp.credentials, http: http)
        let parts = try http.requests.map { try $0.decode(SentBody.self).text.body }
        #expect(parts.count > 1)
        #expect(parts.allSatisfy { $0.utf16.count <= 4096 })
        #expect(parts.joined() == text)
        #expect(parts.map(\.count).reduce(0, +) == text.count)
        #expect(parts.dropLast().allSatisfy { $0.hasSuffix("\n") })
        #expect(receipt.externalIDs == (1...parts.count).map { "wamid.PART\($0)" })
    }

    @Test("401 and error 190 mean the access token is refused")
    func tokenRefused() async {
        let unauthorized = await sendError(
            .json(401, #"{"error":{"message":"Invalid OAuth access token.","type":"OAuthException","code":190,"fbtrace_id":"A1"}}"#))
        #expect(unauthorized?.code == .credentialsRejected)
        #expect(unauthorized?.retryable == false)

        let expired = await sendError(
            .json(400, #"{"error":{"message":"Error validating access token: Session has expired","type":"OAuthException","code":190,"error_subcode":463}}"#))
        #expect(expired?.code == .credentialsRejected)
    }

    @Test("429 and Meta's throttling codes are retried, honouring Retry-After")
    func throttled() async {
        let limited = await sendError(.json(429, #"{"error":{"message":"Too many","code":4}}"#, headers: [.retryAfter: "30"]))
        #expect(limited?.code == .rateLimited)
        #expect(limited?.retryable == true)
        #expect(limited?.retryAfter == 30)

        for code in [4, 80007, 130429, 131048, 131056] {
            let error = await sendError(.json(400, #"{"error":{"message":"Rate limit hit","code":\#(code)}}"#))
            #expect(error?.code == .rateLimited)
            #expect(error?.retryable == true)
            #expect(error?.retryAfter == nil)
        }
    }

    @Test("5xx, a dead network and an unreadable success are retried")
    func retried() async {
        for reply: RecordingHTTPClient.Reply in [
            .json(500, #"{"error":{"message":"An unknown error occurred","code":1}}"#), .json(503, "<html/>"),
            .networkFailure(), .json(200, "{}"), .json(200, "not json"),
        ] {
            let error = await sendError(reply)
            #expect(error?.code == .sendFailed)
            #expect(error?.retryable == true)
        }
    }

    @Test("other 4xx answers are not retried")
    func notRetried() async {
        for (status, code) in [(400, 100), (400, 131009), (403, 10), (404, 100)] {
            let error = await sendError(.json(status, #"{"error":{"message":"refused","code":\#(code)}}"#))
            #expect(error?.code == .sendFailed)
            #expect(error?.retryable == false)
            #expect(error?.message.contains("\(code)") == true)
        }
    }

    @Test("no error carries the access token, even when Meta or the network quotes it")
    func tokenNeverInErrors() async {
        for reply: RecordingHTTPClient.Reply in [
            .networkFailure("connect failed with Authorization: Bearer \(WhatsApp.accessToken)"),
            .json(400, #"{"error":{"message":"Malformed access token \#(WhatsApp.accessToken)","code":190}}"#),
            .json(400, #"{"error":{"message":"bad \#(WhatsApp.accessToken)","code":100}}"#),
        ] {
            let error = await sendError(reply)
            #expect(error != nil)
            #expect(!String(describing: error).contains(WhatsApp.accessToken))
        }
    }

    @Test("sending needs a phone number id and an access token, and a text")
    func needsCredentials() async {
        let http = RecordingHTTPClient()
        for credentials in [
            ChannelCredentials(["access_token": WhatsApp.accessToken]), ChannelCredentials(["phone_number_id": WhatsApp.phoneNumberID]),
        ] {
            do {
                _ = try await connector.send(message("x"), credentials: credentials, http: http)
                Issue.record("sent with incomplete credentials")
            } catch {
                #expect(error.code == .credentialsRejected)
            }
        }
        await #expect(throws: ConnectorError.self) {
            try await connector.send(message(""), credentials: WhatsApp.credentials, http: http)
        }
        #expect(http.requests.isEmpty)
    }
}
