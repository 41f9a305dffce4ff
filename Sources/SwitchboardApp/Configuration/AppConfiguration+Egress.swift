import Foundation
public import SwitchboardEgress

extension AppConfiguration {
    /// The egress gate's rules: private egress as `SWITCHBOARD_EGRESS_ALLOW_PRIVATE` says,
    /// and the platform API bases the operator configured trusted whatever they resolve to
    /// (a self-hosted Telegram Bot API on the private network, say): no tenant chose them.
    public var egressGateConfiguration: EgressGate.Configuration {
        EgressGate.Configuration(
            allowPrivate: egressAllowPrivate,
            trustedOrigins: Set(platformBases.values.compactMap { EgressTarget(url: $0.absoluteString) })
        )
    }
}
