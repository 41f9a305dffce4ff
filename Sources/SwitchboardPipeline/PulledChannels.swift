public import ConnectorKit
public import Foundation
public import Logging
public import ServiceLifecycle
public import SwitchboardCore
import Synchronization

/// The channels whose messages the server fetches (`PullingConnector`), as a Service: one
/// loop per live channel of a pulling kind whose lease this replica holds, which pulls,
/// stores what came through the same ingest as a pushed delivery, and moves the channel's
/// cursor in the same transaction — so a crash before the commit brings the same events
/// again, which the ingest's dedup stores once, and nothing is skipped.
///
/// Replicas share the channels through a lease in the directory: a replica claims a
/// channel nobody holds (or whose holder's lease ran out), renews the lease before a pull
/// that might outlast it, and gives it up when its loop stops. A replica that dies stops renewing; another
/// takes the channel at its next refresh after the lease ran out — within
/// `lease + refreshInterval` (50 s with the defaults).
///
/// The list of channels is read again every `refreshInterval`: a new channel starts, a
/// deleted or disabled one stops, and one whose credentials changed starts again with them.
/// A failed pull waits `backoff`, doubling up to `maximumBackoff`; an empty one waits
/// `idlePause` (the connector's own `wait` holds the request open where the platform can).
/// How each channel's fetching goes is recorded for its API answer (`PullState`), when it
/// changes.
public final class PulledChannels: Service {
    public struct Policy: Sendable {
        public var refreshInterval: Duration = .seconds(10)
        /// How long a claimed channel stays this replica's without a renewal; renewed before a
        /// pull that might outlast it (`wait` and 15 s for the fetch after it).
        public var lease: Duration = .seconds(40)
        /// How long one pull may wait for something new (long poll, IDLE).
        public var wait: Duration = .seconds(20)
        public var idlePause: Duration = .seconds(1)
        public var backoff: Duration = .seconds(2)
        public var maximumBackoff: Duration = .seconds(300)
        /// Channels one replica fetches at most; the rest wait for another replica.
        public var maximumChannels = 1_000
        public init() {}
    }

    let directory: any PulledChannelDirectory
    let ingest: Ingest
    let connectors: ConnectorRegistry
    let secrets: SecretBox
    let http: any OutboundHTTPClient
    let policy: Policy
    /// This replica's name in the leases.
    let owner: String
    let now: @Sendable () -> Date
    let sleep: @Sendable (Duration) async throws -> Void
    let logger: Logger
    /// The running loops, by channel: the sealed credentials each was started with, and a
    /// token telling this loop from a later one of the same channel.
    private let loops = Mutex<[ChannelID: (credentials: [UInt8], token: UInt64, task: Task<Void, Never>)]>([:])
    private let tokens = Atomic<UInt64>(0)
    private let bell = Bell()

    public init(
        directory: any PulledChannelDirectory, ingest: Ingest, connectors: ConnectorRegistry, secrets: SecretBox,
        http: any OutboundHTTPClient, policy: Policy = Policy(), owner: String = JobRunner.defaultWorkerName(),
        now: @escaping @Sendable () -> Date = Date.init,
        sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }, logger: Logger
    ) {
        self.directory = directory
        self.ingest = ingest
        self.connectors = connectors
        self.secrets = secrets
        self.http = http
        self.policy = policy
        self.owner = owner
        self.now = now
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
                // Until the next refresh, or sooner when a channel was created or changed here.
                let interval = self.policy.refreshInterval
                let stopped = await withTaskGroup(of: Bool.self) { group in
                    group.addTask { (try? await self.sleep(interval)) == nil }
                    group.addTask { await self.bell.wait(); return false }
                    let stopped = await group.next() ?? true
                    group.cancelAll()
                    return stopped
                }
                if stopped { return }
            }
        }
    }

    /// Lists the channels again now, rather than at the next refresh: a channel created,
    /// changed or enabled through this replica starts within a moment.
    public func refreshSoon() { bell.ring() }

    /// Starts a loop for each live channel without one whose lease this replica can take,
    /// and stops the loops of channels gone or changed.
    public func refresh() async throws {
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
        let now = self.now()
        for (id, channel) in wanted where channel.isClaimable(by: owner, at: now) {
            guard loops.withLock({ $0[id] == nil && $0.count < policy.maximumChannels }) else { continue }
            guard let claim = try await directory.claimPulledChannel(
                channel.route, owner: owner, now: now, until: now.addingTimeInterval(policy.lease.timeInterval), logger: logger
            ) else { continue }
            let token = tokens.add(1, ordering: .relaxed).newValue
            let task = Task { await self.keep(channel.route, cursor: claim.cursor, token: token) }
            loops.withLock { $0[id] = (channel.route.sealedCredentials, token, task) }
        }
    }

    /// The channels with a running loop.
    var running: Set<ChannelID> { loops.withLock { Set($0.keys) } }

    public func stopAll() {
        let tasks = loops.withLock { loops in
            defer { loops.removeAll() }
            return loops.values.map(\.task)
        }
        for task in tasks { task.cancel() }
    }

    /// Pulls `route`'s channel until cancelled or its lease is lost, then gives the lease up.
    func keep(_ route: ChannelRoute, cursor start: String?, token: UInt64 = 0) async {
        var logger = self.logger
        logger[metadataKey: "channel.id"] = "\(route.channelID)"
        logger[metadataKey: "tenant.id"] = "\(route.tenantID)"
        defer {
            loops.withLock { loops in
                if loops[route.channelID]?.token == token { loops[route.channelID] = nil }
            }
        }
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
        var shown: PullState?
        // The lease as this loop last renewed it: the first pull renews it (a refresh
        // claimed it a moment ago, but the loop must not count on that).
        var leaseUntil = Date.distantPast
        while !Task.isCancelled {
            let pause: Duration
            var state: PullState
            do {
                // Renewed when the next pull might outlast it: before every pull of a quiet
                // mailbox (each waits up to `wait`), every few seconds through a backlog.
                let now = self.now()
                if leaseUntil.timeIntervalSince(now) < (policy.wait + .seconds(15)).timeInterval {
                    guard try await directory.claimPulledChannel(
                        route, owner: owner, now: now, until: now.addingTimeInterval(policy.lease.timeInterval), logger: logger
                    ) != nil else {
                        logger.warning("another replica took the pulled channel")
                        break
                    }
                    leaseUntil = now.addingTimeInterval(policy.lease.timeInterval)
                }
                // The first pull (and the first after a failure) waits for nothing, so the
                // channel shows as connected once it is, not after a long poll's wait.
                let wait = shown?.phase == .connected ? policy.wait : .zero
                let batch = try await connector.pull(after: cursor, credentials: credentials, http: http, wait: wait)
                if !batch.events.isEmpty {
                    _ = try await ingest.accept(batch, on: route, leaseOwner: owner, logger: logger)
                } else if let next = batch.cursor, next != cursor {
                    try await directory.savePullCursor(route, cursor: next, owner: owner, logger: logger)
                }
                if let next = batch.cursor { cursor = next }
                failures = 0
                pause = batch.events.isEmpty ? policy.idlePause : .zero
                state = PullState(phase: .connected, checkedAt: self.now())
            } catch is CancellationError {
                break
            } catch {
                if Task.isCancelled { break }
                failures += 1
                pause = min(policy.backoff * (1 << min(failures - 1, 16)), policy.maximumBackoff)
                logger.warning("pulling the channel failed; trying again later", metadata: ["error": "\(error)", "retry.in": "\(pause)"])
                let now = self.now()
                state = PullState(phase: .failing, error: Self.reason(error), retryAt: now.addingTimeInterval(pause.timeInterval), checkedAt: now)
            }
            if shown?.phase != state.phase || shown?.error != state.error {
                do {
                    try await directory.recordPullState(route, state, owner: owner, logger: logger)
                    shown = state
                } catch {
                    logger.warning("the pulled channel's state could not be recorded", metadata: ["error": "\(error)"])
                }
            }
            if pause > .zero {
                do { try await sleep(pause) } catch { break }
            }
        }
        // In a task of its own: this one may be cancelled, and the release must still run.
        let directory = self.directory, owner = self.owner
        await Task { try? await directory.releasePulledChannel(route, owner: owner, logger: logger) }.value
    }

    /// What the channel's API answer says of a failed pull: the connector's message (its
    /// errors carry no secret), or the error's kind for anything else.
    static func reason(_ error: any Error) -> String {
        if let error = error as? ConnectorError { return error.message }
        return "storing the fetched messages failed"
    }
}

/// A wake-up that is kept until someone waits for it: `ring` before `wait` is not lost, and
/// many rings before one wait are one.
final class Bell: Sendable {
    private let state = Mutex<(rung: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))

    func ring() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiter else {
                state.rung = true
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume()
    }

    /// Returns at the next ring (at once for one already rung), or when the task is cancelled.
    func wait() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let now = state.withLock { state -> Bool in
                    if state.rung || Task.isCancelled {
                        state.rung = false
                        return true
                    }
                    state.waiter = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }
    }
}
