import ConnectorKit
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import PostgresNIO
import SwitchboardApp
import SwitchboardPostgres
import SwitchboardProviders
import SwitchboardProvidersTesting
import SwitchboardTestSupport
import Testing

@Suite("Answers through other channels: WhatsApp's Cloud API, with Meta's delivery status")
struct AgentChannelTests {
    @Test("a signed WhatsApp message is answered once through /{phone_number_id}/messages; the delivered status lands on the answer")
    func whatsappAnswer() async throws {
        let wamid = "wamid.HBgLNzcwMTEyMzQ1NjcVAgARGBI5RDEzQUZCQUQ1RjY4MzY1NzIA"
        try await FakeModelServer.withServer { model in
            try await withFakeGraphAPI(wamid: wamid) { graphBase, graph in
                try await withAgentApp(telegramBase: "http://127.0.0.1:9", graphBase: graphBase) { client, harness in
                    let tenant = try await createTenant(client, trialMicros: 100_000_000)
                    let provider = try await createProvider(
                        client, key: tenant.key, ["name": "Gemini", "kind": "gemini", "base_url": model.geminiBase, "api_key": "g-key", "region": "eu"]
                    )
                    let agent = try await createAgent(
                        client, key: tenant.key, ["name": "Shop", "provider_id": provider, "model": "gemini-2.5-flash", "system_prompt": "Be brief."]
                    )
                    let appSecret = "wa-app-secret-for-tests-0123456789"
                    let created = try await client.execute(
                        uri: "/v1/channels", method: .post, headers: headers(bearer: tenant.key),
                        body: json([
                            "kind": "whatsapp", "name": "WA", "agent_id": agent,
                            "credentials": [
                                "phone_number_id": "106540352242922", "access_token": "EAAG-test", "app_secret": appSecret,
                                "verify_token": "verify-me-long-enough",
                            ],
                        ])
                    ) { $0 }
                    #expect(created.status == .created)
                    let channel = try #require(try object(created)["id"] as? String)
                    func signed(_ body: [UInt8]) -> HTTPFields {
                        var fields = HTTPFields()
                        fields[HTTPField.Name("X-Hub-Signature-256")!] = "sha256=" + Signature.hmacSHA256Hex(message: body, key: Array(appSecret.utf8))
                        return fields
                    }
                    let message = try whatsappFixture("text", at: harness.clock.now())
                    #expect(try await deliver(client, channel: channel, body: message, headers: signed(message)).status == .ok)
                    #expect(try await harness.drain() == 1)

                    let requests = await model.requests
                    #expect(requests.map(\.api) == [.gemini])
                    #expect(requests.first?.path == "/v1beta/models/gemini-2.5-flash:generateContent")
                    let sends = graph.calls("messages")
                    #expect(sends.count == 1)
                    #expect(sends.first?.path.hasSuffix("/106540352242922/messages") == true)
                    #expect(sends.first?.json["to"] == "77011234567")

                    // Meta reports the answer delivered: the status finds it by its wamid.
                    let status = try fixture("status_delivered")
                    #expect(try await deliver(client, channel: channel, body: status, headers: signed(status)).status == .ok)
                    let (_, messages) = try await conversationMessages(client, key: tenant.key)
                    #expect(messages.count == 2)
                    #expect(messages.last?["external_id"] as? String == wamid)
                    #expect(messages.last?["delivery_status"] as? String == "delivered")
                    #expect(try await harness.drain() == 0)
                    #expect(graph.calls("messages").count == 1)
                }
            }
        }
    }

    @Test("a WhatsApp voice note is fetched through the media URL, transcribed and answered; the audio is kept nowhere")
    func whatsappVoice() async throws {
        let wamid = "wamid.HBgLNzcwMTEyMzQ1NjcVAgARGBI5RDEzQUZCQUQ1RjY4MzY1NzIA"
        try await FakeModelServer.withServer { model in
            try await withFakeGraphAPI(wamid: wamid) { graphBase, graph in
                try await withAgentApp(telegramBase: "http://127.0.0.1:9", graphBase: graphBase) { client, harness in
                    let tenant = try await createTenant(client, trialMicros: 100_000_000)
                    let provider = try await createProvider(
                        client, key: tenant.key, ["name": "OpenAI", "kind": "openai", "base_url": model.openAIBase, "api_key": "sk-wa", "region": "us"]
                    )
                    let agent = try await createAgent(client, key: tenant.key, [
                        "name": "Shop", "provider_id": provider, "model": "gpt-4o-mini", "system_prompt": "", "speech_to_text_model": "whisper-1",
                    ])
                    let appSecret = "wa-app-secret-for-tests-0123456789"
                    let created = try await client.execute(
                        uri: "/v1/channels", method: .post, headers: headers(bearer: tenant.key),
                        body: json([
                            "kind": "whatsapp", "name": "WA", "agent_id": agent,
                            "credentials": ["phone_number_id": "106540352242922", "access_token": "EAAG-test", "app_secret": appSecret, "verify_token": "verify-me-long-enough"],
                        ])
                    ) { $0 }
                    let channel = try #require(try object(created)["id"] as? String)
                    var message = try JSONSerialization.jsonObject(with: Data(try whatsappFixture("text", at: harness.clock.now()))) as! [String: Any]
                    var entry = (message["entry"] as! [[String: Any]])[0]
                    var change = (entry["changes"] as! [[String: Any]])[0]
                    var value = change["value"] as! [String: Any]
                    var inbound = (value["messages"] as! [[String: Any]])[0]
                    inbound["type"] = "audio"
                    inbound["text"] = nil
                    inbound["audio"] = ["id": "1234567890", "mime_type": "audio/ogg; codecs=opus", "voice": true]
                    value["messages"] = [inbound]
                    change["value"] = value
                    entry["changes"] = [change]
                    message["entry"] = [entry]
                    let body = Array(try JSONSerialization.data(withJSONObject: message))
                    var signed = HTTPFields()
                    signed[HTTPField.Name("X-Hub-Signature-256")!] = "sha256=" + Signature.hmacSHA256Hex(message: body, key: Array(appSecret.utf8))
                    #expect(try await deliver(client, channel: channel, body: body, headers: signed).status == .ok)
                    #expect(try await harness.drain() == 1)
                    #expect(graph.calls("1234567890").count == 1)
                    #expect(graph.calls("media-download").count == 1)
                    #expect(await model.transcriptions.count == 1)
                    let asked = await model.requests.first?.json?["messages"]?.array?.last?["content"]?.string
                    #expect(asked?.hasSuffix("by whisper-1") == true)
                    #expect(graph.calls("messages").count == 1)
                    let owner = harness.bootstrap.ownerConfiguration
                    let stored = try await PostgresAdministration.withConnection(owner, logger: TestDatabase.logger) { connection in
                        try await connection.integer(
                            "SELECT count(*)::int FROM messages WHERE text LIKE '%OggS%' OR attachments::text LIKE '%OggS%'", logger: TestDatabase.logger
                        )
                    }
                    #expect(stored == 0)
                }
            }
        }
    }
}
