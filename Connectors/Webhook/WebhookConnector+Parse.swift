public import ConnectorKit
import Foundation

extension WebhookConnector {
    /// Reads one inbound event (see `WebhookPayload` for the strict contract): a `.message`
    /// whose `eventID` and `messageID` are `event_id`, in the sender's direct chat.
    public func parse(_ delivery: WebhookDelivery, credentials: ChannelCredentials) throws(ConnectorError) -> [InboundEvent] {
        let payload: WebhookPayload
        do {
            payload = try JSONDecoder().decode(WebhookPayload.self, from: Data(delivery.body))
        } catch let error as WebhookPayload.Invalid {
            throw ConnectorError(.malformed, "\(error.field) \(error.reason)", field: error.field)
        } catch let error as DecodingError {
            guard let field = error.fieldPath else {
                throw ConnectorError(.malformed, "the body is not a JSON object, or a number in it is out of range")
            }
            throw ConnectorError(.malformed, "\(field) \(error.problem)", field: field)
        } catch {
            throw ConnectorError(.malformed, "the body could not be read")
        }

        let sender = InboundEvent.Sender(
            externalID: payload.sender.id, name: payload.sender.name, phone: payload.sender.phone,
            email: payload.sender.email)
        let attachments = payload.attachments.map { attachment in
            InboundEvent.Attachment(
                kind: Self.attachmentKind(mimeType: attachment.mimeType), reference: attachment.url,
                mimeType: attachment.mimeType, name: attachment.name)
        }
        return [
            InboundEvent(
                kind: .message, eventID: payload.eventID, messageID: payload.eventID, sender: sender,
                chat: InboundEvent.Chat(externalID: payload.sender.id, kind: .direct), text: payload.text,
                attachments: attachments, sentAt: payload.sentAt)
        ]
    }

    /// `image`, `audio` or `video` by the media type's top level, else `document`.
    static func attachmentKind(mimeType: String) -> String {
        let top = mimeType.prefix { $0 != "/" }.lowercased()
        return ["image", "audio", "video"].contains(top) ? top : "document"
    }
}
