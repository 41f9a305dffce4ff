import Foundation
import HTTPTypes
import Hummingbird
@testable import SwitchboardApp
import SwitchboardCore
import Testing

/// The exact bytes of a few answers: every field shown (`null` when absent, never left
/// out), RFC 3339 times, and the keys of a dictionary the API carries (an attachment's
/// `details`, a channel's revealed credentials) written as the platform or tenant wrote
/// them. A drift in a resource type or in the encoder fails here, not in a client.
@Suite struct ResponseShapeTests {
    static let createdAt = Date(timeIntervalSince1970: 1_796_664_533)

    static func id<Tag>(_ last: String) -> Identifier<Tag> {
        Identifier(UUID(uuidString: "00000000-0000-0000-0000-0000000000\(last)")!)
    }

    static func text(_ value: some Encodable) throws -> String {
        String(decoding: try JSONBody.encoder.encode(value), as: UTF8.self)
    }

    @Test("a message shows its absent fields as null and its attachment's details as the platform named them")
    func message() throws {
        let message = Message(
            id: Self.id("a1"), conversationID: Self.id("a2"), contactID: nil, direction: "inbound", externalID: "42", text: nil,
            attachments: [.init(kind: "photo", reference: "AgACAgIAAx/1", details: ["fileUniqueId": "AQAD", "Width": "1280"])],
            aiGenerated: false, deliveryStatus: nil, sentAt: nil, createdAt: Self.createdAt, editedAt: nil
        )
        #expect(try Self.text(CRMRoutes.MessageResponse(message)) == """
            {"agent_id":null,"ai_generated":false,"attachments":[{"details":{"Width":"1280","fileUniqueId":"AQAD"},"kind":"photo",\
            "mime_type":null,"name":null,"reference":"AgACAgIAAx/1"}],"contact_id":null,\
            "conversation_id":"00000000-0000-0000-0000-0000000000a2","created_at":"2026-12-07T17:28:53Z","deleted_at":null,\
            "delivery_error":null,"delivery_error_code":null,"delivery_status":null,"direction":"inbound","edited_at":null,\
            "external_id":"42","id":"00000000-0000-0000-0000-0000000000a1","in_reply_to":null,"model":null,"provider_id":null,\
            "reply_error":null,"reply_status":null,"send_tag":null,"sent_at":null,"template":null,"text":null,"tool_calls":[],\
            "usage":null}
            """)
    }

    @Test("a channel's answer with a revealed secret keeps the secret's name and is not cached")
    func channelWithSecret() throws {
        let channel = SwitchboardCore.Channel(
            id: Self.id("b1"), tenantID: Self.id("b2"), kind: "webhook", name: "Hooks", agentID: nil, enabled: true,
            credentialFields: ["signingSecret"], createdAt: Self.createdAt, updatedAt: Self.createdAt
        )
        let answer = ChannelRoutes.ChannelResponse(
            channel, webhookURL: "https://sb.example/hooks/\(channel.id)", revealed: ["signingSecret": "s3cr3t"], pulled: false
        )
        #expect(try Self.text(answer) == """
            {"agent_id":null,"created_at":"2026-12-07T17:28:53Z","credential_fields":["signingSecret"],\
            "credentials":{"signingSecret":"s3cr3t"},"enabled":true,"id":"00000000-0000-0000-0000-0000000000b1","kind":"webhook",\
            "name":"Hooks","pull":null,"state":{"last_error":null,"last_event_at":null,"since":null,"status":"connected"},"updated_at":"2026-12-07T17:28:53Z",\
            "webhook_url":"https://sb.example/hooks/00000000-0000-0000-0000-0000000000b1"}
            """)
        let response = try JSONBody.response(answer, status: .created, secret: true)
        #expect(response.status == .created)
        #expect(response.headers[.contentType] == "application/json; charset=utf-8")
        #expect(response.headers[.cacheControl] == "no-store")
        #expect(try JSONBody.response(DeletedResponse(channel.id)).headers[.cacheControl] == nil)
        #expect(try Self.text(DeletedResponse(channel.id)) == #"{"deleted":true,"id":"00000000-0000-0000-0000-0000000000b1"}"#)
    }

    @Test("a channel whose platform refused its token shows needs_credentials with the platform's words and since when")
    func needsCredentials() throws {
        var channel = SwitchboardCore.Channel(
            id: Self.id("d1"), tenantID: Self.id("d2"), kind: "whatsapp", name: "WA", agentID: nil, enabled: true,
            credentialFields: ["access_token"], createdAt: Self.createdAt, updatedAt: Self.createdAt
        )
        channel.credentialsError = "the access token was refused by WhatsApp (HTTP 401, error 190)"
        channel.credentialsErrorAt = Self.createdAt
        let answer = ChannelRoutes.ChannelResponse(channel, webhookURL: "https://sb.example/hooks/x", revealed: [:], pulled: false)
        #expect(try Self.text(answer).contains(
            #""state":{"last_error":"the access token was refused by WhatsApp (HTTP 401, error 190)","last_event_at":null,"since":"2026-12-07T17:28:53Z","status":"needs_credentials"}"#
        ))
    }

    @Test("a fetched channel's answer shows how its fetching goes; a failing one its reason and retry time")
    func pulledChannel() throws {
        var channel = SwitchboardCore.Channel(
            id: Self.id("c1"), tenantID: Self.id("c2"), kind: "email", name: "Mailbox", agentID: nil, enabled: true,
            credentialFields: ["address", "password"], createdAt: Self.createdAt, updatedAt: Self.createdAt
        )
        let before = ChannelRoutes.ChannelResponse(channel, webhookURL: "https://sb.example/hooks/x", revealed: [:], pulled: true)
        #expect(try Self.text(before).contains(#""pull":{"checked_at":null,"cursor":null,"last_error":null,"next_retry_at":null,"state":"connecting"}"#))
        channel.pullState = PullState(phase: .failing, error: "IMAP: authentication failed", retryAt: Self.createdAt, checkedAt: Self.createdAt)
        channel.pullCursor = "1700000000:42"
        let failing = ChannelRoutes.ChannelResponse(channel, webhookURL: "https://sb.example/hooks/x", revealed: [:], pulled: true)
        #expect(try Self.text(failing).contains(
            #""pull":{"checked_at":"2026-12-07T17:28:53Z","cursor":"1700000000:42","last_error":"IMAP: authentication failed","next_retry_at":"2026-12-07T17:28:53Z","state":"failing"}"#
        ))
    }
}
