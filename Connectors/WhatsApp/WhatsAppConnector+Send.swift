public import ConnectorKit
import Foundation
import HTTPTypes

extension WhatsAppConnector {
    /// Sends `message.text` as text messages (split above 4096 characters, in order);
    /// the receipt holds the wamid of each part.
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
        guard !message.text.isEmpty else {
            throw ConnectorError(.sendFailed, "the message text is empty")
        }

        var request = HTTPRequest(method: .post, url: graphAPIBase)
        let basePath = String((request.path ?? "/").prefix { $0 != "?" })
        request.path = (basePath.hasSuffix("/") ? String(basePath.dropLast()) : basePath) + "/\(apiVersion)/\(phoneNumberID)/messages"
        request.headerFields[.authorization] = "Bearer \(token)"
        request.headerFields[.contentType] = "application/json"
        request.headerFields[.accept] = "application/json"

        let isUserID = message.chatExternalID.contains(".")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var wamids: [String] = []
        for part in TextSplitter.parts(of: message.text, maximumUTF16Length: Self.maximumTextLength) {
            let body = SendTextRequest(
                to: isUserID ? nil : message.chatExternalID, recipient: isUserID ? message.chatExternalID : nil,
                text: .init(body: part))
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

    /// The sent message's wamid, or the error the answer means.
    private static func wamid(_ response: HTTPResponse, _ body: [UInt8], token: String) throws(ConnectorError) -> String {
        let status = response.status
        if status.kind == .successful {
            guard let answer = try? JSONDecoder().decode(SendAnswer.self, from: Data(body)),
                let id = answer.messages?.first?.id, !id.isEmpty
            else {
                throw ConnectorError(.sendFailed, "WhatsApp answered the send with an unreadable body", retryable: true)
            }
            return id
        }
        let error = (try? JSONDecoder().decode(ErrorAnswer.self, from: Data(body)))?.error
        let code = error?.code
        let retryAfter = response.headerFields[.retryAfter].flatMap { RetryHint.seconds(header: $0, now: Date()) }
        var reason = (error?.message ?? "").replacingOccurrences(of: token, with: "<token>")
        reason = String(reason.prefix(200))
        let detail = "HTTP \(status.code)" + (code.map { ", error \($0)" } ?? "") + (reason.isEmpty ? "" : ": \(reason)")

        if status.code == 401 || code == 190 {
            throw ConnectorError(.credentialsRejected, "the access token was refused by WhatsApp (\(detail))")
        }
        if status.code == 429 || code.map(rateLimitCodes.contains) == true {
            throw ConnectorError(
                .sendFailed, "WhatsApp is rate limiting sends (\(detail))", retryAfter: retryAfter, retryable: true)
        }
        if status.kind == .clientError {
            throw ConnectorError(.sendFailed, "WhatsApp refused the send (\(detail))")
        }
        throw ConnectorError(
            .sendFailed, "WhatsApp failed the send (\(detail))", retryAfter: retryAfter, retryable: true)
    }

    /// Meta's throttling codes: app and account rate limits, pair rate limit, spam limits.
    static let rateLimitCodes: Set<Int> = [4, 80007, 130429, 131048, 131056]

    struct SendTextRequest: Encodable {
        var messagingProduct = "whatsapp"
        var recipientType = "individual"
        var to: String?
        var recipient: String?
        var type = "text"
        var text: Text

        struct Text: Encodable {
            var previewURL = false
            var body: String

            enum CodingKeys: String, CodingKey {
                case body
                case previewURL = "preview_url"
            }
        }

        enum CodingKeys: String, CodingKey {
            case to, recipient, type, text
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

    struct ErrorAnswer: Decodable {
        var error: Detail?

        struct Detail: Decodable {
            var message: String?
            var code: Int?
        }
    }
}
