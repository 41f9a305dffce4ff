import ConnectorKit
import Foundation

/// Limits on parsed events relative to the body they came from. Generous on purpose: they
/// catch output that grows past its input (a count or a text from nowhere), not style.
struct EventBounds {
    var bodySize: Int

    /// The smallest JSON that yields an event is longer than this (WhatsApp's shortest
    /// status, `{"id":"","status":"","timestamp":0}`, is 35 bytes).
    static let bytesPerEvent = 16
    /// Room for the fixed parts connectors add to ids and reasons (`ignored:object:<32 hex>`).
    static let slack = 64

    func check(_ events: [InboundEvent]) {
        if events.count > bodySize / Self.bytesPerEvent + 1 {
            broken("\(events.count) events from a body of \(bodySize) bytes")
        }
        for event in events {
            if event.eventID.isEmpty { broken("an event without an id") }
            var strings: [String?] = [
                event.eventID, event.messageID, event.text, event.status, event.statusError, event.ignoredReason,
                event.chat?.externalID, event.chat?.title,
            ]
            if let sender = event.sender {
                strings += [sender.externalID, sender.name, sender.username, sender.phone, sender.email, sender.languageCode]
                strings += sender.alternateIDs.map { $0 }
            }
            if event.attachments.count > bodySize / 8 + 1 {
                broken("\(event.attachments.count) attachments from a body of \(bodySize) bytes")
            }
            for attachment in event.attachments {
                strings += [attachment.kind, attachment.reference, attachment.mimeType, attachment.name]
                if attachment.details.count > 16 { broken("an attachment with \(attachment.details.count) details") }
                for (key, value) in attachment.details { strings += [key, value] }
            }
            for case let string? in strings where string.utf8.count > bodySize + Self.slack {
                broken("a string of \(string.utf8.count) bytes from a body of \(bodySize) bytes")
            }
            if let sentAt = event.sentAt, !sentAt.timeIntervalSince1970.isFinite {
                broken("a sent date that is not finite")
            }
        }
    }
}
