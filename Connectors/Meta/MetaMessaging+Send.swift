public import ConnectorKit
import Foundation
import HTTPTypes

extension MetaMessaging {
    /// Meta's quick replies: at most 13, titles of at most 20 characters.
    static let maximumQuickReplies = 13
    static let maximumQuickReplyTitle = 20
    /// The attachment types the Send API takes by URL.
    static let attachmentTypes: Set<String> = ["image", "video", "audio", "file"]

    /// Sends the text (split at the platform's limit, quick replies on its last part),
    /// then each attachment by URL; the receipt holds every `message_id` answered. When a
    /// later part fails, the earlier ones are already delivered; a retry repeats them.
    func send(
        _ message: OutboundMessage, credentials: ChannelCredentials, http: any OutboundHTTPClient
    ) async throws(ConnectorError) -> SendReceipt {
        let field = platform.senderIDField
        guard let accountID = credentials[field], !accountID.isEmpty else {
            throw ConnectorError(.credentialsRejected, "the channel has no \(field)", field: field)
        }
        let token = try accessToken(credentials)
        guard !message.text.isEmpty || !message.attachments.isEmpty else {
            throw ConnectorError(.sendFailed, "the message has neither text nor attachments")
        }
        guard !message.chatExternalID.isEmpty else {
            throw ConnectorError(.sendFailed, "the message has no recipient")
        }
        if let unknown = message.attachments.first(where: { !Self.attachmentTypes.contains($0.kind) }) {
            throw ConnectorError(
                .sendFailed, "\(platform.displayName) sends image, video, audio or file attachments, not \(unknown.kind.prefix(40))")
        }

        let parts = message.text.isEmpty ? [] : TextSplitter.parts(of: message.text, maximumUTF16Length: platform.maximumTextLength)
        let quickReplies = message.quickReplies.prefix(Self.maximumQuickReplies).map {
            SendRequest.QuickReply(title: String($0.title.prefix(Self.maximumQuickReplyTitle)), payload: $0.payload)
        }
        var bodies: [SendRequest] = []
        for (index, part) in parts.enumerated() {
            let last = index == parts.count - 1
            bodies.append(
                SendRequest(
                    recipient: .init(id: message.chatExternalID), messagingType: message.tag == nil ? "RESPONSE" : "MESSAGE_TAG",
                    tag: message.tag,
                    message: .init(text: part, quickReplies: last && !quickReplies.isEmpty ? quickReplies : nil)))
        }
        for attachment in message.attachments {
            bodies.append(
                SendRequest(
                    recipient: .init(id: message.chatExternalID), messagingType: message.tag == nil ? "RESPONSE" : "MESSAGE_TAG",
                    tag: message.tag,
                    message: .init(attachment: .init(type: attachment.kind, payload: .init(url: attachment.url)))))
        }

        var request = makeRequest(.post, path: "\(accountID)/messages", token: token)
        request.headerFields[.contentType] = "application/json"
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var ids: [String] = []
        for body in bodies {
            let bytes: [UInt8]
            do {
                bytes = Array(try encoder.encode(body))
            } catch {
                throw ConnectorError(.sendFailed, "could not encode the message")
            }
            let response: HTTPResponse
            let answer: [UInt8]
            do {
                (response, answer) = try await http.execute(request, body: bytes)
            } catch {
                // The underlying error is not repeated: it may quote the request.
                throw ConnectorError(.sendFailed, "could not reach the \(platform.displayName) API", retryable: true)
            }
            guard response.status.kind == .successful else {
                throw refusal(response, answer, token: token, doing: "the send")
            }
            guard let sent = try? JSONDecoder().decode(SendAnswer.self, from: Data(answer)), let id = sent.messageID, !id.isEmpty
            else {
                throw ConnectorError(.sendFailed, "\(platform.displayName) answered the send with an unreadable body", retryable: true)
            }
            ids.append(id)
        }
        return SendReceipt(externalIDs: ids)
    }

    /// `GET {base}/{version}/{id}?fields=…` → the sender's name (and Instagram username).
    func profile(of senderID: String, credentials: ChannelCredentials, http: any OutboundHTTPClient) async throws(ConnectorError)
        -> InboundEvent.Sender?
    {
        let token = try accessToken(credentials)
        guard !senderID.isEmpty, senderID.utf8.count <= Self.maximumIDLength, senderID.utf8.allSatisfy({ (0x30...0x39).contains($0) })
        else {
            throw ConnectorError(.sendFailed, "the sender id is not one \(platform.displayName) issues")
        }
        let request = makeRequest(.get, path: "\(senderID)?fields=\(platform.profileFields)", token: token)
        let response: HTTPResponse
        let answer: [UInt8]
        do {
            (response, answer) = try await http.execute(request, body: nil)
        } catch {
            throw ConnectorError(.sendFailed, "could not reach the \(platform.displayName) API", retryable: true)
        }
        guard response.status.kind == .successful else {
            throw refusal(response, answer, token: token, doing: "the profile lookup")
        }
        guard let profile = try? JSONDecoder().decode(ProfileAnswer.self, from: Data(answer)) else {
            throw ConnectorError(.sendFailed, "\(platform.displayName) answered the profile lookup with an unreadable body", retryable: true)
        }
        let joined = [profile.firstName, profile.lastName].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: " ")
        let name = profile.name.flatMap { $0.isEmpty ? nil : $0 } ?? (joined.isEmpty ? nil : joined)
        return InboundEvent.Sender(
            externalID: senderID, name: name.map { String($0.prefix(200)) },
            username: profile.username.flatMap { $0.isEmpty ? nil : String($0.prefix(100)) })
    }

    /// The error a refused answer means, by Graph's `error.code` and `error_subcode`, then
    /// by the HTTP status. The token never appears in the message.
    func refusal(_ response: HTTPResponse, _ body: [UInt8], token: String, doing what: String) -> ConnectorError {
        let status = response.status.code
        let detail = (try? JSONDecoder().decode(ErrorAnswer.self, from: Data(body)))?.error
        let code = detail?.code
        let subcode = detail?.errorSubcode
        let retryAfter = response.headerFields[.retryAfter].flatMap { RetryHint.seconds(header: $0, now: Date()) }
        var reason = String((detail?.message ?? "").prefix(300)).replacingOccurrences(of: token, with: "<token>")
        if token.count >= 8 { reason = reason.replacingOccurrences(of: String(token.prefix(8)), with: "<token>") }
        reason = String(reason.prefix(200))
        let text = "HTTP \(status)" + (code.map { ", error \($0)" } ?? "") + (subcode.map { "/\($0)" } ?? "")
            + (reason.isEmpty ? "" : ": \(reason)")
        let name = platform.displayName

        if status == 401 || code == 190 {
            return ConnectorError(.credentialsRejected, "the access token was refused by \(name) (\(text))", platformCode: code)
        }
        if (code == 10 && subcode == 2_018_278) || code == 2_534_022 || subcode == 2_534_022 {
            return ConnectorError(
                .reengagementRequired, "\(name) refused \(what): the contact's messaging window is closed (\(text))", platformCode: code)
        }
        if code == 551 || (code == 100 && (subcode == 2_018_001 || subcode == 2_018_108)) {
            return ConnectorError(.undeliverable, "\(name) cannot deliver to this contact (\(text))", platformCode: code)
        }
        if status == 429 || code.map(Self.rateLimitCodes.contains) == true {
            return ConnectorError(
                .rateLimited, "\(name) is rate limiting (\(text))", retryAfter: retryAfter, retryable: true, platformCode: code)
        }
        if (400..<500).contains(status) {
            return ConnectorError(.sendFailed, "\(name) refused \(what) (\(text))", platformCode: code)
        }
        return ConnectorError(
            .sendFailed, "\(name) failed \(what) (\(text))", retryAfter: retryAfter, retryable: true, platformCode: code)
    }

    /// Graph's throttling codes: application, user, page and per-call rate limits.
    static let rateLimitCodes: Set<Int> = [4, 17, 32, 613]

    struct SendRequest: Encodable {
        var recipient: Recipient
        var messagingType: String
        var tag: String?
        var message: Message

        struct Recipient: Encodable { var id: String }

        struct Message: Encodable {
            var text: String?
            var quickReplies: [QuickReply]?
            var attachment: Attachment?

            enum CodingKeys: String, CodingKey {
                case text, attachment
                case quickReplies = "quick_replies"
            }
        }

        struct QuickReply: Encodable {
            var contentType = "text"
            var title: String
            var payload: String

            enum CodingKeys: String, CodingKey {
                case title, payload
                case contentType = "content_type"
            }
        }

        struct Attachment: Encodable {
            var type: String
            var payload: Payload

            struct Payload: Encodable {
                var url: String
                var isReusable = false

                enum CodingKeys: String, CodingKey {
                    case url
                    case isReusable = "is_reusable"
                }
            }
        }

        enum CodingKeys: String, CodingKey {
            case recipient, tag, message
            case messagingType = "messaging_type"
        }
    }

    struct SendAnswer: Decodable {
        var messageID: String?

        enum CodingKeys: String, CodingKey {
            case messageID = "message_id"
        }
    }

    struct ProfileAnswer: Decodable {
        var name: String?
        var username: String?
        var firstName: String?
        var lastName: String?

        enum CodingKeys: String, CodingKey {
            case name, username
            case firstName = "first_name"
            case lastName = "last_name"
        }
    }

    struct ErrorAnswer: Decodable {
        var error: Detail?

        struct Detail: Decodable {
            var message: String?
            var code: Int?
            var errorSubcode: Int?

            enum CodingKeys: String, CodingKey {
                case message, code
                case errorSubcode = "error_subcode"
            }
        }
    }
}
