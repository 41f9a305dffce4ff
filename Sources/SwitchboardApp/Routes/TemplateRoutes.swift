import ConnectorKit
import Foundation
import Hummingbird
import Logging
import SwitchboardCore
import SwitchboardPipeline
import SwitchboardPostgres

/// Templates, the messages a platform approved for writing to a contact outside the
/// messaging window (WhatsApp): the channel's list as the platform keeps it, one sent into
/// a conversation, and a conversation started by the business with one.
///
/// A template is checked against the platform's list before it is stored: it must exist in
/// that language, be `APPROVED`, and get as many parameters as its body has placeholders.
/// Its rendered body is the message's text, for the inbox and the history.
struct TemplateRoutes: Sendable {
    let channels: PostgresChannelStore
    let conversations: PostgresConversationStore
    let connectors: ConnectorRegistry
    let secrets: SecretBox
    let http: any OutboundHTTPClient

    /// At most this many parameters, each at most this many characters (Meta: 1,024 per
    /// body parameter).
    static let maximumParameters = 20
    static let maximumParameterLength = 1024

    func add(to group: RouterGroup<TenantRequestContext>) {
        group.get("/channels/{id}/templates") { _, context in
            let channel = try await channels.get(context.tenantID, try CRMRoutes.id(context, "channel"))
            let templates = try await templates(context.tenantID, channel)
            return try JSONBody.response(ListResponse(data: templates.map(TemplateResponse.init), nextCursor: nil))
        }
        group.post("/conversations/{id}/template") { request, context in
            let body = try await JSONBody.decode(TemplateBody.self, from: request, context: context)
            let template = try body.checked()
            let conversation = try await conversations.get(context.tenantID, try CRMRoutes.id(context, "conversation"))
            let channel = try await channels.get(context.tenantID, conversation.channelID)
            let text = try await render(template, on: channel, tenant: context.tenantID)
            let message = try await conversations.postPersonMessage(
                context.tenantID, conversation.id, text: text, sentBy: context.principal.userID, template: template
            )
            context.logger.info("template queued", metadata: ["conversation.id": "\(conversation.id)", "template": "\(template.name)"])
            return try JSONBody.response(CRMRoutes.MessageResponse(message), status: .accepted)
        }
        group.post("/channels/{id}/outbound") { request, context in
            let body = try await JSONBody.decode(OutboundBody.self, from: request, context: context)
            guard let to = body.to else { throw SwitchboardError.invalid("to is required", field: "to") }
            let number = try Self.phoneNumber(to)
            guard let templateBody = body.template else { throw SwitchboardError.invalid("template is required", field: "template") }
            let template = try templateBody.checked(prefix: "template.")
            let channel = try await channels.get(context.tenantID, try CRMRoutes.id(context, "channel"))
            let text = try await render(template, on: channel, tenant: context.tenantID)
            let started = try await conversations.startConversation(
                context.tenantID, channel: channel.id, externalID: number, phone: "+" + number, text: text, template: template,
                sentBy: context.principal.userID
            )
            context.logger.info("conversation started by the business", metadata: [
                "conversation.id": "\(started.conversation.id)", "template": "\(template.name)",
            ])
            return try JSONBody.response(CRMRoutes.ConversationResponse(started.conversation), status: .created)
        }
    }

    /// The channel's templates from its platform.
    func templates(_ tenant: TenantID, _ channel: SwitchboardCore.Channel) async throws -> [MessageTemplate] {
        guard let connector = connectors[channel.kind] as? any TemplateConnector else {
            throw SwitchboardError(.conflict, "a \(channel.kind) channel has no message templates (WhatsApp channels do)")
        }
        let sealed = try await channels.sealedCredentials(tenant, channel.id)
        let credentials = ChannelCredentials(try secrets.openCredentials(sealed, tenant: tenant, channel: channel.id))
        do {
            return try await connector.templates(credentials: credentials, http: http)
        } catch {
            switch error.code {
            case .invalidCredentials:
                throw SwitchboardError(
                    .conflict, "\(error.message); add it with PATCH /v1/channels/\(channel.id)", field: error.field
                )
            case .credentialsRejected:
                throw SwitchboardError(.upstreamError, "the platform refused the channel's access token: \(error.message)")
            default:
                throw SwitchboardError(.upstreamError, "the platform's template list could not be read: \(error.message)")
            }
        }
    }

    /// The template's body with its parameters in place, once the platform's list shows
    /// it approved in that language and taking that many parameters.
    func render(_ template: SendTemplate, on channel: SwitchboardCore.Channel, tenant: TenantID) async throws -> String {
        let known = try await templates(tenant, channel)
        guard let found = known.first(where: { $0.name == template.name && $0.language == template.language }) else {
            let languages = known.filter { $0.name == template.name }.map(\.language).sorted()
            let hint = languages.isEmpty ? "" : " (it exists in \(languages.joined(separator: ", ")))"
            throw SwitchboardError(
                .invalidRequest, "the channel has no template \(template.name) in \(template.language)\(hint)", field: "name"
            )
        }
        guard found.status.uppercased() == "APPROVED" else {
            throw SwitchboardError(
                .conflict, "the template \(template.name) is \(found.status.lowercased()), not approved: it cannot be sent", field: "name"
            )
        }
        guard template.parameters.count == found.parameterCount else {
            throw SwitchboardError(
                .invalidRequest,
                "the template \(template.name) takes \(found.parameterCount) parameters; \(template.parameters.count) were given",
                field: "parameters"
            )
        }
        var text = found.body ?? "[template \(template.name)]"
        for (index, value) in template.parameters.enumerated() {
            text = text.replacingOccurrences(of: "{{\(index + 1)}}", with: value)
        }
        return text
    }

    /// A phone number as WhatsApp takes it: 7 to 15 digits, a leading `+`, spaces, dots,
    /// dashes and parentheses allowed and dropped.
    static func phoneNumber(_ raw: String) throws -> String {
        guard raw.count <= 32 else {
            throw SwitchboardError.invalid("to must be a phone number of at most 32 characters, such as +77011234567", field: "to")
        }
        let kept = raw.unicodeScalars.filter { !" .-()".unicodeScalars.contains($0) }
        var digits = String(String.UnicodeScalarView(kept))
        if digits.hasPrefix("+") { digits.removeFirst() }
        guard (7...15).contains(digits.utf8.count), digits.utf8.allSatisfy({ (0x30...0x39).contains($0) }), !digits.hasPrefix("0") else {
            throw SwitchboardError.invalid("to must be a phone number in international form: 7 to 15 digits, such as +77011234567", field: "to")
        }
        return digits
    }

    struct TemplateBody: RequestBody {
        var name: String?
        var language: String?
        var parameters: [String]?
        enum CodingKeys: String, CodingKey, CaseIterable { case name, language, parameters }

        /// The template, checked: a name of lower-case letters, digits and underscores (as
        /// Meta names them), a language code, bounded parameters.
        func checked(prefix: String = "") throws -> SendTemplate {
            guard let name, !name.isEmpty else { throw SwitchboardError.invalid("\(prefix)name is required", field: prefix + "name") }
            guard name.utf8.count <= 512, name.utf8.allSatisfy({ (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x5F })
            else {
                throw SwitchboardError.invalid(
                    "\(prefix)name must be a template name: lower-case letters, digits and underscores", field: prefix + "name"
                )
            }
            guard let language, !language.isEmpty else {
                throw SwitchboardError.invalid("\(prefix)language is required", field: prefix + "language")
            }
            guard language.utf8.count <= 15,
                language.utf8.allSatisfy({ (0x61...0x7A).contains($0) || (0x41...0x5A).contains($0) || $0 == 0x5F })
            else {
                throw SwitchboardError.invalid("\(prefix)language must be a language code such as en_US or ru", field: prefix + "language")
            }
            let parameters = parameters ?? []
            guard parameters.count <= TemplateRoutes.maximumParameters else {
                throw SwitchboardError.invalid(
                    "\(prefix)parameters takes at most \(TemplateRoutes.maximumParameters) values", field: prefix + "parameters"
                )
            }
            for value in parameters {
                guard !value.isEmpty, value.count <= TemplateRoutes.maximumParameterLength else {
                    throw SwitchboardError.invalid(
                        "each of \(prefix)parameters must be 1 to \(TemplateRoutes.maximumParameterLength) characters",
                        field: prefix + "parameters"
                    )
                }
                guard !value.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\n" }) else {
                    throw SwitchboardError.invalid("\(prefix)parameters must not hold control characters", field: prefix + "parameters")
                }
            }
            return SendTemplate(name: name, language: language, parameters: parameters)
        }
    }

    struct OutboundBody: RequestBody {
        var to: String?
        var template: TemplateBody?
        enum CodingKeys: String, CodingKey, CaseIterable { case to, template }
    }

    struct TemplateResponse: Encodable, Sendable {
        var name: String
        var language: String
        var status: String
        @Nullable var category: String?
        @Nullable var body: String?
        var parameterCount: Int

        init(_ template: MessageTemplate) {
            name = template.name
            language = template.language
            status = template.status
            category = template.category
            body = template.body
            parameterCount = template.parameterCount
        }

        enum CodingKeys: String, CodingKey { case name, language, status, category, body, parameterCount = "parameter_count" }
    }
}
