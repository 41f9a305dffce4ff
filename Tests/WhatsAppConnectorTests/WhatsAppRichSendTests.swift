import ConnectorKit
import ConnectorKitTesting
import Foundation
import HTTPTypes
import Testing
import WhatsAppConnector

@Suite("WhatsApp sending templates, attachments and buttons, and Graph's error codes")
struct WhatsAppRichSendTests {
    let connector = WhatsApp.connector

    static func accepting() -> RecordingHTTPClient {
        let http = RecordingHTTPClient()
        for index in 1...10 { http.enqueue(WhatsAppSendTests.accepted("wamid.R\(index)"), forPathSuffix: "/messages") }
        return http
    }

    @Test("a template is one message with its body parameters in order, and nothing else")
    func templateBody() async throws {
        let http = Self.accepting()
        let message = OutboundMessage(
            chatExternalID: "77011234567", text: "Сәлем, Алия! Тапсырыс A-17 дайын.", idempotencyKey: "m-1",
            attachments: [.init(kind: "image", url: "https://cdn.example/a.jpg")],
            quickReplies: [.init(title: "Yes", payload: "yes")],
            template: TemplateMessage(name: "order_ready", language: "kk", parameters: ["Алия", "A-17"]))
        let receipt = try await connector.send(message, credentials: WhatsApp.credentials, http: http)
        #expect(receipt.externalIDs == ["wamid.R1"])
        try #require(http.requests.count == 1)
        #expect(http.requests[0].request.path == "/v21.0/106540352242922/messages")
        #expect(
            http.requests[0].text
                == #"{"messaging_product":"whatsapp","recipient_type":"individual","template":{"components":[{"parameters":[{"text":"Алия","type":"text"},{"text":"A-17","type":"text"}],"type":"body"}],"language":{"code":"kk"},"name":"order_ready"},"to":"77011234567","type":"template"}"#
        )
    }

    @Test("a template without parameters has no components; a user id is its recipient")
    func templateWithoutParameters() async throws {
        let http = Self.accepting()
        let message = OutboundMessage(
            chatExternalID: "KZ.1502576394655843", text: "", idempotencyKey: "m-2",
            template: TemplateMessage(name: "hello_world", language: "en_US"))
        _ = try await connector.send(message, credentials: WhatsApp.credentials, http: http)
        #expect(
            http.requests.first?.text
                == #"{"messaging_product":"whatsapp","recipient":"KZ.1502576394655843","recipient_type":"individual","template":{"language":{"code":"en_US"},"name":"hello_world"},"type":"template"}"#
        )
    }

    @Test("attachments go by link after the text, a file as a document")
    func attachments() async throws {
        let http = Self.accepting()
        let message = OutboundMessage(
            chatExternalID: "77011234567", text: "Каталог", idempotencyKey: "m-3",
            attachments: [
                .init(kind: "image", url: "https://cdn.example/a.jpg"), .init(kind: "video", url: "https://cdn.example/v.mp4"),
                .init(kind: "audio", url: "https://cdn.example/s.ogg"), .init(kind: "file", url: "https://cdn.example/price-list.pdf?x=1&y=2"),
            ])
        let receipt = try await connector.send(message, credentials: WhatsApp.credentials, http: http)
        #expect(receipt.externalIDs == ["wamid.R1", "wamid.R2", "wamid.R3", "wamid.R4", "wamid.R5"])
        let texts = http.requests.map(\.text)
        #expect(texts[0].contains(#""type":"text""#))
        #expect(
            Array(texts.dropFirst()) == [
                #"{"image":{"link":"https://cdn.example/a.jpg"},"messaging_product":"whatsapp","recipient_type":"individual","to":"77011234567","type":"image"}"#,
                #"{"messaging_product":"whatsapp","recipient_type":"individual","to":"77011234567","type":"video","video":{"link":"https://cdn.example/v.mp4"}}"#,
                #"{"audio":{"link":"https://cdn.example/s.ogg"},"messaging_product":"whatsapp","recipient_type":"individual","to":"77011234567","type":"audio"}"#,
                #"{"document":{"link":"https://cdn.example/price-list.pdf?x=1&y=2"},"messaging_product":"whatsapp","recipient_type":"individual","to":"77011234567","type":"document"}"#,
            ])
    }

    @Test("attachments alone need no text; a link that is not http(s) is refused before sending")
    func attachmentEdges() async throws {
        let http = Self.accepting()
        let alone = OutboundMessage(
            chatExternalID: "77011234567", text: "", idempotencyKey: "m-4", attachments: [.init(kind: "image", url: "https://cdn.example/a.jpg")])
        #expect(try await connector.send(alone, credentials: WhatsApp.credentials, http: http).externalIDs == ["wamid.R1"])

        let refused = RecordingHTTPClient()
        for url in ["file:///etc/passwd", "javascript:alert(1)", "", "ftp://x/y"] {
            let message = OutboundMessage(
                chatExternalID: "77011234567", text: "x", idempotencyKey: "m-5", attachments: [.init(kind: "image", url: url)])
            await #expect(throws: ConnectorError.self) {
                try await connector.send(message, credentials: WhatsApp.credentials, http: refused)
            }
        }
        #expect(refused.requests.isEmpty)
    }

    @Test("one to three quick replies make the last part reply buttons, titles cut to 20 and ids to 256")
    func buttons() async throws {
        let http = Self.accepting()
        let longPayload = String(repeating: "p", count: 300)
        let message = OutboundMessage(
            chatExternalID: "77011234567", text: "Жеткізу керек пе?", idempotencyKey: "m-6",
            quickReplies: [
                .init(title: "Иә, керек", payload: "delivery:yes"),
                .init(title: "Жоқ, өзім алып кетемін 🚗", payload: longPayload),
            ])
        _ = try await connector.send(message, credentials: WhatsApp.credentials, http: http)
        try #require(http.requests.count == 1)
        #expect(
            http.requests[0].text
                == #"{"interactive":{"action":{"buttons":[{"reply":{"id":"delivery:yes","title":"Иә, керек"},"type":"reply"},{"reply":{"id":"\#(String(repeating: "p", count: 256))","title":"Жоқ, өзім алып кетем"},"type":"reply"}]},"body":{"text":"Жеткізу керек пе?"},"type":"button"},"messaging_product":"whatsapp","recipient_type":"individual","to":"77011234567","type":"interactive"}"#
        )
    }

    @Test("four quick replies are not sent; a long text keeps its parts and ends in a body of 1024 at most")
    func buttonEdges() async throws {
        let four = OutboundMessage(
            chatExternalID: "77011234567", text: "Таңдаңыз", idempotencyKey: "m-7",
            quickReplies: (1...4).map { .init(title: "B\($0)", payload: "b\($0)") })
        let http = Self.accepting()
        _ = try await connector.send(four, credentials: WhatsApp.credentials, http: http)
        #expect(http.requests.count == 1)
        #expect(try http.requests[0].jsonObject()["type"] as? String == "text")

        let text = String(repeating: "Қазақстан 🇰🇿 — сөйлем.\n", count: 250)
        let long = OutboundMessage(
            chatExternalID: "77011234567", text: text, idempotencyKey: "m-8", quickReplies: [.init(title: "OK", payload: "ok")])
        let parts = Self.accepting()
        _ = try await connector.send(long, credentials: WhatsApp.credentials, http: parts)
        let bodies = try parts.requests.map { try $0.jsonObject() }
        #expect(bodies.last?["type"] as? String == "interactive")
        #expect(bodies.dropLast().allSatisfy { $0["type"] as? String == "text" })
        let last = ((bodies.last?["interactive"] as? [String: Any])?["body"] as? [String: Any])?["text"] as? String ?? ""
        #expect((1...1024).contains(last.utf16.count))
        let texts = bodies.dropLast().map { (($0["text"] as? [String: Any])?["body"] as? String) ?? "" }
        #expect(texts.allSatisfy { $0.utf16.count <= 4096 })
        #expect(texts.joined() + last == text)
    }

    func sendError(_ reply: RecordingHTTPClient.Reply) async -> ConnectorError? {
        let http = RecordingHTTPClient(defaultReply: reply)
        do {
            _ = try await connector.send(
                OutboundMessage(chatExternalID: "77011234567", text: "Сәлем", idempotencyKey: "m-9"), credentials: WhatsApp.credentials,
                http: http)
            return nil
        } catch {
            return error
        }
    }

    static func graph(_ status: Int, code: Int, subcode: Int? = nil, details: String? = nil, headers: HTTPFields = [:]) -> RecordingHTTPClient.Reply {
        let subcodeField = subcode.map { #","error_subcode":\#($0)"# } ?? ""
        let detailsField = details.map { #","error_data":{"messaging_product":"whatsapp","details":"\#($0)"}"# } ?? ""
        return .json(
            status, #"{"error":{"message":"(#\#(code)) Graph says no","type":"OAuthException","code":\#(code)\#(subcodeField)\#(detailsField),"fbtrace_id":"Az"}}"#,
            headers: headers)
    }

    @Test("131047: the 24-hour window is closed, only a template may go")
    func reengagement() async {
        let error = await sendError(
            Self.graph(400, code: 131047, details: "Message failed to send because more than 24 hours have passed since the customer last replied to this number."))
        #expect(error?.code == .reengagementRequired)
        #expect(error?.retryable == false)
        #expect(error?.platformCode == 131047)
        #expect(error?.message.hasPrefix("more than 24 hours have passed since the customer last replied: only a template may be sent") == true)
    }

    @Test("131026: the number cannot receive")
    func undeliverable() async {
        let error = await sendError(Self.graph(400, code: 131026, details: "Receiver is incapable of receiving this message"))
        #expect(error?.code == .undeliverable)
        #expect(error?.retryable == false)
        #expect(error?.platformCode == 131026)
        #expect(error?.message.contains("Receiver is incapable") == true)
    }

    @Test("throttling codes and HTTP 429 are rate limited, retried after Retry-After")
    func rateLimited() async {
        for code in [130429, 131056, 131048, 4, 80007] {
            let error = await sendError(Self.graph(400, code: code, headers: [.retryAfter: "45"]))
            #expect(error?.code == .rateLimited)
            #expect(error?.retryable == true)
            #expect(error?.retryAfter == 45)
            #expect(error?.platformCode == code)
        }
        let plain = await sendError(.json(429, "Too Many Requests"))
        #expect(plain?.code == .rateLimited)
        #expect(plain?.retryable == true)
        #expect(plain?.platformCode == nil)
    }

    @Test("190 or HTTP 401 refuse the token; other 4xx fail for good; 5xx and the network are retried")
    func otherCodes() async {
        let expired = await sendError(Self.graph(400, code: 190, subcode: 463))
        #expect(expired?.code == .credentialsRejected)
        #expect(expired?.platformCode == 190)
        #expect(expired?.message.contains("190/463") == true)
        let unauthorized = await sendError(.json(401, "{}"))
        #expect(unauthorized?.code == .credentialsRejected)

        let invalid = await sendError(Self.graph(400, code: 100, subcode: 2_494_010, details: "Parameter value is not valid"))
        #expect(invalid?.code == .sendFailed)
        #expect(invalid?.retryable == false)
        #expect(invalid?.platformCode == 100)

        let server = await sendError(Self.graph(503, code: 131000))
        #expect(server?.code == .sendFailed)
        #expect(server?.retryable == true)
        #expect(server?.platformCode == 131000)

        let network = await sendError(.networkFailure("Bearer \(WhatsApp.accessToken)"))
        #expect(network?.code == .sendFailed)
        #expect(network?.retryable == true)
        #expect(network?.description.contains(WhatsApp.accessToken) == false)

        let quoted = await sendError(
            Self.graph(400, code: 131047, details: "token \(WhatsApp.accessToken) in details"))
        #expect(quoted?.description.contains(WhatsApp.accessToken) == false)
    }
}
