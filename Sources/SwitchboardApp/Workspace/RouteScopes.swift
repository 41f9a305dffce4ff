import HTTPTypes
import SwitchboardCore

/// What each `/v1` route family needs of the caller, in one table: the scope a key must
/// carry (a person acts with their role's scopes, `Role.scopes`). A route not named here
/// needs `admin`, so a new route is closed until it is placed.
enum RouteScopes {
    enum Requirement: Equatable {
        /// Any authenticated caller (their own profile, the tenant's name and balance).
        case anyone
        /// One of these scopes (`admin` always passes).
        case anyOf([Scope])
        /// An owner, or an `admin` key: the owners themselves and the team's security rules.
        case ownerLevel
    }

    /// The requirement of `method` on the route template `path` (`/v1/contacts/{id}`).
    static func requirement(_ method: HTTPRequest.Method, _ path: String) -> Requirement {
        let reads = method == .get || method == .head
        func family(_ prefix: String) -> Bool { path == prefix || path.hasPrefix(prefix + "/") }
        switch true {
        case family("/v1/me"): return .anyone
        case path == "/v1/tenant": return reads ? .anyone : .ownerLevel
        case family("/v1/api-keys"), family("/v1/users"), family("/v1/login-events"): return .anyOf([.admin])
        // The data subject's rights: consents, restriction, retention, export and erasure.
        case path.hasSuffix("/consents"): return .anyOf(reads ? [.crmRead, .privacyWrite] : [.privacyWrite])
        case path.hasSuffix("/restrict"), path.hasSuffix("/unrestrict"), path.hasSuffix("/retention"), path.hasSuffix("/export"):
            return .anyOf([.privacyWrite])
        case path == "/v1/contacts/{id}" && method == .delete: return .anyOf([.privacyWrite])
        case family("/v1/privacy"), family("/v1/audit-log"): return .anyOf([.privacyWrite])
        case family("/v1/contacts"), family("/v1/conversations"), family("/v1/deals"):
            return .anyOf(reads ? [.crmRead] : [.crmWrite])
        // Writing to contacts through a channel is the CRM's work, not the channel's setup.
        case path == "/v1/channels/{id}/templates": return .anyOf([.crmRead])
        case path == "/v1/channels/{id}/outbound": return .anyOf([.crmWrite])
        case family("/v1/channels"): return .anyOf(reads ? [.crmRead, .channelsWrite] : [.channelsWrite])
        case family("/v1/agents"), family("/v1/providers"): return .anyOf(reads ? [.crmRead, .agentsWrite] : [.agentsWrite])
        case family("/v1/analytics"): return .anyOf([.analyticsRead])
        // What was spent and at what price is read with the analytics; the low-balance
        // threshold is the tenant's setting.
        case family("/v1/credits"), path == "/v1/prices": return reads ? .anyOf([.analyticsRead]) : .anyOf([.admin])
        case path == "/v1/chat/completions", path == "/v1/models", path == "/v1/embeddings", path == "/v1/messages":
            return .anyOf([.modelsInvoke])
        default: return .anyOf([.admin])
        }
    }

    /// Throws 403 `insufficient_scope` naming the scope when `principal` may not call the route.
    static func check(_ principal: TenantPrincipal, _ method: HTTPRequest.Method, _ path: String) throws {
        switch requirement(method, path) {
        case .anyone: return
        case .ownerLevel:
            guard principal.isOwnerLevel else {
                throw SwitchboardError(.insufficientScope, "this needs an owner (or a key with the admin scope)")
            }
        case .anyOf(let scopes):
            guard !scopes.contains(where: principal.allows) else { return }
            let named = scopes.map { "`\($0.rawValue)`" }.joined(separator: " or ")
            let who = principal.role.map { "the \($0.rawValue) role" } ?? "this API key"
            throw SwitchboardError(.insufficientScope, "\(who) lacks the scope \(named) this route needs")
        }
    }
}
