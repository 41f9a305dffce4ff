public import NIOCore

extension EgressAddress {
    /// The scope of a resolved address; one without an IP address (a Unix socket, never an
    /// egress target) counts as ``AddressScope/reserved``.
    public static func scope(of address: SocketAddress) -> AddressScope {
        address.ipAddress.flatMap { scope(of: $0) } ?? .reserved
    }
}
