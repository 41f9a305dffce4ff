public import ConnectorKit
import Foundation
import HTTPTypes

extension WebhookConnector {
    /// POSTs the reply to the channel's `callback_url`, signed, as
    /// `{"event_id", "conversation_id", "contact": {"id", "external_id"}, "text", "ai_generated", "in_reply_to"?}`.
    ///
    /// `event_id` is the message's idempotency key, so the receiver can drop a retried
    /// send; the other fields come from `message.context` (`conversation_id`, `contact_id`,
    /// `contact_external_id` (else the chat id), `ai_generated` = `"true"`, `in_reply_to`).
    /// 2xx is success; 408, 429 and 5xx are retryable (honouring `Retry-After`), other
    /// answers are not.
    public func send(
        _ message: OutboundMessage, credentials: ChannelCredentials, http: any OutboundHTTPClient
    ) async throws(ConnectorError) -> SendReceipt {
        guard let callback = credentials["callback_url"], !callback.isEmpty else {
            throw ConnectorError(.sendFailed, "the channel has no callback_url", field: "callback_url")
        }
        guard Self.isHTTPURL(callback), let url = URL(string: callback) else {
            throw ConnectorError(.sendFailed, "the channel's callback_url is not an http or https URL", field: "callback_url")
        }
        guard let secret = credentials["signing_secret"], !secret.isEmpty else {
            throw ConnectorError(.sendFailed, "the channel has no signing_secret", field: "signing_secret")
        }

        let reply = Reply(
            eventID: message.idempotencyKey, conversationID: message.context["conversation_id"],
            contact: .init(
                id: message.context["contact_id"],
                externalID: message.context["contact_external_id"] ?? message.chatExternalID),
            text: message.text, aiGenerated: message.context["ai_generated"] == "true",
            inReplyTo: message.context["in_reply_to"])
        let body: [UInt8]
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            body = Array(try encoder.encode(reply))
        } catch {
            throw ConnectorError(.sendFailed, "could not encode the reply")
        }

        let sentAt = now()
        var request = HTTPRequest(method: .post, url: url)
        request.headerFields[.contentType] = "application/json"
        request.headerFields[.userAgent] = "Switchboard"
        request.headerFields[.switchboardSignature] = Self.signatureHeader(secret: secret, timestamp: sentAt, body: body)

        let response: HTTPResponse
        do {
            (response, _) = try await http.execute(request, body: body)
        } catch {
            // Not the underlying error: it may quote the URL, whose query can hold a token.
            throw ConnectorError(.sendFailed, "could not reach the callback_url", retryable: true)
        }
        let status = response.status
        if status.kind == .successful {
            return SendReceipt(externalIDs: [message.idempotencyKey])
        }
        let retryAfter = response.headerFields[.retryAfter].flatMap { RetryHint.seconds(header: $0, now: sentAt) }
        switch status.code {
        case 408, 429, 500...599:
            throw ConnectorError(
                .sendFailed, "the callback_url answered \(status.code)", retryAfter: retryAfter, retryable: true)
        default:
            throw ConnectorError(.sendFailed, "the callback_url answered \(status.code)")
        }
    }

    struct Reply: Encodable {
        var eventID: String
        var conversationID: String?
        var contact: Contact
        var text: String
        var aiGenerated: Bool
        var inReplyTo: String?

        struct Contact: Encodable {
            var id: String?
            var externalID: String

            enum CodingKeys: String, CodingKey {
                case id
                case externalID = "external_id"
            }
        }

        enum CodingKeys: String, CodingKey {
            case contact, text
            case eventID = "event_id"
            case conversationID = "conversation_id"
            case aiGenerated = "ai_generated"
            case inReplyTo = "in_reply_to"
        }
    }
}
