import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import PostgresNIO
import SwitchboardApp
import SwitchboardCore
import SwitchboardPostgres
import SwitchboardProviders
import SwitchboardProvidersTesting
import SwitchboardTestSupport
import Testing

@Suite("Agent tools: the agent loop runs built-in tools, charges each round, and records every call")
struct AgentToolTests {
    func inbound(_ client: any TestClientProtocol, _ key: String) async throws -> (conversation: String, message: [String: Any], all: [[String: Any]]) {
        let (id, messages) = try await conversationMessages(client, key: key)
        let inbound = try #require(messages.first { $0["direction"] as? String == "inbound" })
        return (id, inbound, messages)
    }

    func toolCalls(_ message: [String: Any]) throws -> [[String: Any]] {
        try #require(message["tool_calls"] as? [[String: Any]], "message: \(message)")
    }

    @Test("a model that renames the contact, then answers: one answer, the contact renamed, two calls each charged, the call shown")
    func contactUpdateThenAnswer() async throws {
        try await withAgentWorld { model, telegram, client, harness in
            let setup = try await setUpAgent(client, model: model, agent: ["tools": [["builtin": "contact_update"], ["builtin": "note_add"]]])
            await model.enqueue(.toolCalls([FakeToolCall("contact_update", #"{"name": "Aigerim"}"#)]), .answer("Рада знакомству, Aigerim!"))
            _ = try await deliver(client, channel: setup.channel.id, body: try fixture("text_private"), headers: telegramHeaders(setup.secret))
            #expect(try await harness.drain() == 1)
            #expect(telegram.calls("sendMessage").count == 1)
            let requests = await model.requests
            #expect(requests.count == 2)
            // Both calls offer the tools; the second carries the call and its result.
            #expect(requests.allSatisfy { $0.json?["tools"] != nil })
            let second = String(decoding: try #require(requests.last).body, as: UTF8.self)
            #expect(second.contains("the contact was updated"))

            let contacts = try await listData(client, "/v1/contacts", key: setup.tenant.key)
            #expect(contacts.count == 1)
            #expect(contacts.first?["display_name"] as? String == "Aigerim")

            let entries = try await listData(client, "/v1/credits/ledger", key: setup.tenant.key)
            #expect(entries.filter { $0["kind"] as? String == "capture" }.count == 2)
            #expect(entries.filter { $0["kind"] as? String == "hold" }.count == 2)
            let credits = try await client.execute(uri: "/v1/credits", method: .get, headers: headers(bearer: setup.tenant.key)) { try object($0) }
            #expect(credits["held_micros"] as? Int == 0)
            #expect(try await harness.count("SELECT count(*) FROM model_calls") == 2)

            let (_, message, all) = try await inbound(client, setup.tenant.key)
            #expect(message["reply_status"] as? String == "answered")
            let calls = try toolCalls(message)
            #expect(calls.count == 1)
            #expect(calls.first?["round"] as? Int == 1)
            #expect(calls.first?["name"] as? String == "contact_update")
            #expect(calls.first?["arguments"] as? String == #"{"name": "Aigerim"}"#)
            #expect(calls.first?["result"] as? String == "the contact was updated")
            #expect(calls.first?["is_error"] as? Bool == false)
            let answer = try #require(all.first { $0["direction"] as? String == "outbound" })
            #expect(answer["text"] as? String == "Рада знакомству, Aigerim!")
            #expect(try toolCalls(answer).isEmpty)

            // The agent shows its tools.
            let agent = try await client.execute(uri: "/v1/agents/\(setup.agentID)", method: .get, headers: headers(bearer: setup.tenant.key)) { try object($0) }
            #expect((agent["tools"] as? [[String: String]]) == [["builtin": "contact_update"], ["builtin": "note_add"]])
        }
    }

    @Test("an unknown tool and arguments that do not parse get error results; the model then answers")
    func unknownTool() async throws {
        try await withAgentWorld { model, telegram, client, harness in
            let setup = try await setUpAgent(client, model: model, agent: ["tools": [["builtin": "note_add"]]])
            await model.enqueue(
                .toolCalls([FakeToolCall("delete_everything", "{}"), FakeToolCall("note_add", "not json")]), .answer("Sorry, done.")
            )
            _ = try await deliver(client, channel: setup.channel.id, body: try fixture("text_private"), headers: telegramHeaders(setup.secret))
            #expect(try await harness.drain() == 1)
            #expect(telegram.calls("sendMessage").count == 1)
            #expect(await model.requests.count == 2)
            let (_, message, _) = try await inbound(client, setup.tenant.key)
            let calls = try toolCalls(message)
            #expect(calls.map { $0["name"] as? String } == ["delete_everything", "note_add"])
            #expect(calls.allSatisfy { $0["is_error"] as? Bool == true })
            #expect((calls.first?["result"] as? String)?.contains("there is no tool delete_everything") == true)
            #expect((calls.last?["result"] as? String)?.contains("not a JSON object") == true)
            #expect(try await harness.count("SELECT count(*) FROM notes") == 0)
        }
    }

    @Test("a model that keeps calling tools stops after 4 rounds and hands the conversation to a person")
    func roundsRunOut() async throws {
        try await withAgentWorld { model, telegram, client, harness in
            let setup = try await setUpAgent(client, model: model, agent: ["tools": [["builtin": "note_add"]]])
            for index in 1...5 {
                await model.enqueue(.toolCalls([FakeToolCall("note_add", #"{"text": "note \#(index)"}"#)]))
            }
            _ = try await deliver(client, channel: setup.channel.id, body: try fixture("text_private"), headers: telegramHeaders(setup.secret))
            #expect(try await harness.drain() == 1)
            #expect(telegram.calls("sendMessage").isEmpty)
            #expect(await model.requests.count == 4)
            let (conversationID, message, _) = try await inbound(client, setup.tenant.key)
            #expect(message["reply_status"] as? String == "handed_off")
            #expect(message["reply_error"] as? String == "the agent used its tool rounds without answering")
            #expect(try toolCalls(message).map { $0["round"] as? Int } == [1, 2, 3])
            #expect(try await harness.count("SELECT count(*) FROM notes") == 3)
            let handedOff = try await conversation(client, key: setup.tenant.key, conversationID)
            #expect(handedOff["mode"] as? String == "human")
            // Every round charged (tokens only: no answer), nothing left held.
            let entries = try await listData(client, "/v1/credits/ledger", key: setup.tenant.key)
            #expect(entries.filter { $0["kind"] as? String == "capture" }.count == 4)
            let credits = try await client.execute(uri: "/v1/credits", method: .get, headers: headers(bearer: setup.tenant.key)) { try object($0) }
            #expect(credits["held_micros"] as? Int == 0)
        }
    }

    @Test("handoff hands the conversation to a person at once, with the model's reason")
    func handoffTool() async throws {
        try await withAgentWorld { model, telegram, client, harness in
            let setup = try await setUpAgent(client, model: model, agent: ["tools": [["builtin": "handoff"], ["builtin": "note_add"]]])
            await model.enqueue(
                .toolCalls([FakeToolCall("handoff", #"{"reason": "wants a refund"}"#), FakeToolCall("note_add", #"{"text": "x"}"#)])
            )
            _ = try await deliver(client, channel: setup.channel.id, body: try fixture("text_private"), headers: telegramHeaders(setup.secret))
            #expect(try await harness.drain() == 1)
            #expect(telegram.calls("sendMessage").isEmpty)
            #expect(await model.requests.count == 1)
            let (conversationID, message, _) = try await inbound(client, setup.tenant.key)
            #expect(message["reply_status"] as? String == "handed_off")
            #expect((message["reply_error"] as? String)?.contains("wants a refund") == true)
            #expect(try toolCalls(message).map { $0["name"] as? String } == ["handoff"])
            #expect(try await harness.count("SELECT count(*) FROM notes") == 0)
            let handedOff = try await conversation(client, key: setup.tenant.key, conversationID)
            #expect(handedOff["mode"] as? String == "human")
        }
    }

    @Test("close_conversation closes the conversation once the answer is stored")
    func closeConversation() async throws {
        try await withAgentWorld { model, telegram, client, harness in
            let setup = try await setUpAgent(client, model: model, agent: ["tools": [["builtin": "close_conversation"]]])
            await model.enqueue(.toolCalls([FakeToolCall("close_conversation", #"{"reason": "the order is confirmed"}"#)]), .answer("Goodbye!"))
            _ = try await deliver(client, channel: setup.channel.id, body: try fixture("text_private"), headers: telegramHeaders(setup.secret))
            #expect(try await harness.drain() == 1)
            #expect(telegram.calls("sendMessage").count == 1)
            let (conversationID, message, _) = try await inbound(client, setup.tenant.key)
            #expect(message["reply_status"] as? String == "answered")
            let closed = try await conversation(client, key: setup.tenant.key, conversationID)
            #expect(closed["status"] as? String == "closed")
        }
    }

    @Test("a retried reply does not do a call again: note_add once per (message, round, tool and arguments), whatever id the model gives it")
    func retriedCallOnce() async throws {
        try await withAgentWorld { model, telegram, client, harness in
            let setup = try await setUpAgent(client, model: model, agent: ["tools": [["builtin": "note_add"]]])
            await model.enqueue(.toolCalls([FakeToolCall("note_add", #"{"text": "prefers evening calls"}"#)]), .answer("Noted."))
            _ = try await deliver(client, channel: setup.channel.id, body: try fixture("text_private"), headers: telegramHeaders(setup.secret))
            #expect(try await harness.drain() == 1)
            #expect(try await harness.count("SELECT count(*) FROM notes") == 1)
            // The same call again, as a retried attempt's model makes it: a new id, the same
            // arguments spaced otherwise. Nothing is done twice.
            let (conversationID, message, _) = try await inbound(client, setup.tenant.key)
            let contactID = try #require(message["contact_id"] as? String)
            let store = PostgresAgentToolStore(database: harness.bootstrap.database)
            let tenant = try #require(TenantID(setup.tenant.id))
            let callID = try #require(
                try await harness.text("SELECT call_id FROM message_tool_calls LIMIT 1")
            )
            let messageID = try #require(message["id"] as? String)
            let inboundID = try #require(MessageID(messageID))
            let again = try await store.perform(
                tenant,
                AgentToolCall(
                    inboundID: inboundID, conversationID: try #require(ConversationID(conversationID)),
                    contactID: try #require(ContactID(contactID)),
                    round: 1, callID: "retry_" + callID, name: "note_add", arguments: #"{ "text":"prefers evening calls" }"#,
                    action: .noteAdd(text: "prefers evening calls")
                ),
                logger: TestDatabase.logger
            )
            #expect(again.performed == false)
            #expect(again.result == "the note was added")
            #expect(try await harness.count("SELECT count(*) FROM notes") == 1)
            #expect(try await harness.count("SELECT count(*) FROM message_tool_calls") == 1)
            _ = telegram
        }
    }

    @Test("a contact's export carries its messages' tool calls; its erasure takes them along")
    func exportAndErase() async throws {
        try await withAgentWorld { model, _, client, harness in
            let setup = try await setUpAgent(client, model: model, agent: ["tools": [["builtin": "note_add"]]])
            await model.enqueue(.toolCalls([FakeToolCall("note_add", #"{"text": "asked about delivery"}"#)]), .answer("Sure."))
            _ = try await deliver(client, channel: setup.channel.id, body: try fixture("text_private"), headers: telegramHeaders(setup.secret))
            #expect(try await harness.drain() == 1)
            let (_, message, _) = try await inbound(client, setup.tenant.key)
            let contactID = try #require(message["contact_id"] as? String)
            let export = try await client.execute(
                uri: "/v1/contacts/\(contactID)/export", method: .get, headers: headers(bearer: setup.tenant.key)
            ) { try object($0) }
            let conversations = try #require(export["conversations"] as? [[String: Any]])
            let messages = try #require(conversations.first?["messages"] as? [[String: Any]])
            let exported = try #require(messages.first { $0["direction"] as? String == "inbound" })
            let calls = try #require(exported["tool_calls"] as? [[String: Any]])
            #expect(calls.map { $0["name"] as? String } == ["note_add"])
            #expect(calls.first?["result"] as? String == "the note was added")
            #expect(calls.first?["tenant_id"] == nil)
            let erased = try await client.execute(
                uri: "/v1/contacts/\(contactID)", method: .delete, headers: headers(bearer: setup.tenant.key)
            ) { $0 }
            #expect(erased.status == .ok, "body: \(String(buffer: erased.body))")
            #expect(try await harness.count("SELECT count(*) FROM message_tool_calls") == 0)
        }
    }

    @Test("agents take tools: the built-ins that run now; the others are refused naming tools")
    func agentToolsAPI() async throws {
        try await withAgentWorld { model, _, client, _ in
            let setup = try await setUpAgent(client, model: model, agent: ["tools": [["builtin": "handoff"]]])
            let path = "/v1/agents/\(setup.agentID)"
            let patched = try await client.execute(
                uri: path, method: .patch, headers: headers(bearer: setup.tenant.key),
                body: json(["tools": [["builtin": "note_add"], ["builtin": "close_conversation"]]])
            ) { try object($0) }
            #expect((patched["tools"] as? [[String: String]]) == [["builtin": "note_add"], ["builtin": "close_conversation"]])
            let refused: [[[String: Any]]] = [
                [["builtin": "deal_upsert"]], [["builtin": "calendar"]], [["builtin": "search_knowledge"]], [["tool_id": "tool_1"]],
                [["builtin": "teleport"]], [["builtin": "note_add"], ["builtin": "note_add"]], [["builtin": "note_add", "when": "always"]],
                Array(repeating: ["builtin": "note_add"], count: 17),
            ]
            for tools in refused {
                let response = try await client.execute(
                    uri: path, method: .patch, headers: headers(bearer: setup.tenant.key), body: json(["tools": tools])
                ) { $0 }
                try expectError(response, .badRequest, "invalid_request", field: "tools")
            }
            let notYet = try await client.execute(
                uri: "/v1/agents", method: .post, headers: headers(bearer: setup.tenant.key),
                body: json(["name": "B", "provider_id": setup.providerID, "model": "m", "system_prompt": "", "tools": [["builtin": "calendar"]]])
            ) { $0 }
            try expectError(notYet, .badRequest, "invalid_request", field: "tools")
            #expect(try object(notYet)["error"].flatMap { ($0 as? [String: Any])?["message"] as? String }?.contains("not available yet") == true)
            let unchanged = try await client.execute(uri: path, method: .get, headers: headers(bearer: setup.tenant.key)) { try object($0) }
            #expect((unchanged["tools"] as? [[String: String]]) == [["builtin": "note_add"], ["builtin": "close_conversation"]])
        }
    }
}

extension AgentHarness {
    /// One text value as the owner (no row-level security) in this test's own database.
    func text(_ sql: String) async throws -> String? {
        let owner = bootstrap.ownerConfiguration
        return try await PostgresAdministration.withConnection(owner, logger: TestDatabase.logger) { connection in
            for try await value in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: TestDatabase.logger).decode(String?.self) {
                return value
            }
            return nil
        }
    }
}
