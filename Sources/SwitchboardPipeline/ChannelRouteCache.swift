import Foundation
public import SwitchboardCore
import Synchronization

/// Read-through cache of channel lookups for webhook deliveries: a delivery needs its
/// channel's tenant, kind and credentials before anything else, and a busy channel would
/// otherwise read the same row thousands of times a second.
///
/// Changes through this process invalidate at once; another replica's change is seen
/// within `ttl`. Unknown ids are remembered for `negativeTTL` (a minute), so a flood of
/// deliveries to a bogus id costs one query a minute: an id that is unknown now can only
/// become known by a new channel, whose id is fresh and random (and whose creation
/// invalidates it here anyway). Bounded: past 100,000 ids the cache starts empty.
public final class ChannelRouteCache: Sendable {
    struct Entry: Sendable {
        var route: ChannelRoute?
        var credentials: [String: String]?
        var expires: ContinuousClock.Instant
    }

    private let entries = Mutex<[ChannelID: Entry]>([:])
    let ttl: Duration
    let negativeTTL: Duration
    private let clock: @Sendable () -> ContinuousClock.Instant

    public init(
        ttl: Duration = .seconds(5), negativeTTL: Duration = .seconds(60),
        now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }
    ) {
        self.ttl = ttl
        self.negativeTTL = negativeTTL
        self.clock = now
    }

    /// The route and opened credentials of a live channel, or `nil`. `load` runs only when
    /// the id is not cached (it may throw to refuse the lookup itself).
    public func resolve(
        _ id: ChannelID, load: () async throws -> ChannelRoute?, open: (ChannelRoute) throws -> [String: String]
    ) async throws -> (ChannelRoute, [String: String])? {
        let now = clock()
        if let entry = entries.withLock({ $0[id] }), entry.expires > now {
            guard let route = entry.route, let credentials = entry.credentials else { return nil }
            return (route, credentials)
        }
        let route = try await load()
        let credentials = try route.map(open)
        let entry = Entry(route: route, credentials: credentials, expires: now + (route == nil ? negativeTTL : ttl))
        entries.withLock { entries in
            if entries.count > 100_000 { entries.removeAll(keepingCapacity: true) }
            entries[id] = entry
        }
        guard let route, let credentials else { return nil }
        return (route, credentials)
    }

    public func invalidate(_ id: ChannelID) {
        _ = entries.withLock { $0.removeValue(forKey: id) }
    }
}
