import AsyncHTTPClient
import ConnectorKit
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SwitchboardCore
import SwitchboardPipeline
import SwitchboardEgress
import SwitchboardProvidersTesting
import SwitchboardTestSupport
import Testing
import WebhookConnector

@testable import SwitchboardApp

@Suite("Jobs end: hostile retry hints, the attempt limit, the deadline over a whole call")
struct AgentJobsEndTests {
    @Test("a provider's 429 with retry-after-ms: 1e19 crashes nothing: the reply waits at most an hour, and the job ends")
    func hugeProviderRetryHint() async throws {
        try await withAgentWorld(model: .statusHeaders(429, ["retry-after-ms": "1e19"])) { model, telegram, client, harness in
            let setup = try await setUpAgent(
                client, model: model,
                provider: ["name": "Compatible", "kind": "openai_compatible", "base_url": model.openAIBase, "api_key": "sk-compat", "region": "us"]
            )
            _ = try await deliver(client, channel: setup.channel.id, body: try fixture("text_private"), headers: telegramHeaders(setup.secret))
            let start = harness.clock.now()
            #expect(try await harness.drain() == 1)
            #expect(harness.sleeps.all.isEmpty, "an hour is too long to wait inside the router: it moves on")
            #expect(try await harness.count(
                "SELECT count(*)::int FROM jobs WHERE kind = 'reply' AND status = 'queued' AND attempts = 1 AND \(between(start + 3599, start + 3600.5))"
            ) == 1)
            for _ in 0..<4 {
                harness.clock.advance(seconds: 3601)
                try await harness.drain()
            }
            let (_, messages) = try await conversationMessages(client, key: setup.tenant.key)
            #expect(messages.first?["reply_status"] as? String == "failed")
            #expect(try await harness.count("SELECT count(*)::int FROM jobs WHERE kind = 'reply' AND status = 'failed'") == 1)
            #expect(try await harness.drain() == 0)
            #expect(telegram.calls("sendMessage").isEmpty)
        }
    }

    @Test("a callback_url's Retry-After of 10^13 seconds is held to an hour; the send is retried then and ends failed")
    func hugeCallbackRetryAfter() async throws {
        try await withCallbackServer(.status(429, retryAfter: "10000000000000")) { callback, log in
            try await withAgentWorld { model, _, client, harness in
                let hook = try await setUpWebhookAgent(client, model: model, callback: callback)
                #expect(try await deliverWebhook(client, hook, at: harness.clock.now()).status == .ok)
                let start = harness.clock.now()
                #expect(try await harness.drain() == 1)
                #expect(log.calls("cb").count == 1)
                #expect(try await harness.count(
                    "SELECT count(*)::int FROM jobs WHERE kind = 'send' AND status = 'queued' AND \(between(start + 3599, start + 3600.5))"
                ) == 1)
                for _ in 0..<6 {
                    harness.clock.advance(seconds: 3601)
                    try await harness.drain()
                }
                #expect(log.calls("cb").count == 5)
                let (_, messages) = try await conversationMessages(client, key: hook.key)
                #expect(messages.last?["delivery_status"] as? String == "failed")
                #expect((messages.last?["delivery_error"] as? String)?.contains("429") == true)
            }
        }
    }

    @Test("a callback server that sends its head and then a byte at a time is stopped at the job's deadline; renewals never pass it")
    func trickleStoppedAtDeadline() async throws {
        try await withCallbackServer(.trickle) { callback, log in
            try await withAgentWorld { model, _, client, harness in
                let hook = try await setUpWebhookAgent(client, model: model, callback: callback)
                #expect(try await deliverWebhook(client, hook, at: harness.clock.now()).status == .ok)
                // The answer is stored and its send left to the queue, as by a worker that died.
                #expect(try await harness.processor(sendInline: false).drain() == 1)
                harness.clock.advance(seconds: 121)

                var policy = JobPolicy()
                policy.runDeadline = .seconds(60)
                let sleeper = SteppedSleep()
                // Only the job's deadline can end this send: the client's own is an hour.
                let gate = EgressGate(.init(allowPrivate: true), logger: TestDatabase.logger)
                defer { Task { await gate.shutdown() } }
                let patient = AsyncHTTPOutboundClient(gate: gate, timeout: .seconds(3600))
                let processor = harness.processor(worker: "stuck", policy: policy, http: patient, sleep: sleeper.sleep)
                let start = harness.clock.now()
                let run = Task { try await processor.runNext(kinds: [.send]) }
                try await within(.seconds(30)) { await log.wait(for: 1, "cb") }
                await sleeper.waitForSleepers(1)

                // A renewal halfway: the lease reaches the deadline, not a whole lease further.
                harness.clock.advance(seconds: 30)
                sleeper.tick()
                await sleeper.waitForSleepers(2)
                #expect(try await harness.count(
                    "SELECT count(*)::int FROM jobs WHERE kind = 'send' AND status = 'running' AND \(between(start + 59.5, start + 60.5))"
                ) == 1)

                // Past the deadline: the send is cancelled and its lease ends now.
                harness.clock.advance(seconds: 31)
                sleeper.tick()
                #expect(try await within(.seconds(30)) { try await run.value } == true)
                // The attempt is over: its lease ended (or its failure was recorded as it stopped).
                #expect(try await harness.count(
                    """
                    SELECT count(*)::int FROM jobs WHERE kind = 'send' AND attempts = 2
                    AND (status = 'queued' OR status = 'running' AND locked_until < '\(sqlTime(harness.clock.now() + 1))')
                    """
                ) == 1)
                try await patient.client.shutdown()
            }
        }
    }

    @Test("a reply whose worker dies every time is dead after the last attempt: the message says so and /metrics counts it")
    func deadAfterLastAttempt() async throws {
        try await withAgentWorld { model, telegram, client, harness in
            let setup = try await setUpAgent(client, model: model)
            _ = try await deliver(client, channel: setup.channel.id, body: try fixture("text_private"), headers: telegramHeaders(setup.secret))
            let policy = JobPolicy()
            // Each worker takes the job and dies before it ends: its lease runs out.
            for attempt in 1...policy.maximumAttempts {
                let taken = try await harness.processor(worker: "dies-\(attempt)").claim(limit: 5)
                #expect(taken.map(\.job.attempt) == [attempt])
                harness.clock.advance(seconds: 121)
            }
            #expect(try await harness.processor(metrics: harness.metrics).drain() == 0, "no attempt is left to take")
            #expect(await model.requests.isEmpty)
            #expect(telegram.calls("sendMessage").isEmpty)
            let (_, messages) = try await conversationMessages(client, key: setup.tenant.key)
            #expect(messages.first?["reply_status"] as? String == "failed")
            #expect((messages.first?["reply_error"] as? String)?.contains("gave up after \(policy.maximumAttempts) attempts") == true)
            #expect(try await harness.count("SELECT count(*)::int FROM jobs WHERE status = 'dead'") == 1)
            #expect(harness.metrics.exposition().contains(#"switchboard_jobs_dead_total{kind="reply"} 1"#))
        }
    }

    @Test("a job's retry is never set further than an hour by any hint, nor sooner than its backoff")
    func retryDelayIsBounded() {
        let policy = JobPolicy()
        let hints: [Duration?] = [nil, .zero, .seconds(-5), .seconds(1), .seconds(3599), .seconds(3601), .seconds(Int64.max), .seconds(Int64.min)]
        for attempt in [Int.min, -1, 0, 1, 2, 5, 64, Int.max] {
            for hint in hints {
                let delay = policy.delay(after: attempt, hint: hint)
                #expect(delay >= .zero && delay <= policy.maximumRetryHint, "attempt \(attempt), hint \(String(describing: hint)) → \(delay)")
                _ = Date().addingTimeInterval(delay.timeInterval)
            }
        }
    }

    @Test("a platform's time that no layer below can hold is replaced by the time of receipt")
    func sentAtIsBounded() {
        for seconds in [-1e13, -1, 253_402_300_801, 1e13, 9.3e12, .infinity, .nan] {
            let event = IngestEvent(InboundEvent(kind: .message, eventID: "e", sentAt: Date(timeIntervalSince1970: seconds)))
            #expect(event.sentAt == nil, "\(seconds)")
        }
        let kept = Date(timeIntervalSince1970: 1_763_900_000)
        #expect(IngestEvent(InboundEvent(kind: .message, eventID: "e", sentAt: kept)).sentAt == kept)
    }

    @Test("the connectors' HTTP client holds its deadline over the body, not only the head")
    func outboundDeadlineCoversBody() async throws {
        try await withCallbackServer(.trickle) { callback, log in
            let gate = EgressGate(.init(allowPrivate: true), logger: TestDatabase.logger)
            let client = AsyncHTTPOutboundClient(gate: gate, timeout: .seconds(2))
            let url = try #require(URL(string: callback))
            let request = HTTPRequest(method: .post, scheme: "http", authority: "127.0.0.1:\(url.port ?? 0)", path: "/cb")
            let outcome = try await within(.seconds(30)) { () -> String in
                do {
                    _ = try await client.execute(request, body: Array("{}".utf8))
                    return "answered"
                } catch is OutboundDeadlineExceeded {
                    return "deadline"
                } catch {
                    return "other: \(error)"
                }
            }
            #expect(outcome == "deadline")
            #expect(log.calls("cb").count == 1)
            try await client.client.shutdown()
            await gate.shutdown()
        }
    }
}

/// A tenant with an OpenAI provider at the fake and a webhook channel answered by its agent,
/// replying to `callback`.
struct WebhookAgent: Sendable {
    var key: String
    var channel: String
    var secret: String
}

func setUpWebhookAgent(_ client: any TestClientProtocol, model: FakeModelServer, callback: String) async throws -> WebhookAgent {
    let tenant = try await createTenant(client, trialMicros: 100_000_000)
    let provider = try await createProvider(
        client, key: tenant.key, ["name": "OpenAI", "kind": "openai", "base_url": model.openAIBase, "api_key": "sk-hook", "region": "us"]
    )
    let agent = try await createAgent(client, key: tenant.key, ["name": "Hook", "provider_id": provider, "model": "gpt-4o-mini", "system_prompt": "Be brief."])
    let response = try await client.execute(
        uri: "/v1/channels", method: .post, headers: headers(bearer: tenant.key),
        body: json(["kind": "webhook", "name": "Hook", "agent_id": agent, "credentials": ["callback_url": callback]])
    ) { $0 }
    #expect(response.status == .created, "body: \(String(buffer: response.body))")
    let body = try object(response)
    let secret = try #require((body["credentials"] as? [String: String])?["signing_secret"])
    return WebhookAgent(key: tenant.key, channel: try #require(body["id"] as? String), secret: secret)
}

/// The generic webhook's fixture message, signed at `time`.
func deliverWebhook(_ client: any TestClientProtocol, _ hook: WebhookAgent, at time: Date) async throws -> TestResponse {
    let body = try fixture("webhook_generic")
    var fields = HTTPFields()
    fields[HTTPField.Name("X-Switchboard-Signature")!] = WebhookConnector.signatureHeader(secret: hook.secret, timestamp: time, body: body)
    return try await deliver(client, channel: hook.channel, body: body, headers: fields)
}

/// How the loopback callback server answers `POST /cb`.
enum CallbackBehaviour: Sendable {
    /// This status, with this `Retry-After`.
    case status(Int, retryAfter: String)
    /// 200 and its head at once, then one byte of body every 100 ms for 45 s.
    case trickle
}

/// A tenant's `callback_url` on loopback: `http://127.0.0.1:<port>/cb`.
func withCallbackServer<Result: Sendable>(
    _ behaviour: CallbackBehaviour, _ body: @Sendable (_ url: String, _ log: RequestLog) async throws -> Result
) async throws -> Result {
    let log = RequestLog()
    let router = Router()
    router.post("/cb") { request, _ -> Response in
        let bytes = try await request.body.collect(upTo: 1 << 20)
        log.append(.init(method: "POST", path: "/cb", body: Array(bytes.readableBytesView)))
        switch behaviour {
        case .status(let code, let retryAfter):
            return Response(status: .init(code: code), headers: [.retryAfter: retryAfter])
        case .trickle:
            return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody { writer in
                // 45 s in all: longer than any wait of these tests, and bounded, so a client
                // that never hangs up cannot hold the server's shutdown for ever.
                for _ in 0..<450 {
                    try await writer.write(ByteBuffer(string: " "))
                    try await Task.sleep(for: .milliseconds(100))
                }
                try await writer.finish(nil)
            })
        }
    }
    return try await serveLoopback(router) { port in try await body("http://127.0.0.1:\(port)/cb", log) }
}

/// `run_after` (or `locked_until` for running jobs) within `lower...upper`, as SQL.
func between(_ lower: Date, _ upper: Date) -> String {
    "COALESCE(CASE WHEN status = 'running' THEN locked_until END, run_after) BETWEEN '\(sqlTime(lower))' AND '\(sqlTime(upper))'"
}

func sqlTime(_ date: Date) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return formatter.string(from: date)
}
