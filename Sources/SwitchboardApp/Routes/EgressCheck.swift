import SwitchboardCore
import SwitchboardEgress

/// The save-time check of a tenant-supplied URL (a webhook's `callback_url`, a provider's
/// `base_url`): its shape and obviously private names by text (``EgressPolicy``), then the
/// same resolver and rules the ``EgressGate`` applies when it connects, so
/// `http://2130706433/` or a name that resolves to loopback is refused with the JSON error
/// envelope before it is stored.
///
/// A host that does not resolve now, or not within ``lookupTimeout``, is accepted: DNS may
/// be down or not yet set up, and the gate judges the address again on every connection —
/// this check is a courtesy to the tenant, the gate is the guard.
struct EgressCheck: Sendable {
    let policy: EgressPolicy
    let gate: EgressGate
    var lookupTimeout: Duration = .seconds(3)

    func check(_ url: String, field: String) async throws {
        try policy.check(url, field: field)
        guard let target = EgressTarget(url: url) else {
            throw SwitchboardError.invalid("\(field) must be an absolute http or https URL with a valid host and port", field: field)
        }
        let gate = gate
        let verdict = try? await DeadlineWatch.shared.run(
            until: .now + lookupTimeout, timeout: { CancellationError() }, { await gate.verdict(for: target) })
        if case .refused(_, let scope) = verdict {
            throw SwitchboardError.invalid(
                "\(field) resolves to a \(scope.rawValue) address, which is not allowed", field: field)
        }
    }
}
