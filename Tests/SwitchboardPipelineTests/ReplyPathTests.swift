import ConnectorKit
import Foundation
import HTTPTypes
import SwitchboardCore
@testable import SwitchboardPipeline
import Testing

/// The message path on in-memory stores: the rules of ingest, reply, charge and send,
/// without a database. The same paths on PostgreSQL are SwitchboardAppTests'.
@Suite("The message path on in-memory stores")
struct ReplyPathTests {
    typealias Fixture = PipelineFixture

    /// The stored message of a delivery's only event.
    func id(_ results: [IngestResult]) throws -> MessageID {
        guard let id = results.first?.messageID else { throw InMemoryStoreError.unknownChannel }
        return id
    }

    @Test("a delivery is stored once, answered, charged its exact cost and sent once")
    func answered() async throws {
        let fixture = try await Fixture()
        let first = try await fixture.receive(id: "m1", text: "Hi there")
        let again = try await fixture.receive(id: "m1", text: "Hi there")
        #expect(first.map(\.created) == [true])
        #expect(again.map(\.created) == [false], "a platform's retry changes nothing")

        #expect(try await fixture.runner().drain() == 1, "one reply job; its send ran inline")
        #expect(fixture.connector.sent.map(\.text) == ["Hello from the agent"])
        // The send names the platform's id of the message it answers (a mail's In-Reply-To).
        #expect(fixture.connector.sent.first?.context["reply_to_external_id"] == "m1")
        let messageID = try id(first)
        let inbound = try #require(await fixture.store.messages[messageID])
        #expect(inbound.replyStatus == .answered)
        let conversation = await fixture.store.messages(in: inbound.conversation)
        #expect(conversation.count == 2)
        #expect(conversation.last?.deliveryStatus == .sent)
        #expect(conversation.last?.sentExternalID == "out-1")
        // 20 input and 5 output tokens at a micro-credit each, and the message fee.
        let account = await fixture.store.account(fixture.tenant)
        #expect(account.balance == Credits(micros: 1_000_000 - 125))
        #expect(account.held == .zero, "the hold is captured, nothing stays held")
        #expect(account.entries.map(\.outcome) == [.held, .captured])
        #expect(try await fixture.runner().drain() == 0, "nothing is left to run, nothing is sent twice")
    }

    @Test("a delivery whose secret does not match is refused and leaves nothing; an unreadable one is kept as a dead letter")
    func refusals() async throws {
        let fixture = try await Fixture()
        let ingest = fixture.ingest()
        let channel = try #require(try await ingest.resolve(fixture.route.channelID, logger: Fixture.logger))
        await #expect(throws: DeliveryRefusal.self) {
            try await ingest.accept(
                fixture.delivery(id: "m1", text: "hi", secret: "guess"), contentType: nil, on: channel, logger: Fixture.logger
            )
        }
        var headers = fixture.delivery(id: "m2", text: "x").headers
        headers[.contentType] = "application/json"
        do {
            _ = try await ingest.accept(
                WebhookDelivery(headers: headers, body: Array("not json".utf8), receivedAt: fixture.clock.now()), contentType: "text/plain",
                on: channel, logger: Fixture.logger
            )
            Issue.record("an unreadable delivery was taken")
        } catch DeliveryRefusal.unreadable(_, let field) {
            #expect(field == "text")
        }
        #expect(await fixture.store.deadLetters.count == 1)
        #expect(await fixture.store.messages.isEmpty)
        #expect(try await ingest.resolve(ChannelID(), logger: Fixture.logger) == nil, "an unknown channel is not found")
    }

    @Test("credits short of the worst case: no model is called, and the agent's out-of-credits reply is sent")
    func outOfCredits() async throws {
        let fixture = try await Fixture(credits: 10) { $0.outOfCreditsReply = "We will be back soon." }
        let received = try await fixture.receive(id: "m1", text: "Hi there")
        try await fixture.runner().drain()
        #expect(fixture.model.calls == 0)
        #expect(fixture.connector.sent.map(\.text) == ["We will be back soon."])
        #expect(await fixture.store.messages[try id(received)]?.replyStatus == .outOfCredits)
        #expect(await fixture.store.account(fixture.tenant).balance == Credits(micros: 10), "nothing was charged")
    }

    @Test("a handoff keyword hands the conversation to a person before any model is called")
    func keyword() async throws {
        let fixture = try await Fixture { $0.handoffKeywords = ["operator"] }
        let received = try await fixture.receive(id: "m1", text: "I want an operator please")
        try await fixture.runner().drain()
        let inbound = try #require(await fixture.store.messages[try id(received)])
        #expect(inbound.replyStatus == .handedOff)
        #expect(await fixture.store.conversations[inbound.conversation]?.handoffReason == .keyword)
        #expect(await fixture.store.conversations[inbound.conversation]?.mode == .human)
        #expect(fixture.model.calls == 0)
        #expect(fixture.connector.sent.isEmpty)
    }

    @Test("a restricted contact is not processed, and one without consent to AI goes to a person; neither costs anything")
    func duties() async throws {
        let fixture = try await Fixture()
        let first = try await fixture.receive(id: "m1", from: "restricted", text: "Hi")
        let second = try await fixture.receive(id: "m2", from: "no-consent", text: "Hi")
        let restricted = try #require(await fixture.store.messages[try id(first)])
        let withdrawn = try #require(await fixture.store.messages[try id(second)])
        await fixture.store.setPrivacy(restricted.conversation, PrivacyContext(restricted: true))
        await fixture.store.setPrivacy(withdrawn.conversation, PrivacyContext(consents: [.aiProcessing: false]))
        try await fixture.runner().drain()
        #expect(await fixture.store.messages[restricted.id]?.replyStatus == .skipped)
        #expect(await fixture.store.messages[withdrawn.id]?.replyStatus == .handedOff)
        #expect(await fixture.store.conversations[withdrawn.conversation]?.handoffReason == .consentWithdrawn)
        #expect(fixture.model.calls == 0)
        #expect(await fixture.store.account(fixture.tenant).entries.isEmpty, "no hold, no charge")
    }

    @Test("a failing provider: the reply is retried later with its hold released, and after the last attempt a person takes over")
    func providerFails() async throws {
        let fixture = try await Fixture(model: ScriptedModel(.status(503)))
        let received = try await fixture.receive(id: "m1", text: "Hi there")
        let runner = fixture.runner { $0.maximumReplyAttempts = 2 }
        try await runner.drain()
        let job = try #require(await fixture.store.jobs(of: .reply).first)
        #expect(job.status == .queued)
        #expect(job.runAfter > fixture.clock.now(), "retried after a backoff, not at once")
        #expect(await fixture.store.account(fixture.tenant).held == .zero, "the hold is released while it waits")

        fixture.clock.advance(.seconds(3600))
        try await runner.drain()
        let inbound = try #require(await fixture.store.messages[try id(received)])
        #expect(inbound.replyStatus == .failed)
        #expect(await fixture.store.conversations[inbound.conversation]?.handoffReason == .providerError)
        #expect(await fixture.store.jobs(of: .reply).first?.status == .failed)
        #expect(await fixture.store.account(fixture.tenant).balance == Credits(micros: 1_000_000), "no answer, no charge")
        #expect(fixture.connector.sent.isEmpty)
    }

    @Test("a send the platform refuses for now is retried with backoff and sent once; one refused for good fails the message")
    func sendRetries() async throws {
        let fixture = try await Fixture()
        fixture.connector.failNext(ConnectorError(.sendFailed, "busy", retryable: true))
        try await fixture.receive(id: "m1", text: "Hi there")
        let runner = fixture.runner()
        try await runner.drain()
        #expect(fixture.connector.sent.isEmpty)
        let send = try #require(await fixture.store.jobs(of: .send).first)
        #expect(send.status == .queued)
        #expect(send.lastError == "busy")
        fixture.clock.advance(.seconds(60))
        try await runner.drain()
        #expect(fixture.connector.sent.count == 1)
        #expect(await fixture.store.jobs(of: .send).first?.status == .done)

        fixture.connector.failNext(ConnectorError(.sendFailed, "blocked by the user"))
        let second = try await fixture.receive(id: "m2", text: "Again")
        try await runner.drain()
        let inbound = try #require(await fixture.store.messages[try id(second)])
        let answer = try #require(await fixture.store.messages(in: inbound.conversation).last)
        #expect(answer.deliveryStatus == .failed)
        #expect(answer.error == "blocked by the user")
        #expect(fixture.connector.sent.count == 1)
    }

    @Test("an attempt overtaken by a later one after its lease ran out writes nothing: one answer, one charge, one send")
    func overtaken() async throws {
        let fixture = try await Fixture()
        try await fixture.receive(id: "m1", text: "Hi there")
        let slow = fixture.runner(worker: "slow")
        let taken = try await slow.claim(limit: 1)
        #expect(taken.count == 1)
        fixture.clock.advance(JobPolicy().lease + .seconds(1))
        #expect(try await fixture.runner(worker: "fast").drain() == 1)
        // The slow worker wakes up and runs the job it took: its lease is lost.
        for (job, document) in taken { await slow.run(job, document) }
        #expect(fixture.connector.sent.count == 1)
        let account = await fixture.store.account(fixture.tenant)
        #expect(account.entries.filter { $0.outcome == .captured }.count == 1)
        #expect(account.held == .zero, "the overtaken attempt's hold was never taken, or is released")
    }

    @Test("the gate of duties is a pure function of the context")
    func gate() async throws {
        let fixture = try await Fixture()
        let received = try await fixture.receive(id: "m1", text: "Hi")
        let job = ClaimedJob(id: JobID(), tenantID: fixture.tenant, kind: .reply, messageID: try id(received), attempt: 1)
        var context = try #require(try await fixture.store.context(for: job, .unread, logger: Fixture.logger))
        guard case .proceed = ReplyStep.gate(context) else { Issue.record("a plain message is answered"); return }
        context.target.mode = .human
        guard case .end(let settlement, _) = ReplyStep.gate(context) else { Issue.record("a person answers"); return }
        #expect(settlement.replyStatus == .skipped)
        context.answered = true
        guard case .end(let answered, _) = ReplyStep.gate(context) else { Issue.record("answered already"); return }
        #expect(answered.replyStatus == nil, "an answered message keeps its status")
    }

    @Test("past the channel's messaging window the gate ends the reply before any model call, and says why; a withdrawn message is not answered")
    func windowGate() async throws {
        let fixture = try await Fixture()
        let received = try await fixture.receive(id: "m1", text: "Hi")
        let job = ClaimedJob(id: JobID(), tenantID: fixture.tenant, kind: .reply, messageID: try id(received), attempt: 1)
        var context = try #require(try await fixture.store.context(for: job, .unread, logger: Fixture.logger))
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        context.target.lastInboundAt = now.addingTimeInterval(-23 * 3600)
        guard case .proceed = ReplyStep.gate(context, window: .whatsApp, now: now) else {
            Issue.record("inside 24 hours the agent answers"); return
        }
        guard case .proceed = ReplyStep.gate(context, window: nil, now: now.addingTimeInterval(86400 * 30)) else {
            Issue.record("a kind without a window answers whenever"); return
        }
        context.target.lastInboundAt = now.addingTimeInterval(-25 * 3600)
        guard case .end(let closed, let note) = ReplyStep.gate(context, window: .whatsApp, now: now) else {
            Issue.record("past 24 hours the agent does not answer"); return
        }
        #expect(closed.replyStatus == .skipped)
        #expect(closed.capture == nil && closed.holdID == nil && closed.calls.isEmpty, "nothing is called, held or charged")
        #expect(closed.error?.hasPrefix("window_closed:") == true)
        #expect(closed.error?.contains("template") == true, "WhatsApp's way back is a template: \(closed.error ?? "")")
        #expect(note != nil)
        guard case .end(let tagged, _) = ReplyStep.gate(context, window: .metaMessaging, now: now) else {
            Issue.record("the AI never uses the human-agent tag"); return
        }
        #expect(tagged.error?.contains("HUMAN_AGENT") == true, "\(tagged.error ?? "")")
        context.target.lastInboundAt = nil
        guard case .end = ReplyStep.gate(context, window: .whatsApp, now: now) else {
            Issue.record("a conversation the contact never wrote in has no open window"); return
        }
        context.target.lastInboundAt = now
        context.inboundWithdrawn = true
        guard case .end(let withdrawn, _) = ReplyStep.gate(context, window: .whatsApp, now: now) else {
            Issue.record("a withdrawn message is not answered"); return
        }
        #expect(withdrawn.replyStatus == .skipped)
        #expect(withdrawn.error == "the contact withdrew the message")
    }

    @Test("a window's verdict: open, tagged for a person only, closed")
    func windowVerdicts() {
        let last = Date(timeIntervalSince1970: 1_800_000_000)
        let day: TimeInterval = 86400
        #expect(MessagingWindow.metaMessaging.verdict(lastInbound: last, now: last.addingTimeInterval(day - 1), byPerson: false) == .open)
        #expect(MessagingWindow.metaMessaging.verdict(lastInbound: last, now: last.addingTimeInterval(day), byPerson: false) == .closed)
        #expect(MessagingWindow.metaMessaging.verdict(lastInbound: last, now: last.addingTimeInterval(3 * day), byPerson: true) == .tagged("HUMAN_AGENT"))
        #expect(MessagingWindow.metaMessaging.verdict(lastInbound: last, now: last.addingTimeInterval(7 * day), byPerson: true) == .closed)
        #expect(MessagingWindow.whatsApp.verdict(lastInbound: last, now: last.addingTimeInterval(3 * day), byPerson: true) == .closed)
        #expect(MessagingWindow.whatsApp.verdict(lastInbound: nil, now: last, byPerson: true) == .closed)
        // A platform clock ahead of ours is inside the window, not an error.
        #expect(MessagingWindow.whatsApp.verdict(lastInbound: last, now: last.addingTimeInterval(-60), byPerson: false) == .open)
    }
}
