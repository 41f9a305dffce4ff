/// The kind of network an IP address belongs to, as far as egress is concerned.
public enum AddressScope: String, Sendable, Hashable, CaseIterable {
    /// A public internet address: the only scope a provider call may reach by default.
    case global
    /// `127.0.0.0/8`, `::1`.
    case loopback
    /// `10/8`, `172.16/12`, `192.168/16`, and the carrier-grade NAT space `100.64/10`.
    case privateNetwork = "private"
    /// `169.254/16`, `fe80::/10` (cloud metadata services live here).
    case linkLocal = "link_local"
    /// `fc00::/7`, and the deprecated site-local `fec0::/10`.
    case uniqueLocal = "unique_local"
    /// `0.0.0.0/8`, `::`.
    case unspecified
    /// `224/4`, `ff00::/8`.
    case multicast
    /// `240/4` (the broadcast address included).
    case reserved

    /// Whether a call may go to an address of this scope when private egress is not allowed.
    public var isPublic: Bool { self == .global }
}
