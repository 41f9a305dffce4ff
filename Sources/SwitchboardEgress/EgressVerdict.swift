public import NIOCore

/// What the egress rules say about one target, after resolving it.
public enum EgressVerdict: Sendable, Equatable {
    /// Every address the target resolved to may be reached: the gate connects to these,
    /// and to nothing else.
    case admitted([SocketAddress])
    /// The target resolved to `address`, whose scope private egress would need.
    case refused(address: SocketAddress, scope: AddressScope)
    /// The target has no address (or its lookup failed or took too long).
    case unresolved
}
