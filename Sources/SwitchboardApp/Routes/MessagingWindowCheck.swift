import ConnectorKit
import Foundation
import SwitchboardCore

/// A person's message against its channel's messaging window: free-form inside it, with
/// the platform's tag past it where the platform allows one (Messenger's and Instagram's
/// `HUMAN_AGENT`, 7 days), else refused with `409 window_closed` before anything is stored
/// or sent.
enum MessagingWindowCheck {
    /// The tag the message needs (`nil`: none), or the refusal.
    static func admit(_ window: MessagingWindow?, kind: String, lastInboundAt: Date?, now: Date) throws -> String? {
        guard let window else { return nil }
        switch window.verdict(lastInbound: lastInboundAt, now: now, byPerson: true) {
        case .open: return nil
        case .tagged(let tag): return tag
        case .closed:
            let reopen = kind == "whatsapp"
                ? "only an approved template can be sent now (POST /v1/conversations/{id}/template)"
                : "nothing can be sent until the contact writes again"
            guard lastInboundAt != nil else {
                throw SwitchboardError(.windowClosed, "the contact has not written on this \(kind) channel yet: \(reopen)")
            }
            let limit = window.tagged.map { Int($0.until / 86400) * 24 } ?? Int(window.freeForm / 3600)
            throw SwitchboardError(.windowClosed, "the contact's last message is more than \(limit) hours old: \(reopen)")
        }
    }
}
