import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import SwitchboardApp
import SwitchboardProvidersTesting
import SwitchboardTestSupport
import Testing

@Suite("People in the loop: handoff by keyword, by API, by the local provider; a person's answer")
struct AgentHandoffTests {
    @Test("a handoff keyword hands the conversation to a person without calling the model; resume gives it back")
    func keywordHandoffAndResume() async throws {
        try await withAgentWorld { model, telegram, client, harness in
            let setup = try await setUpAgent(client, model: model, agent: ["handoff_keywords": ["оператор", "human agent"]])
            _ = try await deliver(
                client, channel: setup.channel.id, body: telegramUpdate(updateID: 1, text: "Позовите ОПЕРАТОР, пожалуйста"),
                headers: telegramHeaders(setup.secret)
            )
            #expect(try await harness.drain() == 1)
            #expect(await model.requests.isEmpty)
            let (id, messages) = try await conversationMessages(client, key: setup.tenant.key)
            #expect(messages.first?["reply_status"] as? String == "handed_off")
            let handedOff = try await conversation(client, key: setup.tenant.key, id)
            #expect(handedOff["mode"] as? String == "human")
            #expect(handedOff["handoff_reason"] as? String == "keyword")
            // The team's inbox: conversations handed to a person.
            #expect(try await listData(client, "/v1/conversations?mode=human", key: setup.tenant.key).map { $0["id"] as? String } == [id])
            #expect(try await listData(client, "/v1/conversations?mode=ai", key: setup.tenant.key).isEmpty)
            let badMode = try await client.execute(uri: "/v1/conversations?mode=robot", method: .get, headers: headers(bearer: setup.tenant.key)) { $0 }
            try expectError(badMode, .badRequest, "invalid_request", field: "mode")

            // While a person answers, new messages get no AI answer.
            _ = try await deliver(client, channel: setup.channel.id, body: telegramUpdate(updateID: 2, messageID: 18, text: "Алло?"), headers: telegramHeaders(setup.secret))
            #expect(try await harness.drain() == 1)
            #expect(await model.requests.isEmpty)

            let resumed = try await client.execute(uri: "/v1/conversations/\(id)/resume", method: .post, headers: headers(bearer: setup.tenant.key)) { $0 }
            #expect(resumed.status == .ok)
            #expect(try object(resumed)["mode"] as? String == "ai")
            _ = try await deliver(client, channel: setup.channel.id, body: telegramUpdate(updateID: 3, messageID: 19, text: "Сколько стоит?"), headers: telegramHeaders(setup.secret))
            #expect(try await harness.drain() == 1)
            #expect(await model.requests.count == 1)
            #expect(telegram.calls("sendMessage").map { $0.json["text"] } == ["reply to: Сколько стоит?"])
        }
    }

    @Test("handoff by API stops the agent; a person's answer goes out through the channel once")
    func personAnswers() async throws {
        try await withAgentWorld { model, telegram, client, harness in
            let setup = try await setUpAgent(client, model: model)
            _ = try await deliver(client, channel: setup.channel.id, body: try fixture("text_private"), headers: telegramHeaders(setup.secret))
            let (id, _) = try await conversationMessages(client, key: setup.tenant.key)
            let handoff = try await client.execute(
                uri: "/v1/conversations/\(id)/handoff", method: .post, headers: headers(bearer: setup.tenant.key),
                body: json(["reason": "VIP customer"])
            ) { $0 }
            #expect(handoff.status == .ok)
            #expect(try object(handoff)["handoff_reason"] as? String == "VIP customer")
            #expect(try await harness.drain() == 1)
            #expect(await model.requests.isEmpty)

            let posted = try await client.execute(
                uri: "/v1/conversations/\(id)/messages", method: .post, headers: headers(bearer: setup.tenant.key),
                body: json(["text": "Здравствуйте, это Алия из магазина."])
            ) { $0 }
            #expect(posted.status == .accepted, "body: \(String(buffer: posted.body))")
            let message = try object(posted)
            #expect(message["ai_generated"] as? Bool == false)
            #expect(message["delivery_status"] as? String == "pending")
            #expect(try await harness.drain() == 1)
            #expect(try await harness.drain() == 0)
            #expect(telegram.calls("sendMessage").map { $0.json["text"] } == ["Здравствуйте, это Алия из магазина."])
            let (_, messages) = try await conversationMessages(client, key: setup.tenant.key)
            #expect(messages.last?["delivery_status"] as? String == "sent")

            // Bad input: empty text, unknown fields, another tenant's conversation.
            let empty = try await client.execute(
                uri: "/v1/conversations/\(id)/messages", method: .post, headers: headers(bearer: setup.tenant.key), body: json(["text": "  "])
            ) { $0 }
            try expectError(empty, .badRequest, "invalid_request", field: "text")
            let unknown = try await client.execute(
                uri: "/v1/conversations/\(id)/messages", method: .post, headers: headers(bearer: setup.tenant.key),
                body: json(["text": "hi", "ai_generated": true])
            ) { $0 }
            try expectError(unknown, .badRequest, "invalid_request", field: "ai_generated")
            let other = try await createTenant(client)
            for path in ["messages", "handoff", "resume"] {
                let response = try await client.execute(
                    uri: "/v1/conversations/\(id)/\(path)", method: .post, headers: headers(bearer: other.key),
                    body: json(path == "messages" ? ["text": "x"] : [:])
                ) { $0 }
                try expectError(response, .notFound, "not_found")
            }
        }
    }

    @Test("the local provider answers from the FAQ, and hands off when nothing matches — no model provider at all")
    func localFAQ() async throws {
        try await withAgentWorld { model, telegram, client, harness in
            let setup = try await setUpAgent(
                client, model: model,
                agent: [
                    "model": "faq",
                    "faq": [
                        ["question": "Сколько стоит доставка в Астану?", "answer": "Доставка в Астану — 2 000 ₸."],
                        ["question": "What are your opening hours?", "answer": "We are open 9:00–21:00."],
                    ],
                ],
                provider: ["name": "FAQ", "kind": "local"]
            )
            _ = try await deliver(
                client, channel: setup.channel.id, body: telegramUpdate(updateID: 1, text: "Сколько стоит доставка в Астану?"),
                headers: telegramHeaders(setup.secret)
            )
            #expect(try await harness.drain() == 1)
            #expect(telegram.calls("sendMessage").map { $0.json["text"] } == ["Доставка в Астану — 2 000 ₸."])

            _ = try await deliver(
                client, channel: setup.channel.id, body: telegramUpdate(updateID: 2, messageID: 18, text: "Можно вернуть товар?"),
                headers: telegramHeaders(setup.secret)
            )
            #expect(try await harness.drain() == 1)
            let (id, messages) = try await conversationMessages(client, key: setup.tenant.key)
            #expect(messages.last?["reply_status"] as? String == "handed_off")
            #expect(try await conversation(client, key: setup.tenant.key, id)["handoff_reason"] as? String == "no_answer")
            #expect(telegram.calls("sendMessage").count == 1)
            #expect(await model.requests.isEmpty)
        }
    }

    @Test("a pressed Telegram button is acknowledged (answerCallbackQuery), then answered, even when a person is answering")
    func callbackQueryIsAcknowledged() async throws {
        try await withAgentWorld { model, telegram, client, harness in
            let setup = try await setUpAgent(client, model: model)
            _ = try await deliver(client, channel: setup.channel.id, body: try fixture("callback_query"), headers: telegramHeaders(setup.secret))
            #expect(try await harness.drain() == 1)
            #expect(telegram.calls("answerCallbackQuery").map { $0.json["callback_query_id"] } == ["2231554443339900123"])
            #expect(telegram.calls("sendMessage").map { $0.json["text"] } == ["reply to: city:astana"])
            let order = telegram.all.map { $0.path.split(separator: "/").last.map(String.init) ?? "" }
            #expect(order == ["answerCallbackQuery", "sendMessage"])

            // Handed to a person: the button is still acknowledged, and nothing is sent.
            let (id, _) = try await conversationMessages(client, key: setup.tenant.key)
            _ = try await client.execute(uri: "/v1/conversations/\(id)/handoff", method: .post, headers: headers(bearer: setup.tenant.key)) { $0 }
            var second = try JSONSerialization.jsonObject(with: Data(try fixture("callback_query"))) as! [String: Any]
            second["update_id"] = 811000999
            var query = second["callback_query"] as! [String: Any]
            query["id"] = "2231554443339900999"
            second["callback_query"] = query
            _ = try await deliver(
                client, channel: setup.channel.id, body: Array(try JSONSerialization.data(withJSONObject: second)),
                headers: telegramHeaders(setup.secret)
            )
            #expect(try await harness.drain() == 1)
            #expect(telegram.calls("answerCallbackQuery").count == 2)
            #expect(telegram.calls("sendMessage").count == 1)
        }
    }
}
