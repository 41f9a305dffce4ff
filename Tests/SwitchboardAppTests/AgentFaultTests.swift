import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import SwitchboardApp
import SwitchboardCore
import SwitchboardProviders
import SwitchboardProvidersTesting
import SwitchboardTestSupport
import Testing

@Suite("Agents under faults: provider errors, fallbacks, send retries")
struct AgentFaultTests {
    @Test("a provider that refuses the key (401) is not retried; the conversation goes to a person and the message shows why")
    func unauthorizedHandsOff() async throws {
        try await withAgentWorld(model: .status(401)) { model, telegram, client, harness in
            let setup = try await setUpAgent(client, model: model)
            _ = try await deliver(client, channel: setup.channel.id, body: try fixture("text_private"), headers: telegramHeaders(setup.secret))
            #expect(try await harness.drain() == 1)
            #expect(await model.requests.count == 1)
            #expect(harness.sleeps.all.isEmpty)
            #expect(telegram.calls("sendMessage").isEmpty)

            let (id, messages) = try await conversationMessages(client, key: setup.tenant.key)
            #expect(messages.count == 1)
            #expect(messages.first?["reply_status"] as? String == "failed")
            let error = try #require(messages.first?["reply_error"] as? String)
            #expect(error.contains("API key"))
            #expect(!error.contains("sk-test-secret"))
            let handedOff = try await conversation(client, key: setup.tenant.key, id)
            #expect(handedOff["mode"] as? String == "human")
            #expect(handedOff["handoff_reason"] as? String == "provider_error")
            #expect(try await harness.count("SELECT count(*)::int FROM model_calls WHERE error_code = 'unauthorized'") == 1)
        }
    }

    @Test("5xx is retried with backoff, then the fallback provider answers")
    func serverErrorsFallBack() async throws {
        try await withAgentWorld { model, telegram, client, harness in
            let setup = try await setUpAgent(client, model: model)
            let fallback = try await addAnthropicFallback(client, setup, model: model)

            await model.enqueue(.status(500), .status(502), .status(503), .answer("Из запасного провайдера"))
            _ = try await deliver(client, channel: setup.channel.id, body: try fixture("text_private"), headers: telegramHeaders(setup.secret))
            #expect(try await harness.drain() == 1)

            let requests = await model.requests
            #expect(requests.map(\.api) == [.openAI, .openAI, .openAI, .anthropic])
            #expect(requests.last?.json?["model"]?.string == "claude-haiku-4-5")
            // Exponential backoff between the three tries of the primary (jitter off).
            #expect(harness.sleeps.all == [.milliseconds(250), .milliseconds(500)])
            #expect(telegram.calls("sendMessage").map { $0.json["text"] } == ["Из запасного провайдера"])
            let (_, messages) = try await conversationMessages(client, key: setup.tenant.key)
            #expect(messages.last?["provider_id"] as? String == fallback)
            #expect(try await harness.count("SELECT count(*)::int FROM model_calls WHERE outcome = 'error' AND error_code = 'server'") == 3)
            #expect(try await harness.count("SELECT count(*)::int FROM model_calls WHERE outcome = 'ok' AND provider_kind = 'anthropic'") == 1)
        }
    }

    @Test("429 waits the hinted Retry-After, then answers")
    func rateLimitHonoursRetryAfter() async throws {
        try await withAgentWorld { model, telegram, client, harness in
            let setup = try await setUpAgent(client, model: model)
            await model.enqueue(.status(429, retryAfter: "2"), .answer("ok"))
            _ = try await deliver(client, channel: setup.channel.id, body: try fixture("text_private"), headers: telegramHeaders(setup.secret))
            try await harness.drain()
            #expect(harness.sleeps.all == [.seconds(2)])
            #expect(telegram.calls("sendMessage").map { $0.json["text"] } == ["ok"])
        }
    }

    @Test("malformed provider JSON is a failure, never a crash: the job is retried later, then the conversation goes to a person")
    func malformedRetriesThenFails() async throws {
        try await withAgentWorld(model: .malformed) { model, telegram, client, harness in
            let setup = try await setUpAgent(client, model: model)
            _ = try await deliver(client, channel: setup.channel.id, body: try fixture("text_private"), headers: telegramHeaders(setup.secret))
            #expect(try await harness.drain() == 1)
            #expect(await model.requests.count == 3)
            // Not yet time for the second attempt.
            #expect(try await harness.drain() == 0)
            let (id, waiting) = try await conversationMessages(client, key: setup.tenant.key)
            #expect(waiting.first?["reply_status"] is NSNull)
            for _ in 0..<2 {
                harness.clock.advance(seconds: 600)
                #expect(try await harness.drain() == 1)
            }
            // After its cooldown a provider gets one probe call: a failed probe cools it down again.
            let calls = await model.requests.count
            #expect(calls == 5, "calls: \(calls)")
            harness.clock.advance(seconds: 3600)
            #expect(try await harness.drain() == 0)
            let (_, messages) = try await conversationMessages(client, key: setup.tenant.key)
            #expect(messages.count == 1)
            #expect(messages.first?["reply_status"] as? String == "failed")
            #expect((messages.first?["reply_error"] as? String)?.contains("malformed_response") == true)
            #expect(try await conversation(client, key: setup.tenant.key, id)["mode"] as? String == "human")
            #expect(telegram.calls("sendMessage").isEmpty)
        }
    }

    @Test("a channel that keeps failing is retried with backoff and ends in a visible failed state")
    func sendFailuresEndFailed() async throws {
        try await withAgentWorld(sendStatus: { _ in 500 }) { model, telegram, client, harness in
            let setup = try await setUpAgent(client, model: model)
            _ = try await deliver(client, channel: setup.channel.id, body: try fixture("text_private"), headers: telegramHeaders(setup.secret))
            #expect(try await harness.drain() == 1)
            for _ in 0..<4 {
                #expect(try await harness.drain() == 0, "the retry waits for its time")
                harness.clock.advance(seconds: 301)
                #expect(try await harness.drain() == 1)
            }
            #expect(telegram.calls("sendMessage").count == 5)
            harness.clock.advance(seconds: 3600)
            #expect(try await harness.drain() == 0)
            let (_, messages) = try await conversationMessages(client, key: setup.tenant.key)
            #expect(messages.last?["delivery_status"] as? String == "failed")
            #expect((messages.last?["delivery_error"] as? String)?.isEmpty == false)
        }
    }

    @Test("Telegram's 429 retry_after is honoured, and the message is sent once")
    func sendRateLimited() async throws {
        try await withAgentWorld(sendStatus: { $0 == 1 ? 429 : 200 }) { model, telegram, client, harness in
            let setup = try await setUpAgent(client, model: model)
            _ = try await deliver(client, channel: setup.channel.id, body: try fixture("text_private"), headers: telegramHeaders(setup.secret))
            #expect(try await harness.drain() == 1)
            harness.clock.advance(seconds: 2.5)
            #expect(try await harness.drain() == 0)
            harness.clock.advance(seconds: 1)
            #expect(try await harness.drain() == 1)
            #expect(telegram.calls("sendMessage").count == 2)
            let (_, messages) = try await conversationMessages(client, key: setup.tenant.key)
            #expect(messages.last?["delivery_status"] as? String == "sent")
        }
    }
}
