public import ConnectorKit
import Foundation
import HTTPTypes

extension WhatsAppConnector: TemplateConnector {
    /// At most this many pages of templates are read (100 each).
    static let maximumTemplatePages = 10
    /// A longer paging cursor ends the listing instead of being sent back.
    static let maximumCursorLength = 1024
    /// A template body longer than this is cut (Meta's limit is 1024).
    static let maximumTemplateBodyLength = 4096
    /// Placeholders counted at most.
    static let maximumTemplateParameters = 100

    /// The business account's templates, every status:
    /// `GET {base}/{version}/{waba_id}/message_templates?fields=…&limit=100`, then the same
    /// with `after=<paging.cursors.after>` while Graph says there is a next page, for at
    /// most 10 pages. The absolute `paging.next` URL is never followed: every request goes
    /// to the configured base with the token.
    public func templates(credentials: ChannelCredentials, http: any OutboundHTTPClient) async throws(ConnectorError) -> [MessageTemplate] {
        guard let wabaID = credentials["waba_id"], !wabaID.isEmpty else {
            throw ConnectorError(
                .invalidCredentials, "listing templates needs waba_id, the WhatsApp Business Account id", field: "waba_id")
        }
        guard wabaID.utf8.count <= Self.maximumWABAIDLength, wabaID.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else {
            throw ConnectorError(.invalidCredentials, "waba_id must be digits", field: "waba_id")
        }
        guard let token = credentials["access_token"], !token.isEmpty else {
            throw ConnectorError(.credentialsRejected, "the channel has no access_token", field: "access_token")
        }

        var templates: [MessageTemplate] = []
        var after: String?
        var seenCursors: Set<String> = []
        for _ in 0..<Self.maximumTemplatePages {
            var path = "\(wabaID)/message_templates?fields=name,language,status,category,components&limit=100"
            if let after { path += "&after=\(Self.queryEncoded(after))" }
            let request = graphRequest(.get, path: path, token: token)
            let response: HTTPResponse
            let body: [UInt8]
            do {
                (response, body) = try await http.execute(request, body: nil)
            } catch {
                throw ConnectorError(.sendFailed, "could not reach the WhatsApp Cloud API", retryable: true)
            }
            guard response.status.kind == .successful else {
                throw Self.graphError(response, body, token: token, action: "template listing")
            }
            guard let page = try? JSONDecoder().decode(TemplatesPage.self, from: Data(body)) else {
                throw ConnectorError(.sendFailed, "WhatsApp answered the template listing with an unreadable body", retryable: true)
            }
            let data = page.data ?? []
            templates += data.compactMap(Self.template)
            guard !data.isEmpty, let next = page.paging?.next, !next.isEmpty,
                let cursor = page.paging?.cursors?.after, !cursor.isEmpty, cursor.utf8.count <= Self.maximumCursorLength,
                seenCursors.insert(cursor).inserted
            else { break }
            after = cursor
        }
        return templates
    }

    /// One listed template; one without a name or language is left out.
    static func template(_ listed: TemplatesPage.Template) -> MessageTemplate? {
        guard let name = listed.name, !name.isEmpty, let language = listed.language, !language.isEmpty else { return nil }
        let body = listed.components?.first { $0.type?.uppercased() == "BODY" }?.text
            .map { String($0.prefix(Self.maximumTemplateBodyLength)) }
        return MessageTemplate(
            name: String(name.prefix(512)), language: String(language.prefix(32)), status: String((listed.status ?? "").prefix(32)),
            category: listed.category.map { String($0.prefix(32)) }, body: body,
            parameterCount: body.map(Self.parameterCount) ?? 0)
    }

    /// How many distinct `{{n}}` placeholders `text` has (at most 100 counted).
    static func parameterCount(_ text: String) -> Int {
        var numbers: Set<Int> = []
        let bytes = Array(text.utf8)
        var index = 0
        while index < bytes.count, numbers.count < maximumTemplateParameters {
            guard bytes[index] == UInt8(ascii: "{"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "{") else {
                index += 1
                continue
            }
            var cursor = index + 2
            var number = 0
            var digits = 0
            while cursor < bytes.count, (0x30...0x39).contains(bytes[cursor]), digits < 4 {
                number = number * 10 + Int(bytes[cursor] - 0x30)
                digits += 1
                cursor += 1
            }
            if digits > 0, cursor + 1 < bytes.count, bytes[cursor] == UInt8(ascii: "}"), bytes[cursor + 1] == UInt8(ascii: "}") {
                numbers.insert(number)
                index = cursor + 2
            } else {
                index += 1
            }
        }
        return numbers.count
    }

    /// `value` with everything but unreserved characters percent-encoded.
    static func queryEncoded(_ value: String) -> String {
        var allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        allowed.insert(charactersIn: "-._~")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }

    /// One page of `GET /{waba_id}/message_templates`.
    struct TemplatesPage: Decodable {
        var data: [Template]?
        var paging: Paging?

        struct Template: Decodable {
            var name: String?
            var language: String?
            var status: String?
            var category: String?
            var components: [Component]?
        }

        struct Component: Decodable {
            var type: String?
            var text: String?
        }

        struct Paging: Decodable {
            var cursors: Cursors?
            var next: String?
        }

        struct Cursors: Decodable {
            var before: String?
            var after: String?
        }
    }
}
