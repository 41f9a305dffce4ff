public import ConnectorKit
import Foundation
import HTTPTypes

extension WhatsAppConnector {
    /// Sends a message; the receipt holds the wamid of each message sent, in order.
    ///
    /// With `message.template` set, that one template message is sent (its body
    /// parameters in order) and nothing else: `text` is then only the record of it.
    /// Otherwise `text` goes as text messages (split above 4096 characters, in order), then
    /// each attachment by its URL (`image`, `video`, `audio`, anything else a `document`).
    /// With one to three quick replies, the last text part goes as an interactive message
    /// with reply buttons (titles cut to 20 characters, ids to 256; that part cut to 1024,
    /// the body's limit); other counts of quick replies are not sent.
    ///
    /// A chat id that is a business-scoped user id (`US.1349…`, it has a dot) is sent as
    /// `recipient` instead of `to`, as Meta asks for users whose number is withheld.
    /// When a later part fails, the earlier ones are already delivered; a retry repeats them.
    public func send(
        _ message: OutboundMessage, credentials: ChannelCredentials, http: any OutboundHTTPClient
    ) async throws(ConnectorError) -> SendReceipt {
        guard let phoneNumberID = credentials["phone_number_id"], !phoneNumberID.isEmpty else {
            throw ConnectorError(.credentialsRejected, "the channel has no phone_number_id", field: "phone_number_id")
        }
        guard let token = credentials["access_token"], !token.isEmpty else {
            throw ConnectorError(.credentialsRejected, "the channel has no access_token", field: "access_token")
        }
        let bodies = try Self.bodies(of: message)
        let request = graphRequest(.post, path: "\(phoneNumberID)/messages", token: token)

        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var wamids: [String] = []
        for body in bodies {
            let bytes: [UInt8]
            do {
                bytes = Array(try encoder.encode(body))
            } catch {
                throw ConnectorError(.sendFailed, "could not encode the message")
            }
            let response: HTTPResponse
            let responseBody: [UInt8]
            do {
                (response, responseBody) = try await http.execute(request, body: bytes)
            } catch {
                // The underlying error is not repeated: it may quote the request.
                throw ConnectorError(.sendFailed, "could not reach the WhatsApp Cloud API", retryable: true)
            }
            wamids.append(try Self.wamid(response, responseBody, token: token))
        }
        return SendReceipt(externalIDs: wamids)
    }

    /// The longest body text of an interactive message.
    static let maximumInteractiveBodyLength = 1024
    /// Reply buttons: at most three, titles of 20 characters, ids of 256.
    static let maximumReplyButtons = 3
    static let maximumButtonTitleLength = 20
    static let maximumButtonIDLength = 256

    /// The messages `message` becomes, in sending order.
    static func bodies(of message: OutboundMessage) throws(ConnectorError) -> [SendRequest] {
        let isUserID = message.chatExternalID.contains(".")
        func addressed(_ type: String) -> SendRequest {
            SendRequest(
                to: isUserID ? nil : message.chatExternalID, recipient: isUserID ? message.chatExternalID : nil, type: type)
        }

        if let template = message.template {
            guard !template.name.isEmpty, !template.language.isEmpty else {
                throw ConnectorError(.sendFailed, "the template has no name or language")
            }
            var body = addressed("template")
            body.template = SendRequest.Template(
                name: template.name, language: .init(code: template.language),
                components: template.parameters.isEmpty
                    ? nil
                    : [
                        SendRequest.Template.Component(
                            type: "body", parameters: template.parameters.map { SendRequest.Template.Parameter(type: "text", text: $0) })
                    ])
            return [body]
        }

        guard !message.text.isEmpty || !message.attachments.isEmpty else {
            throw ConnectorError(.sendFailed, "the message text is empty")
        }
        var bodies: [SendRequest] = []
        if !message.text.isEmpty {
            var parts = TextSplitter.parts(of: message.text, maximumUTF16Length: Self.maximumTextLength)
            let buttons = (1...Self.maximumReplyButtons).contains(message.quickReplies.count) ? replyButtons(message.quickReplies) : []
            var interactive: String?
            if !buttons.isEmpty, let last = parts.popLast() {
                // The buttons' body takes 1024: what is before that goes as text first.
                let pieces = TextSplitter.parts(of: last, maximumUTF16Length: Self.maximumInteractiveBodyLength)
                if pieces.count > 1 { parts.append(pieces.dropLast().joined()) }
                interactive = pieces.last ?? last
            }
            for part in parts {
                var body = addressed("text")
                body.text = .init(body: part)
                bodies.append(body)
            }
            if let interactive {
                var body = addressed("interactive")
                body.interactive = .init(
                    type: "button", body: .init(text: interactive),
                    action: .init(buttons: buttons))
                bodies.append(body)
            }
        }
        for attachment in message.attachments {
            guard let url = URL(string: attachment.url), ["http", "https"].contains(url.scheme?.lowercased() ?? "") else {
                throw ConnectorError(.sendFailed, "an attachment's URL is not an http or https URL")
            }
            let link = SendRequest.Link(link: attachment.url)
            switch attachment.kind {
            case "image":
                var body = addressed("image")
                body.image = link
                bodies.append(body)
            case "video":
                var body = addressed("video")
                body.video = link
                bodies.append(body)
            case "audio":
                var body = addressed("audio")
                body.audio = link
                bodies.append(body)
            default:
                var body = addressed("document")
                body.document = link
                bodies.append(body)
            }
        }
        return bodies
    }

    /// Reply buttons for quick replies: titles and ids cut to WhatsApp's limits; a
    /// button with neither is left out.
    static func replyButtons(_ quickReplies: [OutboundMessage.QuickReply]) -> [SendRequest.Interactive.Button] {
        quickReplies.compactMap { reply in
            let title = cut(reply.title.isEmpty ? reply.payload : reply.title, utf16: Self.maximumButtonTitleLength)
            let id = cut(reply.payload.isEmpty ? reply.title : reply.payload, utf16: Self.maximumButtonIDLength)
            guard !title.isEmpty, !id.isEmpty else { return nil }
            return .init(reply: .init(id: id, title: title))
        }
    }

    /// The longest prefix of whole characters of `text` within `utf16` UTF-16 units.
    static func cut(_ text: String, utf16 limit: Int) -> String {
        var length = 0
        var end = text.startIndex
        for character in text {
            length += character.utf16.count
            guard length <= limit else { break }
            end = text.index(after: end)
        }
        return String(text[..<end])
    }

    /// The sent message's wamid, or the error the answer means.
    private static func wamid(_ response: HTTPResponse, _ body: [UInt8], token: String) throws(ConnectorError) -> String {
        guard response.status.kind == .successful else {
            throw graphError(response, body, token: token, action: "send")
        }
        guard let answer = try? JSONDecoder().decode(SendAnswer.self, from: Data(body)),
            let id = answer.messages?.first?.id, !id.isEmpty
        else {
            throw ConnectorError(.sendFailed, "WhatsApp answered the send with an unreadable body", retryable: true)
        }
        return id
    }

    /// One Cloud API message: exactly one of `text`, `template`, `interactive`, `image`,
    /// `video`, `audio`, `document` is set, as `type` says.
    struct SendRequest: Encodable {
        var messagingProduct = "whatsapp"
        var recipientType = "individual"
        var to: String?
        var recipient: String?
        var type: String
        var text: Text?
        var template: Template?
        var interactive: Interactive?
        var image: Link?
        var video: Link?
        var audio: Link?
        var document: Link?

        struct Text: Encodable {
            var previewURL = false
            var body: String

            enum CodingKeys: String, CodingKey {
                case body
                case previewURL = "preview_url"
            }
        }

        struct Template: Encodable {
            var name: String
            var language: Language
            var components: [Component]?

            struct Language: Encodable {
                var code: String
            }

            struct Component: Encodable {
                var type: String
                var parameters: [Parameter]
            }

            struct Parameter: Encodable {
                var type: String
                var text: String
            }
        }

        struct Interactive: Encodable {
            var type: String
            var body: Body
            var action: Action

            struct Body: Encodable {
                var text: String
            }

            struct Action: Encodable {
                var buttons: [Button]
            }

            struct Button: Encodable {
                var type = "reply"
                var reply: Reply
            }

            struct Reply: Encodable {
                var id: String
                var title: String
            }
        }

        struct Link: Encodable {
            var link: String
        }

        enum CodingKeys: String, CodingKey {
            case to, recipient, type, text, template, interactive, image, video, audio, document
            case messagingProduct = "messaging_product"
            case recipientType = "recipient_type"
        }
    }

    struct SendAnswer: Decodable {
        var messages: [Message]?

        struct Message: Decodable {
            var id: String
        }
    }
}
