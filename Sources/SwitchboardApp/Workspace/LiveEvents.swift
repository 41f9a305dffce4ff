import Foundation
public import Logging
import PostgresNIO
public import ServiceLifecycle
public import SwitchboardCore
public import SwitchboardPostgres
import Synchronization

/// One change an inbox shows, as announced by the database's triggers (0020,
/// `Functions/inbox.sql`): a message, a delivery status, a conversation closed, reopened,
/// handed off, resumed or assigned, a new conversation; or `resync` (events were lost: a
/// slow subscriber, a reconnect, a bulk change) — refresh everything.
public struct LiveEvent: Sendable, Hashable {
    public var kind: String
    public var conversationID: ConversationID?
    public var messageID: MessageID?

    public init(kind: String, conversationID: ConversationID? = nil, messageID: MessageID? = nil) {
        self.kind = kind
        self.conversationID = conversationID
        self.messageID = messageID
    }

    public static let resync = LiveEvent(kind: "resync")

    /// The event's `data:` line: `{"kind":…,"conversation_id":…,"message_id":…}`.
    public var json: String {
        var fields = ["\"kind\":\"\(kind)\""]
        if let conversationID { fields.append("\"conversation_id\":\"\(conversationID)\"") }
        if let messageID { fields.append("\"message_id\":\"\(messageID)\"") }
        return "{" + fields.joined(separator: ",") + "}"
    }

    /// The kinds a trigger may announce; anything else is dropped.
    static let kinds: Set<String> = [
        "message", "status", "edited", "closed", "reopened", "handed_off", "resumed", "assigned", "conversation", "resync",
    ]

    struct Payload: Decodable {
        var t: UUID
        var c: UUID?
        var k: String
        var m: UUID?
    }

    /// Parses one notification's payload; `nil` for anything malformed.
    static func parse(_ payload: String) -> (TenantID, LiveEvent)? {
        guard payload.utf8.count < 8000,
              let decoded = try? JSONDecoder().decode(Payload.self, from: Data(payload.utf8)),
              kinds.contains(decoded.k)
        else { return nil }
        return (TenantID(decoded.t), LiveEvent(kind: decoded.k, conversationID: decoded.c.map { ConversationID($0) }, messageID: decoded.m.map { MessageID($0) }))
    }
}

/// The inbox's live events, from any replica: one connection of this process `LISTEN`s on
/// `switchboard_inbox` (reconnecting with backoff when it drops) and fans each event out to
/// the subscribers of its tenant, and only of its tenant. The connection is taken from the
/// pool when the first person subscribes, not at start: a process nobody watches (an API
/// replica, a worker) keeps its whole pool.
///
/// Bounded everywhere: each subscriber buffers at most ``bufferSize`` events (a slow one
/// loses its oldest and is told `resync`), a tenant has at most ``perTenantLimit``
/// subscribers and the process ``totalLimit``; past that, `subscribe` refuses.
public final class LiveEvents: Service, Sendable {
    public static let channel = "switchboard_inbox"

    let database: Database
    let logger: Logger
    public let bufferSize: Int
    public let perTenantLimit: Int
    public let totalLimit: Int

    struct State {
        var subscribers: [TenantID: [Int: AsyncStream<LiveEvent>.Continuation]] = [:]
        var total = 0
        var nextID = 0
        var listening = false
        var waiters: [CheckedContinuation<Void, Never>] = []
        var everListened = false
        /// Someone has subscribed: the listening connection is wanted.
        var wanted = false
        var demand: CheckedContinuation<Void, Never>?
    }

    let state = Mutex(State())

    public init(database: Database, logger: Logger, bufferSize: Int = 64, perTenantLimit: Int = 500, totalLimit: Int = 10_000) {
        self.database = database
        self.logger = logger
        self.bufferSize = bufferSize
        self.perTenantLimit = perTenantLimit
        self.totalLimit = totalLimit
    }

    /// A stream of `tenant`'s events, from now on; ends when the service stops. Refuses
    /// (`unavailable`) past the tenant's or the process's limit of subscribers.
    public func subscribe(_ tenant: TenantID) throws -> AsyncStream<LiveEvent> {
        let (stream, continuation) = AsyncStream<LiveEvent>.makeStream(bufferingPolicy: .bufferingNewest(bufferSize))
        let id: Int? = state.withLock { state in
            guard state.total < totalLimit, state.subscribers[tenant, default: [:]].count < perTenantLimit else { return nil }
            state.nextID += 1
            state.total += 1
            state.subscribers[tenant, default: [:]][state.nextID] = continuation
            state.wanted = true
            if let demand = state.demand {
                state.demand = nil
                demand.resume()
            }
            return state.nextID
        }
        guard let id else {
            continuation.finish()
            throw SwitchboardError(.unavailable, "too many live connections; try again later")
        }
        continuation.onTermination = { [weak self] _ in self?.remove(tenant, id) }
        return stream
    }

    func remove(_ tenant: TenantID, _ id: Int) {
        state.withLock { state in
            if state.subscribers[tenant]?.removeValue(forKey: id) != nil { state.total -= 1 }
            if state.subscribers[tenant]?.isEmpty == true { state.subscribers[tenant] = nil }
        }
    }

    /// How many subscribers the process has (for tests and metrics).
    public var subscriberCount: Int { state.withLock { $0.total } }

    /// Returns once this process listens (at once when it already does).
    public func listening() async {
        await withCheckedContinuation { continuation in
            let now = state.withLock { state in
                if state.listening { return true }
                state.waiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }

    /// Hands an event to every subscriber of its tenant.
    public func publish(_ tenant: TenantID, _ event: LiveEvent) {
        let continuations = state.withLock { state in state.subscribers[tenant].map { Array($0.values) } ?? [] }
        for continuation in continuations { Self.send(event, to: continuation) }
    }

    static func send(_ event: LiveEvent, to continuation: AsyncStream<LiveEvent>.Continuation) {
        if case .dropped = continuation.yield(event) {
            // The subscriber fell behind: its oldest events are gone, so it must refresh.
            _ = continuation.yield(.resync)
        }
    }

    func everyone(_ event: LiveEvent) {
        let continuations = state.withLock { state in state.subscribers.values.flatMap(\.values) }
        for continuation in continuations { Self.send(event, to: continuation) }
    }

    /// Marks the process listening; answers whether it had listened before (a reconnect).
    func connected() -> Bool {
        let reconnect = state.withLock { state in
            defer { state.everListened = true }
            return state.everListened
        }
        setListening(true)
        return reconnect
    }

    func setListening(_ on: Bool) {
        let waiters = state.withLock { state in
            state.listening = on
            guard on else { return [CheckedContinuation<Void, Never>]() }
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once someone has subscribed, or the task is cancelled.
    func wanted() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLock { state in
                    if state.wanted || Task.isCancelled { return true }
                    state.demand = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            let demand = state.withLock { state in
                defer { state.demand = nil }
                return state.demand
            }
            demand?.resume()
        }
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await self.wanted()
            var backoff = Duration.milliseconds(100)
            while !Task.isCancelled {
                do {
                    try await self.database.client.withConnection { connection in
                        try await connection.listen(on: Self.channel) { notifications in
                            // Events of the gap before this connection listened are lost.
                            if self.connected() { self.everyone(.resync) }
                            for try await notification in notifications {
                                guard let (tenant, event) = LiveEvent.parse(notification.payload) else { continue }
                                self.publish(tenant, event)
                            }
                        }
                    }
                } catch {
                    if Task.isCancelled { break }
                    self.logger.warning("listening for inbox events failed; retrying", metadata: ["error": "\(String(reflecting: error))"])
                }
                // A connection that listened starts the backoff over.
                if self.state.withLock({ $0.listening }) { backoff = .milliseconds(100) }
                self.setListening(false)
                if Task.isCancelled { break }
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(5))
            }
        }
        setListening(false)
        let continuations = state.withLock { state in
            defer { state.subscribers = [:]; state.total = 0 }
            return state.subscribers.values.flatMap(\.values)
        }
        for continuation in continuations { continuation.finish() }
    }
}
