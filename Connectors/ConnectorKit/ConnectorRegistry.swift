/// The connectors a server speaks, by channel kind: what the message path looks a
/// channel's connector up in. The server makes the standard set from the connectors its
/// build has; a test makes one of its own.
public struct ConnectorRegistry: Sendable {
    let connectors: [String: any Connector]

    public init(_ connectors: [any Connector]) {
        self.connectors = Dictionary(uniqueKeysWithValues: connectors.map { ($0.kind, $0) })
    }

    public subscript(kind: String) -> (any Connector)? { connectors[kind] }

    public var kinds: [String] { connectors.keys.sorted() }
}
