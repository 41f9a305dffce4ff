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

@Suite("Operator metrics: the job queue, provider calls and ledger refusals, without tenant ids")
struct OperatorMetricsTests {
    func metrics(_ client: any TestClientProtocol) async throws -> [String] {
        let response = try await client.execute(uri: "/metrics", method: .get) { $0 }
        #expect(response.status == .ok)
        return String(buffer: response.body).split(separator: "\n").map(String.init)
    }

    func value(_ lines: [String], _ series: String) -> Double? {
        lines.first { $0.hasPrefix(series + " ") }.flatMap { Double($0.dropFirst(series.count + 1)) }
    }

    @Test("the queue's depth and oldest wait are read by the gauges' timer; calls are counted by provider kind and outcome")
    func queueAndCalls() async throws {
        try await withAgentWorld(workers: 1, policy: notifiedOnly, .live) { model, telegram, client, harness in
            let setup = try await setUpAgent(client, model: model, trialMicros: 1_000_000)
            await model.enqueue(.status(503))
            _ = try await deliver(client, channel: setup.channel.id, body: try fixture("text_private"), headers: telegramHeaders(setup.secret))
            try await within(.seconds(20)) { await telegram.wait(for: 1, "sendMessage") }
            await harness.gauges.refresh()
            let lines = try await metrics(client)
            #expect(value(lines, #"switchboard_provider_calls_total{provider_kind="openai",outcome="server"}"#) == 1)
            #expect(value(lines, #"switchboard_provider_calls_total{provider_kind="openai",outcome="ok"}"#) == 1)
            #expect(value(lines, #"switchboard_jobs_oldest_ready_age_seconds{kind="reply"}"#) != nil)
            #expect(!lines.joined().contains(setup.tenant.id), "no tenant id in any label")
        }
    }

    @Test("a reply refused for want of credits is counted; a queued job shows in the queue's depth")
    func refusalsAndDepth() async throws {
        try await withAgentWorld { model, _, client, harness in
            let setup = try await setUpAgent(client, model: model, trialMicros: 0)
            _ = try await deliver(client, channel: setup.channel.id, body: try fixture("text_private"), headers: telegramHeaders(setup.secret))
            await harness.gauges.refresh()
            let before = try await metrics(client)
            #expect(value(before, #"switchboard_jobs_count{kind="reply",status="queued"}"#) == 1)
            let processor = JobRunner(
                database: harness.bootstrap.database, secrets: SecretBox(masterKey: harness.bootstrap.masterKey),
                connectors: ConnectorRegistry.standard(harness.configuration, now: harness.clock.now), http: harness.http,
                transport: harness.transport, router: harness.router, now: harness.clock.now, metrics: harness.metrics,
                logger: TestDatabase.logger
            )
            #expect(try await processor.drain() == 1)
            await harness.gauges.refresh()
            let after = try await metrics(client)
            #expect(value(after, #"switchboard_ledger_refusals_total{operation="hold"}"#) == 1)
            #expect(value(after, #"switchboard_jobs_count{kind="reply",status="queued"}"#) == 0)
        }
    }
}
