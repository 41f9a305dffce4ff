import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import SwitchboardApp
import SwitchboardCore
import SwitchboardPipeline
import SwitchboardPostgres
import SwitchboardProviders
import SwitchboardProvidersTesting
import SwitchboardTestSupport
import Testing

@Suite("Agents answer: inbound message → model provider → one reply through the channel")
struct AgentFlowTests {
    @Test(
        "end to end with live workers: a signed Telegram delivery gets exactly one sendMessage with the model's answer",
        arguments: [true, false]
    )
    func endToEndLiveWorkers(takeAtIngest: Bool) async throws {
        var policy = notifiedOnly
        policy.takeAtIngest = takeAtIngest
        try await withAgentWorld(workers: 2, policy: policy, .live) { model, telegram, client, harness in
            let setup = try await setUpAgent(client, model: model)
            await model.enqueue(.answer("Доставка в Астану — 2 000 ₸, 2–3 дня."))
            let delivered = try await deliver(client, channel: setup.channel.id, body: try fixture("text_private"), headers: telegramHeaders(setup.secret))
            #expect(delivered.status == .ok)

            // Taken in the ingest transaction for a free worker, or woken by LISTEN/NOTIFY:
            // nothing here drains the queue, and no worker polls.
            try await within(.seconds(20)) { await telegram.wait(for: 1, "sendMessage") }
            let requests = try await model.waitForRequests(count: 1)
            let messages = try #require(requests.first?.json?["messages"]?.array)
            #expect(messages.first?["role"]?.string == "system")
            #expect(messages.first?["content"]?.string == "You are ShopBot, the assistant of a shop in Almaty.")
            #expect(messages.last?["role"]?.string == "user")
            #expect(messages.last?["content"]?.string == "Здравствуйте! Сколько стоит доставка в Астану?")
            #expect(requests.first?.header("authorization") == "Bearer sk-test-secret")

            let sends = telegram.calls("sendMessage")
            #expect(sends.count == 1)
            #expect(sends.first?.json["text"] == "Доставка в Астану — 2 000 ₸, 2–3 дня.")
            #expect(sends.first?.json["chat_id"] == "520011223")

            // Nothing more is waiting: a drain finds no job, and still one call and one send.
            #expect(try await harness.drain() == 0)
            #expect(await model.requests.count == 1)
            #expect(telegram.calls("sendMessage").count == 1)
        }
    }

    @Test("live workers take a backlog that piled up while all were busy, with no poll and one notification for it")
    func backlogWhileBusy() async throws {
        try await withAgentWorld(workers: 2, policy: notifiedOnly, .live) { model, telegram, client, harness in
            let setup = try await setUpAgent(client, model: model)
            let gate = FakeGate()
            for _ in 1...5 { await model.enqueue(.held(gate)) }
            // Two deliveries keep both workers at the model.
            for id in 1...2 {
                _ = try await deliver(client, channel: setup.channel.id, body: telegramUpdate(updateID: id, messageID: id, text: "Вопрос \(id)"), headers: telegramHeaders(setup.secret))
            }
            _ = try await model.waitForRequests(count: 2)
            // Three more arrive while no worker is free: their notifications are one wake-up.
            for id in 3...5 {
                _ = try await deliver(client, channel: setup.channel.id, body: telegramUpdate(updateID: id, messageID: id, text: "Вопрос \(id)"), headers: telegramHeaders(setup.secret))
            }
            gate.open()
            // Each freed worker takes the next job while the last claim came back full.
            try await within(.seconds(20)) { await telegram.wait(for: 5, "sendMessage") }
            #expect(await model.requests.count == 5)
            #expect(try await harness.drain() == 0)
            #expect(Set(telegram.calls("sendMessage").compactMap { $0.json["text"] }) == Set((1...5).map { "reply to: Вопрос \($0)" }))
        }
    }

    @Test("one claim takes two tenants' jobs, and each job's context is read in its own tenant's scope")
    func claimReadsEachTenantsContext() async throws {
        try await withAgentWorld { model, _, client, harness in
            let a = try await setUpAgent(client, model: model)
            let b = try await setUpAgent(client, model: model)
            for (setup, text) in [(a, "Вопрос от A"), (b, "Question from B")] {
                _ = try await deliver(client, channel: setup.channel.id, body: telegramUpdate(updateID: 1, text: text), headers: telegramHeaders(setup.secret))
            }
            let claimed = try await harness.processor(worker: "both").claim(limit: 10)
            #expect(Set(claimed.map(\.job.tenantID.description)) == [a.tenant.id, b.tenant.id])
            let replies = PostgresReplyStore(database: harness.bootstrap.database)
            for (job, document) in claimed {
                guard case .read(let text) = document else {
                    Issue.record("the claim read no context")
                    continue
                }
                #expect(text != nil)
                let context = try #require(try await replies.context(for: job, document, logger: TestDatabase.logger))
                let (setup, inbound) = job.tenantID.description == a.tenant.id ? (a, "Вопрос от A") : (b, "Question from B")
                #expect(context.inboundID == job.messageID)
                #expect(context.inboundText == inbound)
                #expect(context.agent?.id.description == setup.agentID)
                #expect(context.target.channelID.description == setup.channel.id)
                #expect(Set(context.providers.keys.map(\.description)) == [setup.providerID])
                #expect(context.providerRegions.keys.map(\.description) == [setup.providerID], "only its own tenant's providers")
                #expect(context.history.map(\.text) == [inbound])
            }
        }
    }

    @Test("the answer is stored once, marked ai_generated, with its usage; the inbound message is answered")
    func answerIsStoredWithUsage() async throws {
        try await withAgentWorld { model, telegram, client, harness in
            let setup = try await setUpAgent(client, model: model)
            await model.enqueue(.answer("Hello!", usage: FakeUsage(prompt: 120, cached: 20, completion: 45, reasoning: 5)))
            _ = try await deliver(client, channel: setup.channel.id, body: try fixture("text_private"), headers: telegramHeaders(setup.secret))
            #expect(try await harness.drain() == 1)

            let (_, messages) = try await conversationMessages(client, key: setup.tenant.key)
            #expect(messages.count == 2)
            let inbound = messages[0], answer = messages[1]
            #expect(inbound["reply_status"] as? String == "answered")
            #expect(answer["ai_generated"] as? Bool == true)
            #expect(answer["in_reply_to"] as? String == inbound["id"] as? String)
            #expect(answer["agent_id"] as? String == setup.agentID)
            #expect(answer["provider_id"] as? String == setup.providerID)
            #expect(answer["model"] as? String == "gpt-4o-mini")
            #expect(answer["delivery_status"] as? String == "sent")
            #expect(answer["external_id"] as? String == "1:1001")
            let usage = try #require(answer["usage"] as? [String: Any])
            // OpenAI counts cached tokens inside prompt_tokens and reasoning inside completion_tokens.
            #expect(usage["input_tokens"] as? Int == 100)
            #expect(usage["cached_input_tokens"] as? Int == 20)
            #expect(usage["output_tokens"] as? Int == 40)
            #expect(usage["reasoning_tokens"] as? Int == 5)
            #expect(telegram.calls("sendMessage").count == 1)
            #expect(try await harness.count("SELECT count(*)::int FROM model_calls WHERE outcome = 'ok'") == 1)
        }
    }

    @Test("the model sees the history: earlier questions and our answers, in order, up to history_messages")
    func historyIsSent() async throws {
        try await withAgentWorld { model, _, client, harness in
            let setup = try await setUpAgent(client, model: model, agent: ["history_messages": 3])
            for (index, text) in ["Привет", "Есть доставка?", "А в Шымкент?"].enumerated() {
                _ = try await deliver(
                    client, channel: setup.channel.id, body: telegramUpdate(updateID: 900 + index, messageID: 50 + index, text: text),
                    headers: telegramHeaders(setup.secret)
                )
                try await harness.drain()
            }
            let requests = await model.requests
            #expect(requests.count == 3)
            let last = try #require(requests.last?.json?["messages"]?.array)
            let turns = last.dropFirst().map { "\($0["role"]?.string ?? ""):\($0["content"]?.string ?? "")" }
            #expect(turns == ["user:Есть доставка?", "assistant:reply to: Есть доставка?", "user:А в Шымкент?"])
        }
    }

    @Test("kill and resume: a worker stopped after the answer is stored and before the send causes no second call and no second send")
    func killAndResume() async throws {
        try await withAgentWorld { model, telegram, client, harness in
            let setup = try await setUpAgent(client, model: model)
            _ = try await deliver(client, channel: setup.channel.id, body: try fixture("text_private"), headers: telegramHeaders(setup.secret))

            // The first process stores the answer and its send job (taken by itself),
            // and dies before it sends.
            #expect(try await harness.processor(worker: "first", sendInline: false).drain(kinds: [.reply]) == 1)
            #expect(await model.requests.count == 1)
            #expect(telegram.calls("sendMessage").isEmpty)
            #expect(try await harness.count("SELECT count(*)::int FROM jobs WHERE kind = 'send' AND status = 'running' AND locked_by = 'first'") == 1)

            // While its lease holds, no one else sends; after it, the next worker does, once.
            #expect(try await harness.processor(worker: "second").drain() == 0)
            harness.clock.advance(seconds: 121)
            #expect(try await harness.processor(worker: "second").drain() == 1)
            #expect(telegram.calls("sendMessage").count == 1)

            // Run everything again: the sent-marker and the stored answer hold.
            harness.clock.advance(seconds: 3600)
            #expect(try await harness.processor(worker: "third").drain() == 0)
            #expect(await model.requests.count == 1)
            #expect(telegram.calls("sendMessage").count == 1)
            #expect(try await harness.count("SELECT count(*)::int FROM messages WHERE ai_generated") == 1)
        }
    }

    @Test("a worker whose reply lease ran out cannot store a second answer: its transaction is fenced out")
    func fencedReply() async throws {
        try await withAgentWorld { model, telegram, client, harness in
            let setup = try await setUpAgent(client, model: model)
            _ = try await deliver(client, channel: setup.channel.id, body: try fixture("text_private"), headers: telegramHeaders(setup.secret))
            let stale = try #require(try await PostgresJobStore(database: harness.bootstrap.database)
                .claim(kinds: [.reply], limit: 1, now: harness.clock.now(), lease: JobPolicy().lease, worker: "slow").first)
            harness.clock.advance(seconds: 121)
            // The next attempt answers; then the slow one finally runs its (stale) attempt.
            #expect(try await harness.processor(worker: "fast").drain(kinds: [.reply]) == 1)
            await harness.processor(worker: "slow").run(stale)
            try await harness.drain()
            #expect(try await harness.count("SELECT count(*)::int FROM messages WHERE ai_generated") == 1)
            #expect(telegram.calls("sendMessage").count == 1)
        }
    }

    @Test("a reply job whose message is gone ends failed, with the reason, and is not taken again")
    func messageGone() async throws {
        try await withAgentWorld { model, telegram, client, harness in
            let setup = try await setUpAgent(client, model: model)
            _ = try await deliver(client, channel: setup.channel.id, body: try fixture("text_private"), headers: telegramHeaders(setup.secret))
            #expect(try await harness.count("WITH gone AS (DELETE FROM messages RETURNING 1) SELECT count(*)::int FROM gone") == 1)
            #expect(try await harness.drain() == 1)
            harness.clock.advance(seconds: 86_400)
            #expect(try await harness.drain() == 0)
            #expect(try await harness.count("SELECT count(*)::int FROM jobs WHERE status = 'failed' AND last_error = 'the message no longer exists'") == 1)
            #expect(await model.requests.isEmpty)
            #expect(telegram.calls("sendMessage").isEmpty)
        }
    }

    @Test("a worker renews its lease while a slow provider answers, so no other worker takes the job and calls again")
    func leaseIsRenewedDuringSlowCalls() async throws {
        try await withAgentWorld { model, telegram, client, harness in
            let setup = try await setUpAgent(client, model: model)
            await model.enqueue(.delayed(.milliseconds(1500), then: .answer("slow but sure")))
            _ = try await deliver(client, channel: setup.channel.id, body: try fixture("text_private"), headers: telegramHeaders(setup.secret))
            let heartbeat = SteppedSleep()
            let slow = harness.processor(worker: "slow", sleep: { try await heartbeat.sleep($0) })
            let running = Task { try await slow.drain(kinds: [.reply]) }
            try await model.waitForRequests(count: 1)
            // Long past the lease the claim set; the keeper renews it from this time.
            harness.clock.advance(seconds: 500)
            heartbeat.tick()
            await heartbeat.waitForSleepers(2)
            #expect(try await harness.processor(worker: "eager").drain(kinds: [.reply]) == 0)
            #expect(try await running.value == 1)
            #expect(await model.requests.count == 1)
            #expect(telegram.calls("sendMessage").map { $0.json["text"] } == ["slow but sure"])
        }
    }

    @Test("in a group chat the model is told who said what; in a direct chat it is not")
    func groupSenders() async throws {
        try await withAgentWorld { model, _, client, harness in
            let setup = try await setUpAgent(client, model: model)
            let group = -100_200_300
            for (index, (user, name, text)) in [(601, "Dana", "Есть диваны?"), (602, "Arman", "А доставка?")].enumerated() {
                _ = try await deliver(
                    client, channel: setup.channel.id,
                    body: telegramUpdate(updateID: 700 + index, userID: user, chatID: group, messageID: 30 + index, text: text, name: name, chatType: "supergroup"),
                    headers: telegramHeaders(setup.secret)
                )
                #expect(try await harness.drain() == 1)
            }
            let last = try #require(await model.requests.last?.json?["messages"]?.array)
            let turns = last.dropFirst().map { "\($0["role"]?.string ?? ""):\($0["content"]?.string ?? "")" }
            #expect(turns == ["user:Dana: Есть диваны?", "assistant:reply to: Dana: Есть диваны?", "user:Arman: А доставка?"])

            _ = try await deliver(client, channel: setup.channel.id, body: telegramUpdate(updateID: 800, text: "Привет"), headers: telegramHeaders(setup.secret))
            #expect(try await harness.drain() == 1)
            let direct = try #require(await model.requests.last?.json?["messages"]?.array)
            #expect(direct.last?["content"]?.string == "Привет")
        }
    }
}
