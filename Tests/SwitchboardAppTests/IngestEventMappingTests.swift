import ConnectorKit
import Foundation
@testable import SwitchboardApp
import SwitchboardCore
import SwitchboardPipeline
import Testing

@Suite("Connector events to ingest events")
struct IngestEventMappingTests {
    @Test("a message without a sender is recorded as ignored, not stored half")
    func orphanMessageIsIgnored() {
        let event = IngestEvent(InboundEvent(kind: .message, eventID: "42", text: "from nobody"))
        #expect(event.kind == .ignored)
        #expect(event.ignoredReason == "message_without_sender")
    }

    @Test("every field of a message crosses over")
    func fieldsCrossOver() {
        let sentAt = Date(timeIntervalSince1970: 1_763_900_000)
        let event = IngestEvent(InboundEvent(
            kind: .message, eventID: "7", messageID: "1:7",
            sender: .init(externalID: "1", name: "Dana", username: "dana", phone: "+7701", email: "d@e.kz", languageCode: "kk", alternateIDs: ["KZ.1"]),
            chat: .init(externalID: "-100", kind: .group, title: "Shop"), text: "Сәлем",
            attachments: [.init(kind: "photo", reference: "file", mimeType: "image/jpeg", name: nil, details: ["width": "90"])],
            sentAt: sentAt
        ))
        #expect(event.kind == .message)
        #expect(event.sender == IngestEvent.Sender(externalID: "1", name: "Dana", username: "dana", phone: "+7701", email: "d@e.kz", language: "kk", alternateIDs: ["KZ.1"]))
        #expect(event.chat == IngestEvent.Chat(externalID: "-100", kind: "group", title: "Shop"))
        #expect(event.attachments.first?.details == ["width": "90"])
        #expect(event.sentAt == sentAt)
        #expect(event.text == "Сәлем")
    }
}
