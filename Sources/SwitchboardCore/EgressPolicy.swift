public import Foundation

/// Where tenant-supplied URLs may point. Unless the operator allows it
/// (`SWITCHBOARD_EGRESS_ALLOW_PRIVATE`), a URL may not name loopback, private, link-local
/// or unspecified addresses, so a tenant cannot make the server call into its own network.
///
/// This checks the URL as written (names like `localhost` and literal addresses); the
/// sender checks the addresses a name resolves to when it connects.
public struct EgressPolicy: Sendable {
    public var allowPrivate: Bool

    public init(allowPrivate: Bool) {
        self.allowPrivate = allowPrivate
    }

    public func check(_ text: String, field: String) throws {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
              let host = url.host?.lowercased(), !host.isEmpty
        else {
            throw SwitchboardError.invalid("\(field) must be an absolute http or https URL", field: field)
        }
        guard !allowPrivate else { return }
        if Self.isPrivate(host: host) {
            throw SwitchboardError.invalid("\(field) points at a private or loopback address, which is not allowed", field: field)
        }
    }

    public static func isPrivate(host: String) -> Bool {
        let host = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        if host == "localhost" || host.hasSuffix(".localhost") || host.hasSuffix(".local") || host.hasSuffix(".internal") {
            return true
        }
        let parts = host.split(separator: ".").compactMap { UInt8($0) }
        if parts.count == 4, host.split(separator: ".").count == 4 {
            switch (parts[0], parts[1]) {
            case (127, _), (10, _), (0, _), (169, 254), (192, 168): return true
            case (172, 16...31), (100, 64...127): return true
            default: return false
            }
        }
        if host.contains(":") {
            let lower = host.lowercased()
            return lower == "::1" || lower == "::" || lower.hasPrefix("fc") || lower.hasPrefix("fd") || lower.hasPrefix("fe80")
                || lower.hasPrefix("::ffff:")
        }
        return false
    }
}
