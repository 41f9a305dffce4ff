import Foundation
import SwitchboardCore
import SwitchboardPostgres
import Synchronization

/// Read-through cache of channel lookups for webhook deliveries: a delivery needs its
/// channel's tenant, kind and credentials before anything else, and a busy channel would
/// otherwise read the same row thousands of times a second.
///
/// Changes through this process invalidate at once; another replica's change is seen
/// within `ttl` (unknown ids are remembered for a shorter time, so a flood of deliveries
/// to a bogus id costs no queries, and a new channel is soon found everywhere).
final class ChannelRouteCache: Sendable {
    struct Entry: Sendable {
        var route: ChannelRoute?
        var credentials: [String: String]?
        var expires: ContinuousClock.Instant
    }

    private let entries = Mutex<[ChannelID: Entry]>([:])
    let ttl: Duration
    let negativeTTL: Duration

    init(ttl: Duration = .seconds(5), negativeTTL: Duration = .seconds(1)) {
        self.ttl = ttl
        self.negativeTTL = negativeTTL
    }

    /// The route and opened credentials of a live channel, or `nil`.
    func resolve(
        _ id: ChannelID, load: () async throws -> ChannelRoute?, open: (ChannelRoute) throws -> [String: String]
    ) async throws -> (ChannelRoute, [String: String])? {
        let now = ContinuousClock.now
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

    func invalidate(_ id: ChannelID) {
        _ = entries.withLock { $0.removeValue(forKey: id) }
    }
}
