public import ConnectorKit
public import Logging
public import ServiceLifecycle
public import SwitchboardCore
import Synchronization

/// The channels whose messages the server fetches (`PullingConnector`), as a Service: one
/// loop per live channel of a pulling kind, which pulls, stores what came through the same
/// ingest as a pushed delivery, and only then saves the channel's cursor — so a crash
/// between the two brings the same events again and the ingest's dedup stores them once.
///
/// The list of channels is read again every `refreshInterval`: a new channel starts, a
/// deleted or disabled one stops, and one whose credentials changed starts again with them.
/// A failed pull waits `backoff`, doubling up to `maximumBackoff`; an empty one waits
/// `idlePause` (the connector's own `wait` holds the request open where the platform can).
public final class PulledChannels: Service {
    public struct Policy: Sendable {
        public var refreshInterval: Duration = .seconds(30)
        /// How long one pull may wait for something new (long poll, IDLE).
        public var wait: Duration = .seconds(25)
        public var idlePause: Duration = .seconds(1)
        public var backoff: Duration = .seconds(2)
        public var maximumBackoff: Duration = .seconds(300)
        public init() {}
    }

    let directory: any PulledChannelDirectory
    let ingest: Ingest
    let connectors: ConnectorRegistry
    let secrets: SecretBox
    let http: any OutboundHTTPClient
    let policy: Policy
    let sleep: @Sendable (Duration) async throws -> Void
    let logger: Logger
    /// The running loops, by channel, with the sealed credentials each was started with.
    private let loops = Mutex<[ChannelID: (credentials: [UInt8], task: Task<Void, Never>)]>([:])

    public init(
        directory: any PulledChannelDirectory, ingest: Ingest, connectors: ConnectorRegistry, secrets: SecretBox,
        http: any OutboundHTTPClient, policy: Policy = Policy(),
        sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }, logger: Logger
    ) {
        self.directory = directory
        self.ingest = ingest
        self.connectors = connectors
        self.secrets = secrets
        self.http = http
        self.policy = policy
        self.sleep = sleep
        self.logger = logger
    }

    /// The channel kinds whose connectors pull.
    public var kinds: [String] { connectors.kinds.filter { connectors[$0] is any PullingConnector } }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            defer { self.stopAll() }
            while !Task.isCancelled {
                do {
                    try await self.refresh()
                } catch is CancellationError {
                    return
                } catch {
                    self.logger.warning("listing the pulled channels failed", metadata: ["error": "\(error)"])
                }
                do { try await self.sleep(self.policy.refreshInterval) } catch { return }
            }
        }
    }

    /// Starts a loop for each live channel without one, stops the loops of channels gone.
    func refresh() async throws {
        let kinds = self.kinds
        guard !kinds.isEmpty else { return }
        let live = try await directory.pulledChannels(kinds: kinds, logger: logger)
        let wanted = Dictionary(live.map { ($0.route.channelID, $0) }, uniquingKeysWith: { first, _ in first })
        let stale: [Task<Void, Never>] = loops.withLock { loops in
            let gone = loops.filter { id, loop in wanted[id].map { $0.route.sealedCredentials != loop.credentials } ?? true }
            for id in gone.keys { loops[id] = nil }
            return gone.values.map(\.task)
        }
        for task in stale { task.cancel() }
        for (id, channel) in wanted where loops.withLock({ $0[id] == nil }) {
            let task = Task { await self.keep(channel.route, cursor: channel.cursor) }
            loops.withLock { $0[id] = (channel.route.sealedCredentials, task) }
        }
    }

    /// The channels with a running loop.
    var running: Set<ChannelID> { loops.withLock { Set($0.keys) } }

    func stopAll() {
        let tasks = loops.withLock { loops in
            defer { loops.removeAll() }
            return loops.values.map(\.task)
        }
        for task in tasks { task.cancel() }
    }

    /// Pulls `route`'s channel until cancelled.
    func keep(_ route: ChannelRoute, cursor start: String?) async {
        var logger = self.logger
        logger[metadataKey: "channel.id"] = "\(route.channelID)"
        logger[metadataKey: "tenant.id"] = "\(route.tenantID)"
        guard let connector = connectors[route.kind] as? any PullingConnector else { return }
        let credentials: ChannelCredentials
        do {
            credentials = ChannelCredentials(
                try secrets.openCredentials(route.sealedCredentials, tenant: route.tenantID, channel: route.channelID)
            )
        } catch {
            logger.error("the pulled channel's credentials could not be opened", metadata: ["error": "\(error)"])
            return
        }
        var cursor = start
        var failures = 0
        while !Task.isCancelled {
            let pause: Duration
            do {
                let batch = try await connector.pull(after: cursor, credentials: credentials, http: http, wait: policy.wait)
                if !batch.events.isEmpty { _ = try await ingest.accept(batch, on: route, logger: logger) }
                if let next = batch.cursor, next != cursor {
                    try await directory.savePullCursor(route, cursor: next, logger: logger)
                    cursor = next
                }
                failures = 0
                pause = batch.events.isEmpty ? policy.idlePause : .zero
            } catch is CancellationError {
                return
            } catch {
                failures += 1
                pause = min(policy.backoff * (1 << min(failures - 1, 16)), policy.maximumBackoff)
                logger.warning("pulling the channel failed; trying again later", metadata: ["error": "\(error)", "retry.in": "\(pause)"])
            }
            if pause > .zero {
                do { try await sleep(pause) } catch { return }
            }
        }
    }
}
