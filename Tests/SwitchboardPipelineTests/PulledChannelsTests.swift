import ConnectorKit
import Foundation
import Logging
import SwitchboardCore
@testable import SwitchboardPipeline
import Synchronization
import Testing

/// A messenger fetched rather than pushed: each pull answers the next scripted batch.
final class PullChat: PullingConnector {
    let kind = "pullchat"
    enum Step: Sendable {
        case batch([String], cursor: String?)
        case failure
    }

    private let steps: Mutex<(script: [Step], cursors: [String?])>
    init(_ script: [Step]) { steps = Mutex((script, [])) }
    /// The cursor each pull was asked to start after.
    var askedAfter: [String?] { steps.withLock { $0.cursors } }

    func prepareCredentials(_ submitted: [String: String]) throws(ConnectorError) -> PreparedCredentials { PreparedCredentials(stored: submitted) }
    func verify(_ delivery: WebhookDelivery, credentials: ChannelCredentials) throws(ConnectorError) {
        throw ConnectorError(.unauthorized, "pulled, never pushed")
    }
    func parse(_ delivery: WebhookDelivery, credentials: ChannelCredentials) throws(ConnectorError) -> [InboundEvent] { [] }
    func send(_ message: OutboundMessage, credentials: ChannelCredentials, http: any OutboundHTTPClient) async throws(ConnectorError) -> SendReceipt {
        SendReceipt(externalIDs: [])
    }

    func pull(after cursor: String?, credentials: ChannelCredentials, http: any OutboundHTTPClient, wait: Duration) async throws(ConnectorError) -> PulledBatch {
        let step: Step? = steps.withLock { state in
            state.cursors.append(cursor)
            return state.script.isEmpty ? nil : state.script.removeFirst()
        }
        switch step {
        case .batch(let ids, let next):
            guard credentials["token"] == "t0ken" else { throw ConnectorError(.unauthorized, "wrong token") }
            let events = ids.map { id in
                InboundEvent(kind: .message, eventID: id, messageID: id, sender: .init(externalID: "reader"), chat: .init(externalID: "reader", kind: .direct), text: "mail \(id)")
            }
            return PulledBatch(events: events, payload: Array("{\"ids\":\(ids)}".utf8), cursor: next)
        case .failure: throw ConnectorError(.sendFailed, "the server went away", retryable: true)
        case nil: return PulledBatch(events: [], payload: [], cursor: nil)
        }
    }
}

@Suite("Pulled channels")
struct PulledChannelsTests {
    @Test("a pulled channel's events are stored once across a repeated fetch, its cursor saved after they are, and a failure backs off")
    func pulls() async throws {
        let fixture = try await PipelineFixture()
        let connector = PullChat([
            .batch(["1", "2"], cursor: "2"),
            .failure,
            // After a crash between storing and saving, the platform answers the same again: stored once.
            .batch(["2", "3"], cursor: "3"),
            .batch([], cursor: nil),
        ])
        let channelID = ChannelID()
        let route = ChannelRoute(
            channelID: channelID, tenantID: fixture.tenant, kind: "pullchat", enabled: true,
            sealedCredentials: try fixture.secrets.sealCredentials(["token": "t0ken"], tenant: fixture.tenant, channel: channelID)
        )
        await fixture.store.addChannel(route, agent: nil)
        let connectors = ConnectorRegistry([fixture.connector, connector])
        let sleeps = Mutex<[Duration]>([])
        let service = PulledChannels(
            directory: fixture.store,
            ingest: Ingest(
                channels: fixture.store, store: fixture.store, batcher: IngestBatcher(store: fixture.store), cache: ChannelRouteCache(),
                connectors: connectors, secrets: fixture.secrets
            ),
            connectors: connectors, secrets: fixture.secrets, http: NoHTTP(),
            sleep: { duration in
                // The loop ends at its first idle pause: everything scripted was pulled.
                let idle = sleeps.withLock { sleeps in
                    sleeps.append(duration)
                    return duration == PulledChannels.Policy().idlePause
                }
                if idle { throw CancellationError() }
            },
            logger: PipelineFixture.logger
        )
        #expect(service.kinds == ["pullchat"], "only the pulling connector's kind")
        await service.keep(route, cursor: nil)

        #expect(connector.askedAfter == [nil, "2", "2", "3"], "each pull resumes after the cursor saved last")
        #expect(await fixture.store.cursors[channelID] == "3")
        let stored = await fixture.store.messages.values.filter { $0.tenant == fixture.tenant }.compactMap(\.text).sorted()
        #expect(stored == ["mail 1", "mail 2", "mail 3"])
        #expect(sleeps.withLock { $0 } == [PulledChannels.Policy().backoff, PulledChannels.Policy().idlePause])
    }

    @Test("the service runs a loop for each live pulled channel and stops the loop of one disabled")
    func followsTheChannels() async throws {
        let fixture = try await PipelineFixture()
        let connector = PullChat([])
        let channelID = ChannelID()
        let route = ChannelRoute(
            channelID: channelID, tenantID: fixture.tenant, kind: "pullchat", enabled: true,
            sealedCredentials: try fixture.secrets.sealCredentials(["token": "t0ken"], tenant: fixture.tenant, channel: channelID)
        )
        await fixture.store.addChannel(route, agent: nil)
        let connectors = ConnectorRegistry([fixture.connector, connector])
        let service = PulledChannels(
            directory: fixture.store, ingest: fixture.ingest(), connectors: connectors, secrets: fixture.secrets, http: NoHTTP(),
            sleep: { _ in try await Task.sleep(for: .seconds(3600)) }, logger: PipelineFixture.logger
        )
        try await service.refresh()
        #expect(service.running == [channelID], "the chat channel is pushed: no loop for it")
        await fixture.store.disable(channelID)
        try await service.refresh()
        #expect(service.running.isEmpty)
        service.stopAll()
    }

    @Test("a channel another replica holds is left to it until its lease runs out; then this replica takes it with the cursor committed")
    func leases() async throws {
        let fixture = try await PipelineFixture()
        let connector = PullChat([])
        let channelID = ChannelID()
        let route = ChannelRoute(
            channelID: channelID, tenantID: fixture.tenant, kind: "pullchat", enabled: true,
            sealedCredentials: try fixture.secrets.sealCredentials(["token": "t0ken"], tenant: fixture.tenant, channel: channelID)
        )
        await fixture.store.addChannel(route, agent: nil)
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        await fixture.store.lease(channelID, to: "other", until: start.addingTimeInterval(30))
        let clock = Mutex(start)
        let connectors = ConnectorRegistry([fixture.connector, connector])
        let service = PulledChannels(
            directory: fixture.store, ingest: fixture.ingest(), connectors: connectors, secrets: fixture.secrets, http: NoHTTP(),
            owner: "me", now: { clock.withLock { $0 } }, sleep: { _ in try await Task.sleep(for: .seconds(3600)) }, logger: PipelineFixture.logger
        )
        try await service.refresh()
        #expect(service.running.isEmpty, "the other replica's lease still runs")
        clock.withLock { $0 = start.addingTimeInterval(31) }
        try await service.refresh()
        #expect(service.running == [channelID])
        #expect(await fixture.store.leases[channelID]?.owner == "me")
        service.stopAll()
    }

    @Test("a loop whose lease another replica took stops, and a failing pull shows its reason and retry time, then connected")
    func losesTheLeaseAndShowsItsState() async throws {
        let fixture = try await PipelineFixture()
        let connector = PullChat([.failure, .batch(["1"], cursor: "1"), .batch([], cursor: nil)])
        let channelID = ChannelID()
        let route = ChannelRoute(
            channelID: channelID, tenantID: fixture.tenant, kind: "pullchat", enabled: true,
            sealedCredentials: try fixture.secrets.sealCredentials(["token": "t0ken"], tenant: fixture.tenant, channel: channelID)
        )
        await fixture.store.addChannel(route, agent: nil)
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        let clock = Mutex(start)
        let states = Mutex<[PullState.Phase]>([])
        let store = fixture.store
        let service = PulledChannels(
            directory: store, ingest: fixture.ingest(), connectors: ConnectorRegistry([fixture.connector, connector]),
            secrets: fixture.secrets, http: NoHTTP(), owner: "me", now: { clock.withLock { $0 } },
            sleep: { duration in
                // At the idle pause this replica stalls past its lease and another takes the
                // channel: the next pull's renewal finds it gone.
                if duration == PulledChannels.Policy().idlePause {
                    clock.withLock { $0 = start.addingTimeInterval(41) }
                    await store.lease(channelID, to: "other", until: start.addingTimeInterval(3600))
                }
                if let state = await store.pullStates[channelID] { states.withLock { $0.append(state.phase) } }
            },
            logger: PipelineFixture.logger
        )
        await service.keep(route, cursor: nil)
        #expect(connector.askedAfter == [nil, nil, "1"], "no pull after the lease was lost")
        #expect(states.withLock { $0 } == [.failing, .connected])
        #expect(await store.leases[channelID]?.owner == "other")
    }
}
