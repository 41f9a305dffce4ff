public import NIOCore
public import NIOPosix

/// The system's resolver: `getaddrinfo`, which reads every numeric form of an address the
/// way the connection would (`inet_aton`'s octal and single-number forms included) and
/// consults `/etc/hosts` and DNS for names.
///
/// `getaddrinfo` blocks, for seconds when a DNS server is slow, so it runs on a thread pool
/// of its own: a tenant whose host name never answers occupies the gate's resolver
/// threads, not the pool the rest of the process shares.
public struct GetaddrinfoResolver: EgressResolver {
    let threadPool: NIOThreadPool

    /// A resolver on `threadPool`, which the caller has started and shuts down.
    public init(threadPool: NIOThreadPool) {
        self.threadPool = threadPool
    }

    public func addresses(of host: String, port: Int) async throws -> [SocketAddress] {
        try await threadPool.runIfActive { try Self.resolve(host, port: port) }
    }

    /// Every stream address `getaddrinfo` gives for `host`, with `port`. Blocking.
    static func resolve(_ host: String, port: Int) throws -> [SocketAddress] {
        guard (0...65535).contains(port) else { throw EgressResolutionError(host: host) }
        return try EgressAddress.resolve(host).map { try SocketAddress(ipAddress: $0, port: port) }
    }
}

/// A host that has no address (or whose lookup failed).
public struct EgressResolutionError: Error, Sendable, CustomStringConvertible {
    public let host: String
    public var description: String { "\(host) has no address" }
}
