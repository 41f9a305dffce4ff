public import Hummingbird
import Logging
public import NIOCore
public import SwitchboardCore

/// The context of every request: Hummingbird's core storage, and the tenant once a key
/// has been checked.
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Set by `TenantAuthMiddleware`; read through `TenantRequestContext`, never directly.
    var principal: TenantPrincipal?
    /// The peer of the connection (a proxy's address when there is one in front).
    public let remoteAddress: SocketAddress?

    public init(source: Source) {
        self.coreContext = .init(source: source)
        self.principal = nil
        self.remoteAddress = source.channel.remoteAddress
    }

    /// The key unauthenticated limits count by: the IPv4 address, or an IPv6 address's /64
    /// (one host usually holds a whole /64); `unknown` without a peer (in-process tests).
    var sourceAddress: String { SourceAddress.key(remoteAddress) }

    /// Bodies are read by `JSONBody` with its own limit; this bounds Hummingbird's decoder.
    public var maxUploadSize: Int { JSONBody.maximumSize }
}

/// The context of `/v1/*` routes: the tenant is not optional, so a handler cannot forget
/// who is asking.
public struct TenantRequestContext: ChildRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let principal: TenantPrincipal

    public init(context: AppRequestContext) throws {
        guard let principal = context.principal else {
            throw SwitchboardError(.unauthorized, "a tenant API key is required: Authorization: Bearer sb_live_…")
        }
        self.coreContext = context.coreContext
        self.principal = principal
        self.logger[metadataKey: "tenant.id"] = "\(principal.tenantID)"
    }

    public var tenantID: TenantID { principal.tenantID }
    public var maxUploadSize: Int { JSONBody.maximumSize }
}
