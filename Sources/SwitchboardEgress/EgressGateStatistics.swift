/// What the gate has done since it started: for tests and operators' metrics.
public struct EgressGateStatistics: Sendable, Hashable {
    /// Tunnels opened to an admitted address.
    public var opened = 0
    /// Targets refused because an address they resolved to is not public.
    public var refused = 0
    /// Targets that did not resolve, or whose every address failed to connect in time.
    public var unreachable = 0
    /// Connections closed at once because `maximumTunnels` were open.
    public var shed = 0
    /// Requests to the gate that were not a well-formed, authorised `CONNECT`.
    public var rejected = 0
    /// Connections to the gate open now (tunnels and handshakes).
    public var open = 0
}
