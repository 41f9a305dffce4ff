public import ConnectorKit
import Foundation
public import Logging
public import SwitchboardCore

/// Workers that can take new messages' reply jobs in the ingest's write (`Workers`).
public protocol IngestJobTaker: Sendable {
    /// Reserves places for up to `count` jobs among the free workers: how to take them, or
    /// nil when none is free.
    func reserve(upTo count: Int) -> JobTaking?
    /// Hands over the jobs taken under a reservation of `reserved` places, each to run in
    /// one of them; the places left unused are freed.
    func hand(_ jobs: [TakenJob], reserved: Int)
}

/// Group commit for ingest: deliveries that arrive while earlier ones are being written
/// are written together, in one transaction (`GroupCommit`), each answered only after it
/// committed.
///
/// With `taker` (this process's workers), the batch's new messages' reply jobs are taken
/// in the same write for as many workers as are free, and handed to them with their
/// context: no notification, claim or second round trip before the answer starts.
public struct IngestBatcher: Sendable {
    private let commit: GroupCommit<Int, (IngestDelivery, Logger), [IngestResult]>

    /// - Parameters:
    ///   - maximumBatch: the most deliveries one transaction takes.
    ///   - maximumInFlight: how many transactions run at once; more deliveries wait and
    ///     join the next batch. A few per core keeps the database busy without thrashing.
    ///   - taker: the workers that take the new messages' reply jobs at once, if any.
    public init(store: any IngestStore, maximumBatch: Int = 64, maximumInFlight: Int = 4, taker: (any IngestJobTaker)? = nil) {
        commit = GroupCommit(maximumBatch: maximumBatch, maximumInFlight: maximumInFlight) { _, batch in
            // Rows are locked in the order deliveries are written: give every batch the same
            // order (by tenant, then sender), so two batches touching the same contacts wait
            // for each other instead of deadlocking.
            let order = batch.indices.sorted { Self.lockOrder(batch[$0].0) < Self.lockOrder(batch[$1].0) }
            let taking = taker?.reserve(upTo: batch.count)
            let ingested: Ingested
            do {
                ingested = try await store.ingest(batch: order.map { batch[$0].0 }, taking: taking, logger: batch[0].1)
            } catch {
                // Nothing was taken; the jobs are queued and notified as usual.
                taker?.hand([], reserved: taking?.limit ?? 0)
                throw error
            }
            taker?.hand(ingested.taken, reserved: taking?.limit ?? 0)
            var results = [[IngestResult]](repeating: [], count: batch.count)
            for (position, index) in order.enumerated() where position < ingested.results.count {
                results[index] = ingested.results[position]
            }
            return results
        }
    }

    /// Stores one delivery; returns once it is committed.
    public func ingest(_ delivery: IngestDelivery, logger: Logger) async throws -> [IngestResult] {
        try await commit.submit((delivery, logger), key: 0)
    }

    static func lockOrder(_ delivery: IngestDelivery) -> String {
        let first = delivery.events.first
        return "\(delivery.route.tenantID)|\(delivery.route.kind)|\(first?.sender?.externalID ?? "")|\(first?.chat?.externalID ?? "")"
    }
}

/// A channel a delivery is for, found and ready: its route, connector and opened credentials.
public struct ResolvedChannel: Sendable {
    public var route: ChannelRoute
    public var connector: any Connector
    public var credentials: ChannelCredentials

    public init(route: ChannelRoute, connector: any Connector, credentials: ChannelCredentials) {
        self.route = route
        self.connector = connector
        self.credentials = credentials
    }
}

/// Why a delivery was not stored.
public enum DeliveryRefusal: Error, Sendable {
    /// The signature or secret does not match the channel: nothing is kept.
    case unverified(reason: String)
    /// Verified, but the connector could not read it: kept as a dead letter.
    case unreadable(reason: String, field: String?)
}

/// The ingest: a pushed delivery (or, for a pulled channel, what its service fetched) is
/// verified by its channel's connector, parsed, and stored with its events — each event
/// once — in a group commit; the caller acknowledges it only after that committed.
public struct Ingest: Sendable {
    let channels: any ChannelDirectory
    let store: any IngestStore
    let batcher: IngestBatcher
    let cache: ChannelRouteCache
    let connectors: ConnectorRegistry
    let secrets: SecretBox

    public init(
        channels: any ChannelDirectory, store: any IngestStore, batcher: IngestBatcher, cache: ChannelRouteCache,
        connectors: ConnectorRegistry, secrets: SecretBox
    ) {
        self.channels = channels
        self.store = store
        self.batcher = batcher
        self.cache = cache
        self.connectors = connectors
        self.secrets = secrets
    }

    /// The live channel of `id`, its connector and opened credentials; `nil` when there is
    /// none, it is disabled, or this build has no connector for its kind. `beforeLookup`
    /// runs only when the cache cannot answer, and may throw to refuse the lookup.
    public func resolve(_ id: ChannelID, logger: Logger, beforeLookup: () throws -> Void = {}) async throws -> ResolvedChannel? {
        guard let (route, credentials) = try await cache.resolve(
                  id,
                  load: {
                      try beforeLookup()
                      return try await channels.route(id, logger: logger)
                  },
                  open: { try secrets.openCredentials($0.sealedCredentials, tenant: $0.tenantID, channel: $0.channelID) }
              ),
              route.enabled,
              let connector = connectors[route.kind]
        else { return nil }
        return ResolvedChannel(route: route, connector: connector, credentials: ChannelCredentials(credentials))
    }

    /// Verifies, parses and stores a delivery to `channel`; answers each event's result
    /// once committed. `verified` runs after the signature matched, before anything else
    /// (the caller counts the channel's allowance there, so unsigned requests cannot spend
    /// it). Throws `DeliveryRefusal` for a delivery it does not store.
    public func accept(
        _ delivery: WebhookDelivery, contentType: String?, on channel: ResolvedChannel, logger: Logger,
        verified: () throws -> Void = {}
    ) async throws -> [IngestResult] {
        do {
            try channel.connector.verify(delivery, credentials: channel.credentials)
        } catch {
            throw DeliveryRefusal.unverified(reason: error.message)
        }
        try verified()
        let events: [InboundEvent]
        do {
            events = try channel.connector.parse(delivery, credentials: channel.credentials)
        } catch {
            try await store.deadLetter(channel.route, reason: error.message, contentType: contentType, body: delivery.body, logger: logger)
            throw DeliveryRefusal.unreadable(reason: error.message, field: error.field)
        }
        return try await store(events, payload: delivery.body, on: channel.route, logger: logger)
    }

    /// Stores what a pulled channel's service fetched (its connector verified the platform
    /// when it connected); answers each event's result once committed.
    /// The batch's cursor is committed with its events while `leaseOwner` holds the
    /// channel's lease.
    public func accept(_ batch: PulledBatch, on route: ChannelRoute, leaseOwner: String? = nil, logger: Logger) async throws -> [IngestResult] {
        try await store(batch.events, payload: batch.payload, on: route, cursor: batch.cursor, leaseOwner: leaseOwner, logger: logger)
    }

    func store(
        _ events: [InboundEvent], payload: [UInt8], on route: ChannelRoute, cursor: String? = nil, leaseOwner: String? = nil,
        logger: Logger
    ) async throws -> [IngestResult] {
        let lookup = connectors[route.kind]?.looksUpProfiles ?? false
        return try await batcher.ingest(
            IngestDelivery(
                route: route, payload: StorableText.sanitize(String(decoding: payload, as: UTF8.self)),
                events: events.map { IngestEvent($0, lookupProfile: lookup) },
                cursor: cursor, leaseOwner: leaseOwner
            ),
            logger: logger
        )
    }
}

extension IngestEvent {
    /// A message names at most this many earlier ones (a long thread's References).
    static let maximumThreadKeys = 20

    /// The domain's copy of a connector's event. A message without a sender names no one
    /// to file it under: it is recorded as ignored rather than stored half. Every string
    /// from the platform passes `StorableText`, so a NUL in a name or a text is stored as
    /// U+FFFD instead of failing the ingest (and the whole group commit with it).
    public init(_ event: InboundEvent, lookupProfile: Bool = false) {
        let orphan = event.kind == .message && event.sender == nil
        let clean = StorableText.sanitize as (String) -> String
        let cleanOptional = StorableText.sanitize as (String?) -> String?
        self.init(
            kind: orphan ? .ignored : IngestEvent.Kind(rawValue: event.kind.rawValue) ?? .ignored,
            eventID: clean(event.eventID),
            messageID: cleanOptional(event.messageID),
            sender: event.sender.map {
                IngestEvent.Sender(
                    externalID: clean($0.externalID), name: cleanOptional($0.name), username: cleanOptional($0.username),
                    phone: cleanOptional($0.phone), email: cleanOptional($0.email), language: cleanOptional($0.languageCode),
                    alternateIDs: $0.alternateIDs.map(clean)
                )
            },
            chat: event.chat.map { IngestEvent.Chat(externalID: clean($0.externalID), kind: $0.kind.rawValue, title: cleanOptional($0.title)) },
            text: cleanOptional(event.text),
            attachments: event.attachments.map {
                IngestEvent.Attachment(
                    kind: clean($0.kind), reference: cleanOptional($0.reference), mimeType: cleanOptional($0.mimeType),
                    name: cleanOptional($0.name),
                    details: Dictionary($0.details.map { (clean($0.key), clean($0.value)) }, uniquingKeysWith: { first, _ in first })
                )
            },
            // A platform's time outside what every layer can hold is replaced by the receipt time.
            sentAt: PlatformTime.bounded(event.sentAt),
            status: cleanOptional(event.status),
            statusError: cleanOptional(event.statusError),
            ignoredReason: orphan ? "message_without_sender" : cleanOptional(event.ignoredReason),
            payload: event.raw.map { StorableText.sanitize(String(decoding: $0, as: UTF8.self)) },
            threadKeys: event.threadKeys.prefix(Self.maximumThreadKeys).map(clean),
            matchTitle: event.matchTitle,
            noReply: cleanOptional(event.noReply),
            replyLimit: event.replyLimit.map { min(max($0, 1), 10_000) },
            fromBusiness: event.fromBusiness,
            lookupProfile: lookupProfile
        )
    }
}
