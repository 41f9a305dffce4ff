import ConnectorKit
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import SwitchboardApp
import SwitchboardProvidersTesting
import Testing

/// WhatsApp's 24-hour customer service window through the server: past it the agent is
/// not called and nothing is charged, a person's answer is refused, and an approved
/// template still goes — into the conversation or to a number that never wrote. Graph's
/// error codes become states on the message and the channel.
@Suite("WhatsApp: the messaging window, templates and Graph's error states")
struct WhatsAppWindowTests {
    static let appSecret = "wa-app-secret-for-tests-0123456789"
    static let wabaID = "102290129340398"
    static let templates = #"""
        {"data": [
          {"name": "order_ready", "language": "ru", "status": "APPROVED", "category": "UTILITY", "id": "1",
           "components": [{"type": "BODY", "text": "Заказ {{1}} готов, забрать до {{2}}."}]},
          {"name": "order_ready", "language": "en_US", "status": "APPROVED", "category": "UTILITY", "id": "2",
           "components": [{"type": "BODY", "text": "Order {{1}} is ready until {{2}}."}]},
          {"name": "spring_sale", "language": "ru", "status": "REJECTED", "category": "MARKETING", "id": "3",
           "components": [{"type": "BODY", "text": "Скидки!"}]}
        ], "paging": {"cursors": {"before": "a", "after": "b"}}}
        """#

    func signed(_ body: [UInt8]) -> HTTPFields {
        var fields = HTTPFields()
        fields[HTTPField.Name("X-Hub-Signature-256")!] = "sha256=" + Signature.hmacSHA256Hex(message: body, key: Array(Self.appSecret.utf8))
        return fields
    }

    /// A tenant with an agent answering a WhatsApp channel whose Graph API is `graph`.
    func setUp(_ client: any TestClientProtocol, graph: FakeGraph, model: FakeModelServer) async throws -> (key: String, channel: String) {
        let tenant = try await createTenant(client, trialMicros: 100_000_000)
        let provider = try await createProvider(
            client, key: tenant.key, ["name": "OpenAI", "kind": "openai", "base_url": model.openAIBase, "api_key": "sk-test", "region": "us"]
        )
        let agent = try await createAgent(client, key: tenant.key, ["name": "Shop", "provider_id": provider, "model": "gpt-4o-mini", "system_prompt": "Be brief."])
        let created = try await client.execute(
            uri: "/v1/channels", method: .post, headers: headers(bearer: tenant.key),
            body: json([
                "kind": "whatsapp", "name": "WA", "agent_id": agent,
                "credentials": [
                    "phone_number_id": "106540352242922", "access_token": graph.token, "app_secret": Self.appSecret,
                    "verify_token": "verify-me-long-enough", "waba_id": Self.wabaID,
                ],
            ])
        ) { $0 }
        #expect(created.status == .created, "\(String(buffer: created.body))")
        return (tenant.key, try #require(try object(created)["id"] as? String))
    }

    func balance(_ client: any TestClientProtocol, key: String) async throws -> (Int, Int) {
        let credits = try object(try await client.execute(uri: "/v1/credits", method: .get, headers: headers(bearer: key)) { $0 })
        return (credits["balance_micros"] as? Int ?? -1, credits["held_micros"] as? Int ?? -1)
    }

    @Test("past 24 hours no model is called and nothing is charged, the reason shows; a person is refused 409; an approved template still goes, checked against the platform's list")
    func windowAndTemplates() async throws {
        try await FakeModelServer.withServer { model in
            try await withFakeGraph { graph in
                graph.setTemplates(wabaID: Self.wabaID, json: Self.templates)
                try await withAgentApp(telegramBase: "http://127.0.0.1:9", graphBase: graph.base) { client, harness in
                    let (key, channel) = try await setUp(client, graph: graph, model: model)
                    let before = try await balance(client, key: key)
                    let message = try whatsappFixture("text", at: harness.clock.now())
                    #expect(try await deliver(client, channel: channel, body: message, headers: signed(message)).status == .ok)
                    // The worker comes to it 25 hours later (a backlog, an outage).
                    harness.clock.advance(seconds: 25 * 3600)
                    #expect(try await harness.drain() == 1)
                    #expect(await model.requests.isEmpty, "no model call past the window")
                    #expect(graph.sentCount == 0)
                    #expect(try await balance(client, key: key) == before, "nothing held, nothing charged")
                    var (conversation, messages) = try await conversationMessages(client, key: key)
                    #expect(messages.count == 1)
                    #expect(messages.first?["reply_status"] as? String == "skipped")
                    let reason = messages.first?["reply_error"] as? String ?? ""
                    #expect(reason.hasPrefix("window_closed:") && reason.contains("template"), "\(reason)")

                    // A person cannot answer free-form now: nothing is stored.
                    let refused = try await client.execute(
                        uri: "/v1/conversations/\(conversation)/messages", method: .post, headers: headers(bearer: key), body: json(["text": "Да, открыто"])
                    ) { $0 }
                    #expect(refused.status == .conflict)
                    let error = try #require(try object(refused)["error"] as? [String: Any])
                    #expect(error["code"] as? String == "window_closed")
                    #expect((error["message"] as? String)?.contains("template") == true)
                    (_, messages) = try await conversationMessages(client, key: key)
                    #expect(messages.count == 1)

                    // The number's templates, as the platform keeps them.
                    let listed = try await client.execute(uri: "/v1/channels/\(channel)/templates", method: .get, headers: headers(bearer: key)) { $0 }
                    #expect(listed.status == .ok)
                    let data = try #require(try object(listed)["data"] as? [[String: Any]])
                    #expect(data.count == 3)
                    #expect(data.first?["parameter_count"] as? Int == 2)
                    #expect(data.first?["body"] as? String == "Заказ {{1}} готов, забрать до {{2}}.")
                    #expect(graph.log.all.contains { $0.path.contains("/\(Self.wabaID)/message_templates") })

                    // Refused before anything is stored: unknown, not approved, wrong parameters.
                    for (body, status, field) in [
                        (["name": "order_shipped", "language": "ru"] as [String: Any], HTTPResponse.Status.badRequest, "name"),
                        (["name": "order_ready", "language": "kk"], .badRequest, "name"),
                        (["name": "spring_sale", "language": "ru"], .conflict, "name"),
                        (["name": "order_ready", "language": "ru", "parameters": ["17"]], .badRequest, "parameters"),
                        (["name": "Order Ready", "language": "ru"], .badRequest, "name"),
                        (["name": "order_ready", "language": "ru", "parameters": ["17", String(repeating: "x", count: 1025)]], .badRequest, "parameters"),
                    ] {
                        let response = try await client.execute(
                            uri: "/v1/conversations/\(conversation)/template", method: .post, headers: headers(bearer: key), body: json(body)
                        ) { $0 }
                        #expect(response.status == status, "\(body): \(String(buffer: response.body))")
                        #expect((try object(response)["error"] as? [String: Any])?["field"] as? String == field)
                    }
                    (_, messages) = try await conversationMessages(client, key: key)
                    #expect(messages.count == 1)

                    let sent = try await client.execute(
                        uri: "/v1/conversations/\(conversation)/template", method: .post, headers: headers(bearer: key),
                        body: json(["name": "order_ready", "language": "ru", "parameters": ["17", "18:00"]])
                    ) { $0 }
                    #expect(sent.status == .accepted, "\(String(buffer: sent.body))")
                    let stored = try object(sent)
                    #expect(stored["text"] as? String == "Заказ 17 готов, забрать до 18:00.")
                    #expect((stored["template"] as? [String: Any])?["name"] as? String == "order_ready")
                    #expect(try await harness.drain() == 1)
                    let send = try #require(graph.log.calls("messages").last)
                    #expect(send.json["type"] == "template")
                    #expect(String(decoding: send.body, as: UTF8.self).contains(#""parameters":[{"text":"17","type":"text"},{"text":"18:00","type":"text"}]"#)
                            || String(decoding: send.body, as: UTF8.self).contains("18:00"))
                    (conversation, messages) = try await conversationMessages(client, key: key)
                    #expect(messages.last?["delivery_status"] as? String == "sent")
                }
            }
        }
    }

    @Test("a conversation started by the business: the contact and conversation are made for a number that never wrote, and the template is sent to it")
    func outbound() async throws {
        try await FakeModelServer.withServer { model in
            try await withFakeGraph { graph in
                graph.setTemplates(wabaID: Self.wabaID, json: Self.templates)
                try await withAgentApp(telegramBase: "http://127.0.0.1:9", graphBase: graph.base) { client, harness in
                    let (key, channel) = try await setUp(client, graph: graph, model: model)
                    for (to, field) in [("12", "to"), ("+7 (701) abc", "to"), ("", "to")] {
                        let response = try await client.execute(
                            uri: "/v1/channels/\(channel)/outbound", method: .post, headers: headers(bearer: key),
                            body: json(["to": to, "template": ["name": "order_ready", "language": "ru", "parameters": ["1", "2"]]])
                        ) { $0 }
                        #expect(response.status == .badRequest)
                        #expect((try object(response)["error"] as? [String: Any])?["field"] as? String == field)
                    }
                    let started = try await client.execute(
                        uri: "/v1/channels/\(channel)/outbound", method: .post, headers: headers(bearer: key),
                        body: json(["to": "+7 701 555-01-01", "template": ["name": "order_ready", "language": "en_US", "parameters": ["17", "6 pm"]]])
                    ) { $0 }
                    #expect(started.status == .created, "\(String(buffer: started.body))")
                    let conversation = try object(started)
                    #expect(conversation["channel_id"] as? String == channel)
                    #expect(try await harness.drain() == 1)
                    let send = try #require(graph.log.calls("messages").last)
                    #expect(send.json["to"] == "77015550101")
                    #expect(send.json["type"] == "template")
                    // The same number again: the same contact and open conversation.
                    let again = try await client.execute(
                        uri: "/v1/channels/\(channel)/outbound", method: .post, headers: headers(bearer: key),
                        body: json(["to": "77015550101", "template": ["name": "order_ready", "language": "en_US", "parameters": ["18", "7 pm"]]])
                    ) { $0 }
                    #expect(try object(again)["id"] as? String == conversation["id"] as? String)
                    #expect(try await harness.count("SELECT count(*)::int FROM contacts") == 1)
                    // A channel of another kind has no templates.
                    let telegram = try await createChannel(client, key: key, kind: "telegram", credentials: ["bot_token": "7001:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1"])
                    let none = try await client.execute(uri: "/v1/channels/\(telegram.id)/templates", method: .get, headers: headers(bearer: key)) { $0 }
                    #expect(none.status == .conflict)
                    // Another tenant's channel is not found.
                    let other = try await createTenant(client)
                    let hidden = try await client.execute(uri: "/v1/channels/\(channel)/templates", method: .get, headers: headers(bearer: other.key)) { $0 }
                    #expect(hidden.status == .notFound)
                }
            }
        }
    }

    @Test("Graph's errors become states: 131047 marks the answer reengagement_required; 190 marks the channel needs_credentials until new credentials")
    func errorStates() async throws {
        try await FakeModelServer.withServer { model in
            try await withFakeGraph { graph in
                try await withAgentApp(telegramBase: "http://127.0.0.1:9", graphBase: graph.base) { client, harness in
                    let (key, channel) = try await setUp(client, graph: graph, model: model)
                    graph.failNext(path: "/messages", status: 400, code: 131047, message: "Re-engagement message")
                    let first = try whatsappFixture("text", at: harness.clock.now())
                    #expect(try await deliver(client, channel: channel, body: first, headers: signed(first)).status == .ok)
                    #expect(try await harness.drain() >= 1)
                    var (_, messages) = try await conversationMessages(client, key: key)
                    let answer = try #require(messages.last)
                    #expect(answer["delivery_status"] as? String == "failed")
                    #expect(answer["delivery_error_code"] as? String == "reengagement_required")

                    graph.failNext(path: "/messages", status: 401, code: 190, message: "Error validating access token: Session has expired")
                    var second = String(decoding: try whatsappFixture("text", at: harness.clock.now()), as: UTF8.self)
                    second = second.replacingOccurrences(of: "wamid.HBgLNzcwMTEyMzQ1NjcVAgASGBQzQTk4RkE1QTc1QjQ0QkQ2QjQ2AA==", with: "wamid.second")
                    #expect(try await deliver(client, channel: channel, body: Array(second.utf8), headers: signed(Array(second.utf8))).status == .ok)
                    #expect(try await harness.drain() >= 1)
                    (_, messages) = try await conversationMessages(client, key: key)
                    #expect(messages.last?["delivery_error_code"] as? String == "credentials_rejected")
                    var state = try #require(try object(try await client.execute(uri: "/v1/channels/\(channel)", method: .get, headers: headers(bearer: key)) { $0 })["state"] as? [String: Any])
                    #expect(state["status"] as? String == "needs_credentials")
                    #expect((state["last_error"] as? String)?.contains("190") == true, "\(state)")

                    let patched = try await client.execute(
                        uri: "/v1/channels/\(channel)", method: .patch, headers: headers(bearer: key),
                        body: json(["credentials": [
                            "phone_number_id": "106540352242922", "access_token": graph.token, "app_secret": Self.appSecret,
                            "verify_token": "verify-me-long-enough", "waba_id": Self.wabaID,
                        ]])
                    ) { $0 }
                    #expect(patched.status == .ok, "\(String(buffer: patched.body))")
                    state = try #require(try object(patched)["state"] as? [String: Any])
                    #expect(state["status"] as? String == "connected")
                    #expect(state["last_event_at"] is String, "the deliveries above are the channel's last events: \(state)")
                }
            }
        }
    }
}
