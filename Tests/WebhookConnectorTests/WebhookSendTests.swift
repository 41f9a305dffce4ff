import ConnectorKit
import ConnectorKitTesting
import Foundation
import HTTPTypes
import Testing
import WebhookConnector

@Suite("Generic webhook replies")
struct WebhookSendTests {
    let connector = Webhook.connector

    struct ReplyBody: Decodable, Equatable {
        struct Contact: Decodable, Equatable {
            var id: String?
            var external_id: String
        }

        var event_id: String
        var conversation_id: String?
        var contact: Contact
        var text: String
        var ai_generated: Bool
        var in_reply_to: String?
    }

    let reply = OutboundMessage(
        chatExternalID: "crm-customer-4411", text: "Конечно, пришлите номер заказа 📦", idempotencyKey: "msg_01JD70AAA",
        context: [
            "conversation_id": "conv_01JD6Z9", "contact_id": "ct_01JD6Z9", "contact_external_id": "crm-customer-4411",
            "ai_generated": "true", "in_reply_to": "evt_01JD6Z8Q3W4C9V2XK7M5N0PBRT",
        ])

    func sendError(_ answer: RecordingHTTPClient.Reply) async -> ConnectorError? {
        let http = RecordingHTTPClient(defaultReply: answer)
        do {
            _ = try await connector.send(reply, credentials: Webhook.credentials, http: http)
            return nil
        } catch {
            return error
        }
    }

    @Test("a reply is POSTed to the callback URL as signed JSON")
    func sendsSignedReply() async throws {
        let http = RecordingHTTPClient(defaultReply: .json(200, "{}"))
        let receipt = try await connector.send(reply, credentials: Webhook.credentials, http: http)
        #expect(receipt == SendReceipt(externalIDs: ["msg_01JD70AAA"]))

        let recorded = try #require(http.requests.first)
        #expect(http.requests.count == 1)
        #expect(recorded.request.method == .post)
        #expect(recorded.request.scheme == "https")
        #expect(recorded.request.authority == "crm.example.kz")
        #expect(recorded.request.path == "/switchboard/replies?key=s3cr3t-query")
        #expect(recorded.request.headerFields[.contentType] == "application/json")
        #expect(
            try recorded.decode(ReplyBody.self)
                == ReplyBody(
                    event_id: "msg_01JD70AAA", conversation_id: "conv_01JD6Z9",
                    contact: .init(id: "ct_01JD6Z9", external_id: "crm-customer-4411"), text: "Конечно, пришлите номер заказа 📦",
                    ai_generated: true, in_reply_to: "evt_01JD6Z8Q3W4C9V2XK7M5N0PBRT"))

        // Signed with the injected clock (whole seconds), checked independently of the connector.
        let header = try #require(recorded.request.headerFields[.switchboardSignature])
        #expect(header == Webhook.header(recorded.body, t: 1_763_900_100))
        // And the receiving side of the same scheme accepts it.
        let echoed = WebhookDelivery(
            headers: [.switchboardSignature: header], body: recorded.body, receivedAt: Webhook.sendClock)
        try connector.verify(echoed, credentials: Webhook.credentials)
    }

    @Test("ai_generated is false unless the context says true; in_reply_to is left out when absent")
    func optionalFields() async throws {
        var message = reply
        message.context = ["conversation_id": "conv_1", "contact_id": "ct_1", "ai_generated": "false"]
        let http = RecordingHTTPClient(defaultReply: .json(204, ""))
        _ = try await connector.send(message, credentials: Webhook.credentials, http: http)
        let recorded = try #require(http.requests.first)
        let body = try recorded.decode(ReplyBody.self)
        #expect(body.ai_generated == false)
        #expect(body.contact.external_id == "crm-customer-4411")
        #expect(try recorded.jsonObject()["in_reply_to"] == nil)
    }

    @Test("a channel without a callback URL cannot send, and makes no request")
    func noCallbackURL() async {
        let http = RecordingHTTPClient()
        do {
            _ = try await connector.send(reply, credentials: ChannelCredentials(["signing_secret": Webhook.secret]), http: http)
            Issue.record("sent without a callback_url")
        } catch {
            #expect(error.code == .sendFailed)
            #expect(error.retryable == false)
            #expect(error.message == "the channel has no callback_url")
        }
        #expect(http.requests.isEmpty)
    }

    @Test("408, 429 and 5xx are retried, honouring Retry-After in seconds or as a date")
    func retried() async {
        let cases: [(RecordingHTTPClient.Reply, Int?)] = [
            (.json(408, ""), nil), (.json(429, "", headers: [.retryAfter: "120"]), 120), (.json(500, ""), nil),
            (.json(503, "", headers: [.retryAfter: "Sun, 23 Nov 2025 12:16:00 GMT"]), nil), (.networkFailure(), nil),
        ]
        for (answer, retryAfter) in cases {
            let error = await sendError(answer)
            #expect(error?.code == .sendFailed)
            #expect(error?.retryable == true)
            if let retryAfter { #expect(error?.retryAfter == retryAfter) }
        }
        // 1763900100.75 is 2025-11-23T12:15:00.75Z: the date is 59.25 s later, rounded up.
        let dated = await sendError(.json(503, "", headers: [.retryAfter: "Sun, 23 Nov 2025 12:16:00 GMT"]))
        #expect(dated?.retryAfter == 60)
    }

    @Test("other answers are not retried", arguments: [301, 400, 401, 403, 404, 410, 422])
    func notRetried(status: Int) async {
        let error = await sendError(.json(status, ""))
        #expect(error?.code == .sendFailed)
        #expect(error?.retryable == false)
    }

    @Test("no error repeats the callback URL's query or the signing secret")
    func noSecretsInErrors() async {
        for answer: RecordingHTTPClient.Reply in [
            .networkFailure("could not connect to \(Webhook.callbackURL)"), .json(500, Webhook.callbackURL), .json(400, Webhook.secret),
        ] {
            let error = await sendError(answer)
            let text = String(describing: error)
            #expect(error != nil)
            #expect(!text.contains("s3cr3t-query"))
            #expect(!text.contains(Webhook.secret))
        }
    }
}
