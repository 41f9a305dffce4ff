import ConnectorKit
import Foundation
import SwitchboardCore
import SwitchboardPostgres

/// Where in `Resources/openapi.json` each validator's rule goes: the served document is the
/// file with these merged in (`OpenAPIDocument`). A rule changed in `FieldRule` changes the
/// document with it; a field the file renames or drops fails the build of the document
/// (and the tests), rather than losing its constraint in silence.
enum OpenAPIConstraints {
    struct Constraint: Sendable {
        /// A JSON Pointer into the file; `@name` picks a parameter by name.
        var pointer: String
        var schema: [String: JSONValue]
    }

    static var all: [Constraint] { fields + enumerations + timeZones }

    /// Request fields and parameters, each with the rule its validator checks.
    static let fields: [Constraint] = {
        var all: [Constraint] = []
        func body(_ schema: String, _ path: String, _ rule: FieldRule) {
            all.append(Constraint(pointer: "/components/schemas/\(schema)/properties/\(path)", schema: rule.schema))
        }
        func query(_ route: String, _ method: String, _ name: String, _ rule: FieldRule) {
            let route = route.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
            all.append(Constraint(pointer: "/paths/\(route)/\(method)/parameters/@\(name)/schema", schema: rule.schema))
        }
        body("CreateTenant", "name", .tenantName)
        // The team's accounts.
        body("SignIn", "email", .email)
        body("SignIn", "password", .signInPassword)
        body("SignIn", "totp_code", .oneTimeCode)
        body("SignIn", "recovery_code", .oneTimeCode)
        body("SignUp", "company", .tenantName)
        body("SignUp", "email", .email)
        body("CreateInvitation", "email", .email)
        body("UpdateUser", "name", .shortName)
        body("TOTPConfirm", "code", .oneTimeCode)
        body("AcceptInvitation", "token", .linkToken)
        for schema in ["SignUp", "AcceptInvitation"] {
            body(schema, "password", .password)
            all.append(Constraint(
                pointer: "/components/schemas/\(schema)/properties/password", schema: ["minLength": .integer(Int64(Passwords.minimumLength))]
            ))
        }
        body("CreateAPIKey", "name", .shortName)
        for schema in ["CreateChannel", "UpdateChannel"] { body(schema, "name", .shortName) }
        body("UpdateContact", "display_name", .shortName)
        body("UpdateContact", "phone", .phone)
        body("UpdateContact", "email", .email)
        body("UpdateContact", "language", .language)
        body("UpdateContact", "tags/items", .tag)
        all.append(Constraint(pointer: "/components/schemas/UpdateContact/properties/tags", schema: ["maxItems": .integer(Int64(Validate.maximumTags))]))
        body("CreateNote", "body", .noteBody)
        body("PersonMessage", "text", .personMessage)
        body("Handoff", "reason", .shortName)
        for schema in ["CreateDeal", "UpdateDeal"] {
            body(schema, "title", .shortName)
            body(schema, "stage", .dealStage)
        }
        for schema in ["CreateProvider", "UpdateProvider"] {
            body(schema, "name", .shortName)
            body(schema, "base_url", .baseURL)
            body(schema, "api_key", .providerAPIKey)
            body(schema, "region", .region)
        }
        for schema in ["CreateAgent", "UpdateAgent"] {
            body(schema, "name", .shortName)
            body(schema, "model", .shortName)
            body(schema, "system_prompt", .systemPrompt)
            body(schema, "fallbacks/items/properties/model", .shortName)
            body(schema, "handoff_keywords/items", .handoffKeyword)
            body(schema, "faq/items/properties/question", .agentReply)
            body(schema, "faq/items/properties/answer", .agentReply)
            body(schema, "out_of_credits_reply", .agentReply)
            body(schema, "speech_to_text_model", .shortName)
        }
        body("TopUp", "reason", .topUpReason)
        body("SetPrice", "model", .shortName)
        body("PrivacyPolicy", "allowed_regions/items", .region)
        body("PrivacyPolicy", "home_region", .homeRegion)
        body("PrivacyPolicy", "ai_label", .shortName)
        body("RecordConsent", "source", .shortName)
        all.append(Constraint(
            pointer: "/components/schemas/WebhookCredentials/properties/callback_url", schema: ["pattern": .string("^\(FieldRule.urlPattern)$")]
        ))
        query("/v1/contacts", "get", "q", .contactSearch)
        query("/v1/audit-log", "get", "subject_kind", .auditFilter)
        query("/v1/audit-log", "get", "subject_id", .auditFilter)
        return all
    }()

    /// The values of the API's enumerations, from the Swift enums the routes parse them with.
    static let enumerations: [Constraint] = {
        func values<Value: RawRepresentable & CaseIterable>(_ type: Value.Type) -> JSONValue where Value.RawValue == String {
            .strings(type.allCases.map(\.rawValue))
        }
        var all: [Constraint] = []
        for pointer in ["/components/schemas/CreateProvider/properties/kind", "/components/schemas/SetPrice/properties/provider_kind"] {
            all.append(Constraint(pointer: pointer, schema: ["enum": values(ProviderKind.self)]))
        }
        all.append(Constraint(pointer: "/components/schemas/CreateChannel/properties/kind", schema: ["enum": .strings(ConnectorRegistry.descriptions.keys.sorted())]))
        all.append(Constraint(pointer: "/components/schemas/RecordConsent/properties/purpose", schema: ["enum": values(ConsentPurpose.self)]))
        all.append(Constraint(pointer: "/paths/~1v1~1conversations/get/parameters/@status/schema", schema: ["enum": values(Conversation.Status.self)]))
        all.append(Constraint(pointer: "/paths/~1v1~1conversations/get/parameters/@mode/schema", schema: ["enum": values(Conversation.Mode.self)]))
        all.append(Constraint(pointer: "/paths/~1v1~1analytics~1timeseries/get/parameters/@metric/schema", schema: ["enum": values(AnalyticsMetric.self)]))
        all.append(Constraint(pointer: "/paths/~1v1~1analytics~1timeseries/get/parameters/@interval/schema", schema: ["enum": values(AnalyticsInterval.self)]))
        all.append(Constraint(pointer: "/paths/~1v1~1credits~1usage/get/parameters/@group_by/schema", schema: ["enum": values(UsageDimension.self)]))
        // Comma-separated kinds; empty items are skipped.
        let kind = "(?:" + LedgerEntry.Kind.allCases.map(\.rawValue).joined(separator: "|") + ")"
        all.append(Constraint(pointer: "/paths/~1v1~1credits~1ledger/get/parameters/@kind/schema", schema: ["pattern": .string("^(?:\(kind)?,)*\(kind)?$")]))
        return all
    }()

    /// The time zones `tz` takes: exactly the names the analytics and the dashboard accept
    /// on this server (its time-zone database), so a client can offer them as a list.
    static var timeZones: [Constraint] {
        [Constraint(pointer: "/components/schemas/TimeZone", schema: ["enum": .strings(AnalyticsRoutes.Parameters.acceptedZones)])]
    }
}

extension AnalyticsRoutes.Parameters {
    /// Every name `timeZone(_:)` accepts, sorted.
    static let acceptedZones: [String] = Set(knownZones).union(["UTC"]).filter { timeZone($0) != nil }.sorted()
}
