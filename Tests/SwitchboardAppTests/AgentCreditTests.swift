import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import ConnectorKit
import SwitchboardApp
import SwitchboardPipeline
import SwitchboardProvidersTesting
import SwitchboardTestSupport
import Testing

@Suite("Agents and credits: a hold before the call, the exact cost after it, nothing when credits run out")
struct AgentCreditTests {
    func ledger(_ client: any TestClientProtocol, _ key: String) async throws -> [[String: Any]] {
        try await listData(client, "/v1/credits/ledger", key: key)
    }

    func account(_ client: any TestClientProtocol, _ key: String) async throws -> [String: Any] {
        try await client.execute(uri: "/v1/credits", method: .get, headers: headers(bearer: key)) { try object($0) }
    }

    @Test("a reply is held for its worst case, then charged its exact cost in the answer's transaction; the rest is released")
    func exactCharge() async throws {
        try await withAgentWorld { model, telegram, client, harness in
            let setup = try await setUpAgent(client, model: model, trialMicros: 1_000_000)
            _ = try await deliver(client, channel: setup.channel.id, body: try fixture("text_private"), headers: telegramHeaders(setup.secret))
            #expect(try await harness.drain() == 1)
            #expect(telegram.calls("sendMessage").count == 1)
            // The fake's usage in OpenAI's semantics: prompt 120 of which 20 cached,
            // completion 45 of which 5 reasoning → 100 input, 20 cached, 40 output, 5
            // reasoning. At gpt-4o-mini's prices (0.15, 0.075, 0.6, 0.6 credits per
            // million): 15 + 1.5 + 24 + 3 = 43.5 micros, rounded up to 44.
            let entries = try await ledger(client, setup.tenant.key)
            #expect(entries.map { $0["kind"] as? String } == ["release", "capture", "hold", "trial"])
            let capture = entries[1]
            #expect(capture["amount_micros"] as? Int == -44)
            #expect(capture["model"] as? String == "gpt-4o-mini")
            #expect(capture["provider_kind"] as? String == "openai")
            #expect(capture["agent_id"] as? String == setup.agentID)
            #expect(capture["channel_id"] as? String == setup.channel.id)
            #expect(capture["input_tokens"] as? Int == 100)
            #expect(capture["cached_input_tokens"] as? Int == 20)
            #expect(capture["output_tokens"] as? Int == 40)
            #expect(capture["reasoning_tokens"] as? Int == 5)
            let held = try #require(entries[2]["held_delta_micros"] as? Int)
            #expect(held > 44)
            #expect(entries[0]["held_delta_micros"] as? Int == -(held - 44))
            let credits = try await account(client, setup.tenant.key)
            #expect(credits["balance_micros"] as? Int == 1_000_000 - 44)
            #expect(credits["held_micros"] as? Int == 0)
            // Usage by model, agent and channel.
            for (dimension, key) in [("model", "openai:gpt-4o-mini"), ("agent", setup.agentID), ("channel", setup.channel.id)] {
                let usage = try await client.execute(
                    uri: "/v1/credits/usage?group_by=\(dimension)", method: .get, headers: headers(bearer: setup.tenant.key)
                ) { try object($0) }
                let lines = try #require(usage["data"] as? [[String: Any]])
                #expect(lines.count == 1)
                #expect(lines.first?["key"] as? String == key)
                #expect(lines.first?["spent_micros"] as? Int == 44)
                #expect(lines.first?["charges"] as? Int == 1)
                #expect(usage["total_micros"] as? Int == 44)
            }
        }
    }

    @Test("a tenant's own price for the agent's model is what its replies are charged; another tenant still pays the platform's")
    func tenantPriceCharged() async throws {
        try await withAgentWorld { model, _, client, harness in
            let priced = try await setUpAgent(client, model: model, trialMicros: 1_000_000)
            let other = try await setUpAgent(client, model: model, trialMicros: 1_000_000)
            #expect(try await client.execute(
                uri: "/admin/tenants/\(priced.tenant.id)/prices", method: .put, headers: headers(bearer: adminToken),
                body: json([
                    "provider_kind": "openai", "model": "gpt-4o-mini", "input_micros_per_million": 1_000_000,
                    "cached_input_micros_per_million": 500_000, "output_micros_per_million": 2_000_000,
                    "reasoning_micros_per_million": 2_000_000, "message_fee_micros": 7,
                ])
            ) { $0 }.status == .ok)
            for setup in [priced, other] {
                _ = try await deliver(client, channel: setup.channel.id, body: try fixture("text_private"), headers: telegramHeaders(setup.secret))
            }
            #expect(try await harness.drain() == 2)
            // 100 input, 20 cached, 40 output, 5 reasoning (see above): 100 + 10 + 80 + 10
            // micros and the fee of 7 at the tenant's price; 44 at the platform's.
            for (setup, cost) in [(priced, 207), (other, 44)] {
                let capture = try await ledger(client, setup.tenant.key).first { $0["kind"] as? String == "capture" }
                #expect(capture?["amount_micros"] as? Int == -cost)
                #expect(try await account(client, setup.tenant.key)["balance_micros"] as? Int == 1_000_000 - cost)
            }
        }
    }

    @Test("a provider behind the tenant's own base URL that reports no usage is charged at the local estimate, and flagged")
    func freeRideChargedAtEstimate() async throws {
        try await withAgentWorld { model, telegram, client, harness in
            // An `openai` provider whose base URL is the tenant's own server (the loopback
            // fake), answering 80 characters with a usage of zero.
            let setup = try await setUpAgent(
                client, model: model, agent: ["system_prompt": String(repeating: "a", count: 400)], trialMicros: 1_000_000
            )
            await model.enqueue(.answer(String(repeating: "c", count: 80), usage: FakeUsage(prompt: 0, completion: 0)))
            _ = try await deliver(
                client, channel: setup.channel.id, body: telegramUpdate(updateID: 1, text: String(repeating: "b", count: 200)),
                headers: telegramHeaders(setup.secret)
            )
            let counted = JobRunner(
                database: harness.bootstrap.database, secrets: SecretBox(masterKey: harness.bootstrap.masterKey),
                connectors: ConnectorRegistry.standard(harness.configuration, now: harness.clock.now), http: harness.http,
                transport: harness.transport, router: harness.router, now: harness.clock.now, metrics: harness.metrics,
                logger: TestDatabase.logger
            )
            #expect(try await counted.drain() == 1)
            #expect(telegram.calls("sendMessage").count == 1)
            // Sent 400 + 200 characters (150 tokens at four a token), received 80 (20): at
            // gpt-4o-mini's prices 150 × 0.15 + 20 × 0.6 = 34.5 micros, rounded up to 35.
            let capture = try #require(try await ledger(client, setup.tenant.key).first { $0["kind"] as? String == "capture" })
            #expect(capture["amount_micros"] as? Int == -35)
            #expect(capture["input_tokens"] as? Int == 150)
            #expect(capture["output_tokens"] as? Int == 20)
            #expect((capture["reason"] as? String)?.contains("estimate") == true)
            #expect(try await account(client, setup.tenant.key)["balance_micros"] as? Int == 1_000_000 - 35)
            let exposition = try await client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
            let line = exposition.split(separator: "\n")
                .first { $0.hasPrefix(#"switchboard_provider_usage_underreported_total{provider_kind="openai"}"#) }
            #expect(line?.hasSuffix(" 1") == true, "\(String(describing: line))")

            // An honest report (the fake's usual 120 in, 45 out) stands as reported.
            _ = try await deliver(client, channel: setup.channel.id, body: try fixture("text_private"), headers: telegramHeaders(setup.secret))
            #expect(try await harness.drain() == 1)
            let honest = try #require(try await ledger(client, setup.tenant.key).first { $0["kind"] as? String == "capture" })
            #expect(honest["amount_micros"] as? Int == -44)
            #expect(honest["reason"] as? String == "reply by gpt-4o-mini")
        }
    }

    @Test("openai_compatible is priced: the platform's default is not zero, the operator's price for a tenant is charged, zero only where set")
    func compatiblePriced() async throws {
        try await withAgentWorld { model, _, client, harness in
            func compatible(_ price: [String: Any]?) async throws -> AgentSetup {
                let setup = try await setUpAgent(
                    client, model: model,
                    provider: ["name": "Own", "kind": "openai_compatible", "base_url": model.openAIBase, "region": "us"], trialMicros: 1_000_000
                )
                if let price {
                    #expect(try await client.execute(
                        uri: "/admin/tenants/\(setup.tenant.id)/prices", method: .put, headers: headers(bearer: adminToken),
                        body: json(["provider_kind": "openai_compatible", "model": "*"].merging(price) { $1 })
                    ) { $0 }.status == .ok)
                }
                _ = try await deliver(client, channel: setup.channel.id, body: try fixture("text_private"), headers: telegramHeaders(setup.secret))
                return setup
            }
            let platform = try await compatible(nil)
            let priced = try await compatible(["input_micros_per_million": 1_000_000, "output_micros_per_million": 2_000_000])
            let free = try await compatible(["input_micros_per_million": 0, "output_micros_per_million": 0])
            #expect(try await harness.drain() == 3)
            // The fake's usage: 100 input, 20 cached, 40 output, 5 reasoning. The platform's
            // compatible default is gpt-4o-mini's list price: 44 micros. The operator's price
            // for the tenant (cached as input, reasoning as output): 100 + 20 + 80 + 10 = 210.
            for (setup, cost) in [(platform, 44), (priced, 210)] {
                let capture = try #require(try await ledger(client, setup.tenant.key).first { $0["kind"] as? String == "capture" })
                #expect(capture["amount_micros"] as? Int == -cost)
                #expect(capture["provider_kind"] as? String == "openai_compatible")
            }
            // Free where the operator said so: nothing held, nothing charged.
            #expect(try await ledger(client, free.tenant.key).map { $0["kind"] as? String } == ["trial"])
            #expect(try await account(client, free.tenant.key)["balance_micros"] as? Int == 1_000_000)
        }
    }

    @Test("credits that cannot cover the worst case call no provider: the out-of-credits reply goes out; a top-up brings answers back")
    func outOfCreditsReply() async throws {
        try await withAgentWorld { model, telegram, client, harness in
            let setup = try await setUpAgent(
                client, model: model, agent: ["out_of_credits_reply": "Мы скоро ответим вам лично."], trialMicros: 10
            )
            _ = try await deliver(client, channel: setup.channel.id, body: try fixture("text_private"), headers: telegramHeaders(setup.secret))
            #expect(try await harness.drain() == 1)
            #expect(await model.requests.isEmpty)
            #expect(telegram.calls("sendMessage").map { $0.json["text"] } == ["Мы скоро ответим вам лично."])
            let (_, messages) = try await conversationMessages(client, key: setup.tenant.key)
            #expect(messages.first?["reply_status"] as? String == "out_of_credits")
            #expect(messages.last?["ai_generated"] as? Bool == true)
            #expect(try await account(client, setup.tenant.key)["balance_micros"] as? Int == 10)
            #expect(try await ledger(client, setup.tenant.key).map { $0["kind"] as? String } == ["trial"])

            let topUp = try await client.execute(
                uri: "/admin/tenants/\(setup.tenant.id)/credits", method: .post, headers: headers(bearer: adminToken),
                body: json(["amount_micros": 5_000_000, "reason": "top-up"])
            ) { $0 }
            #expect(topUp.status == .created)
            _ = try await deliver(
                client, channel: setup.channel.id, body: telegramUpdate(updateID: 900, messageID: 90, text: "А теперь?"), headers: telegramHeaders(setup.secret)
            )
            #expect(try await harness.drain() == 1)
            #expect(await model.requests.count == 1)
            #expect(telegram.calls("sendMessage").last?.json["text"] == "reply to: А теперь?")
        }
    }

    @Test("without an out-of-credits reply the conversation goes to a person, and no provider is called")
    func outOfCreditsHandoff() async throws {
        try await withAgentWorld { model, telegram, client, harness in
            let setup = try await setUpAgent(client, model: model, trialMicros: 0)
            _ = try await deliver(client, channel: setup.channel.id, body: try fixture("text_private"), headers: telegramHeaders(setup.secret))
            #expect(try await harness.drain() == 1)
            #expect(await model.requests.isEmpty)
            #expect(telegram.calls("sendMessage").isEmpty)
            let (id, messages) = try await conversationMessages(client, key: setup.tenant.key)
            #expect(messages.first?["reply_status"] as? String == "handed_off")
            let handedOff = try await conversation(client, key: setup.tenant.key, id)
            #expect(handedOff["mode"] as? String == "human")
            #expect(handedOff["handoff_reason"] as? String == "out_of_credits")
        }
    }

    @Test("a provider that refuses the key charges nothing: the hold is released with the failure")
    func failureReleases() async throws {
        try await withAgentWorld { model, _, client, harness in
            let setup = try await setUpAgent(client, model: model, trialMicros: 1_000_000)
            await model.enqueue(.status(401))
            _ = try await deliver(client, channel: setup.channel.id, body: try fixture("text_private"), headers: telegramHeaders(setup.secret))
            #expect(try await harness.drain() == 1)
            #expect(try await ledger(client, setup.tenant.key).map { $0["kind"] as? String } == ["release", "hold", "trial"])
            let credits = try await account(client, setup.tenant.key)
            #expect(credits["balance_micros"] as? Int == 1_000_000)
            #expect(credits["held_micros"] as? Int == 0)
        }
    }

    @Test("a retried reply holds again under its new attempt, and the answer is charged once")
    func retryChargesOnce() async throws {
        try await withAgentWorld { model, telegram, client, harness in
            let setup = try await setUpAgent(client, model: model, trialMicros: 1_000_000)
            await model.enqueue(.status(500), .status(500), .status(500))
            _ = try await deliver(client, channel: setup.channel.id, body: try fixture("text_private"), headers: telegramHeaders(setup.secret))
            #expect(try await harness.drain() == 1)
            harness.clock.advance(seconds: 60)
            #expect(try await harness.drain() == 1)
            #expect(telegram.calls("sendMessage").count == 1)
            let kinds = try await ledger(client, setup.tenant.key).map { $0["kind"] as? String }
            #expect(kinds == ["release", "capture", "hold", "release", "hold", "trial"])
            #expect(try await account(client, setup.tenant.key)["balance_micros"] as? Int == 1_000_000 - 44)
        }
    }
}
