public import Foundation

/// A live channel whose messages the server fetches, as the directory lists it.
public struct PulledChannel: Sendable, Hashable {
    public var route: ChannelRoute
    /// Where the next fetch starts, as the last stored fetch left it.
    public var cursor: String?
    /// The replica holding the channel's lease, and until when; a lease past its time is
    /// anybody's.
    public var owner: String?
    public var leaseUntil: Date?

    public init(route: ChannelRoute, cursor: String?, owner: String? = nil, leaseUntil: Date? = nil) {
        self.route = route
        self.cursor = cursor
        self.owner = owner
        self.leaseUntil = leaseUntil
    }

    /// Whether `replica` may claim the channel at `now`.
    public func isClaimable(by replica: String, at now: Date) -> Bool {
        owner == nil || owner == replica || (leaseUntil ?? .distantPast) < now
    }
}

/// A lease taken: the cursor the channel's fetching resumes from.
public struct PullClaim: Sendable, Hashable {
    public var cursor: String?
    public init(cursor: String?) { self.cursor = cursor }
}

/// How a pulled channel's fetching goes, as the channel's API answer shows it.
public struct PullState: Sendable, Hashable {
    public enum Phase: String, Sendable, Hashable, Codable, CaseIterable {
        /// A replica took the channel and is logging in.
        case connecting
        /// The last fetch worked.
        case connected
        /// The last fetch failed; `error` says why and `retryAt` when it tries again.
        case failing
    }

    public var phase: Phase
    /// The platform's or the network's reason, short and free of secrets.
    public var error: String?
    public var retryAt: Date?
    public var checkedAt: Date

    public init(phase: Phase, error: String? = nil, retryAt: Date? = nil, checkedAt: Date) {
        self.phase = phase
        self.error = error
        self.retryAt = retryAt
        self.checkedAt = checkedAt
    }
}
