import ConnectorKit
import Foundation
import Hummingbird
import Logging
import SwitchboardCore
import SwitchboardPostgres

/// Data-protection routes (README, "Data protection"): the tenant's policy, consents, restriction,
/// subject requests, and the audit journal with its verification.
struct PrivacyRoutes: Sendable {
    let privacy: PostgresPrivacyStore
    let journal: PostgresAuditStore

    struct PolicyBody: RequestBody {
        struct Retention: Decodable {
            var conversationDays: Int?
            var logDays: Int?
            var ledgerYears: Int?
            var keepContacts: Bool?

            enum CodingKeys: String, CodingKey, CaseIterable {
                case conversationDays = "conversation_days", logDays = "log_days", ledgerYears = "ledger_years"
                case keepContacts = "keep_contacts"
            }
        }

        var retention: Retention?
        var redactPII: Bool?
        var allowedRegions: [String]?
        var homeRegion: String?
        var aiLabel: String?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case retention, redactPII = "redact_pii", allowedRegions = "allowed_regions", homeRegion = "home_region", aiLabel = "ai_label"
        }

        func policy() throws -> PrivacyPolicy {
            var policy = PrivacyPolicy.standard
            if let days = retention?.conversationDays {
                guard (1...3650).contains(days) else {
                    throw SwitchboardError.invalid("retention.conversation_days must be from 1 to 3650, or null", field: "retention.conversation_days")
                }
                policy.conversationDays = days
            }
            if let days = retention?.logDays {
                guard (1...3650).contains(days) else {
                    throw SwitchboardError.invalid("retention.log_days must be from 1 to 3650", field: "retention.log_days")
                }
                policy.logDays = days
            }
            if let years = retention?.ledgerYears {
                guard (1...10).contains(years) else {
                    throw SwitchboardError.invalid("retention.ledger_years must be from 1 to 10", field: "retention.ledger_years")
                }
                policy.ledgerYears = years
            }
            policy.keepContacts = retention?.keepContacts ?? false
            policy.redactPII = redactPII ?? false
            if let regions = allowedRegions {
                guard regions.count <= 50 else { throw SwitchboardError.invalid("allowed_regions has too many entries", field: "allowed_regions") }
                policy.allowedRegions = try regions.map { try FieldRule.region.check($0, field: "allowed_regions") }
            }
            if let home = homeRegion { policy.homeRegion = try FieldRule.homeRegion.check(home, field: "home_region") }
            if let label = aiLabel { policy.aiLabel = try FieldRule.shortName.check(label, field: "ai_label") }
            return policy
        }
    }

    struct KeepBody: RequestBody {
        var keep: Bool

        enum CodingKeys: String, CodingKey, CaseIterable { case keep }
    }

    struct ConsentBody: RequestBody {
        var purpose: String
        var granted: Bool
        var source: String

        enum CodingKeys: String, CodingKey, CaseIterable { case purpose, granted, source }
    }

    func add(to group: RouterGroup<TenantRequestContext>) {
        group.get("/privacy/policy") { _, context in
            try JSONBody.response(PolicyResponse(try await privacy.policy(context.tenantID)))
        }
        group.put("/privacy/policy") { request, context in
            let policy = try await JSONBody.decode(PolicyBody.self, from: request, context: context).policy()
            try await privacy.setPolicy(context.tenantID, policy)
            return try JSONBody.response(PolicyResponse(policy))
        }
        group.post("/contacts/{id}/consents") { request, context in
            let contact = try Self.contactID(context)
            let body = try await JSONBody.decode(ConsentBody.self, from: request, context: context)
            guard let purpose = ConsentPurpose(rawValue: body.purpose) else {
                throw SwitchboardError.invalid(
                    "purpose must be one of \(ConsentPurpose.allCases.map(\.rawValue).joined(separator: ", "))", field: "purpose"
                )
            }
            let source = try FieldRule.shortName.check(body.source, field: "source")
            let consent = try await privacy.recordConsent(context.tenantID, contact: contact, purpose: purpose, granted: body.granted, source: source)
            return try JSONBody.response(ConsentResponse(consent), status: .created)
        }
        group.get("/contacts/{id}/consents") { _, context in
            let consents = try await privacy.consents(context.tenantID, contact: try Self.contactID(context))
            var current: [String: Bool] = [:]
            for purpose in ConsentPurpose.allCases {
                current[purpose.rawValue] = consents.first { $0.purpose == purpose }?.granted ?? true
            }
            return try JSONBody.response(ConsentsResponse(current: current, data: consents.map(ConsentResponse.init)))
        }
        for (path, restricted) in [("/contacts/{id}/restrict", true), ("/contacts/{id}/unrestrict", false)] {
            group.post(RouterPath(path)) { _, context in
                let contact = try Self.contactID(context)
                let since = try await privacy.setRestricted(context.tenantID, contact: contact, restricted)
                return try JSONBody.response(RestrictionResponse(id: contact.description, restricted: since != nil, restrictedAt: since))
            }
        }
        // A contact the tenant keeps past retention (a customer it must remember though
        // the conversations are gone); `keep: false` lets retention take it again.
        group.put("/contacts/{id}/retention") { request, context in
            let contact = try Self.contactID(context)
            let body = try await JSONBody.decode(KeepBody.self, from: request, context: context)
            let kept = try await privacy.setKept(context.tenantID, contact: contact, body.keep)
            return try JSONBody.response(RetentionResponse(id: contact.description, keep: kept))
        }
        group.delete("/contacts/{id}") { _, context in
            let contact = try Self.contactID(context)
            let removed = try await privacy.erase(context.tenantID, contact: contact)
            context.logger.notice("contact erased", metadata: ["contact.id": "\(contact)"])
            return try JSONBody.response(ErasedResponse(id: contact.description, removed: removed))
        }
        group.get("/contacts/{id}/export") { _, context in
            let document = try await privacy.export(context.tenantID, contact: try Self.contactID(context))
            var headers = HTTPFields()
            headers[.contentType] = "application/json; charset=utf-8"
            headers[.contentDisposition] = "attachment; filename=\"contact-export.json\""
            headers[.cacheControl] = "no-store"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: document)))
        }
        group.get("/privacy/subprocessors") { _, context in
            try JSONBody.response(SubProcessorsResponse(data: try await subProcessors(context.tenantID)))
        }
        group.get("/privacy/processing-record") { _, context in
            let policy = try await privacy.policy(context.tenantID)
            let processors = try await subProcessors(context.tenantID)
            let categories = DataInventory.categories.map { declaration, tables in
                ProcessingRecordResponse.Category(
                    category: declaration.category, personalData: declaration.personal, role: declaration.role.rawValue,
                    purpose: declaration.purpose, legalBasis: declaration.legalBasis, retention: Self.describe(declaration.retention, policy),
                    tables: tables, subProcessors: declaration.reachesSubProcessors ? processors : []
                )
            }
            return try JSONBody.response(ProcessingRecordResponse(
                tenantID: context.tenantID.description, categories: categories, subProcessors: processors,
                transfers: .init(allowedRegions: policy.allowedRegions, homeRegion: policy.homeRegion), redactPII: policy.redactPII
            ))
        }
        group.get("/privacy/requests") { request, context in
            let page = try await privacy.requests(context.tenantID, page: try request.pageRequest())
            return try JSONBody.response(ListResponse(page, PrivacyRequestResponse.init))
        }
        group.get("/audit-log") { request, context in
            let query = request.uri.queryParameters
            let kind = try query["subject_kind"].map { try FieldRule.auditFilter.check(String($0), field: "subject_kind") }
            let subject = try query["subject_id"].map { try FieldRule.auditFilter.check(String($0), field: "subject_id") }
            let actor = try query["actor"].map { try FieldRule.auditFilter.check(String($0), field: "actor") }
            let from = try query["from"].map { try APITime.parse(String($0), field: "from") }
            let to = try query["to"].map { try APITime.parse(String($0), field: "to") }
            let page = try await journal.entries(
                context.tenantID, page: try request.pageRequest(), subjectKind: kind, subjectID: subject, actor: actor, from: from, to: to
            )
            return try JSONBody.response(ListResponse(page, AuditEntryResponse.init))
        }
        group.get("/audit-log/verify") { _, context in
            let verification = try await journal.verify(context.tenantID)
            return try JSONBody.response(
                AuditVerificationResponse(intact: verification.isIntact, checked: verification.checked, brokenAtSeq: verification.brokenAt)
            )
        }
    }

    /// The messenger platforms as sub-processors: who runs each, and where.
    func subProcessors(_ tenant: TenantID) async throws -> [SubProcessorResponse] {
        let (providers, channels) = try await privacy.subProcessors(tenant)
        return providers.map { provider in
            SubProcessorResponse(name: provider.name, kind: provider.kind, role: "model provider", region: provider.region)
        } + channels.map { kind in
            // Each connector names its platform's operator (`ConnectorDescription`).
            let messenger = ConnectorRegistry.descriptions[kind]?.subProcessor
            return SubProcessorResponse(name: messenger?.name ?? kind, kind: kind, role: "messenger", region: messenger?.region)
        }
    }

    static func describe(_ retention: DataDeclaration.Retention, _ policy: PrivacyPolicy) -> String {
        switch retention {
        case .conversations:
            policy.conversationDays.map { "deleted \($0) days after the conversation's last message" }
                ?? "kept until the tenant deletes it (no conversation retention set)"
        case .contacts:
            if let days = policy.conversationDays, !policy.keepContacts {
                "deleted with the contact: once it has no conversation left and its own last activity is \(days) days old, "
                    + "unless it has an open deal or the tenant keeps it"
            } else {
                "kept until the tenant deletes it (contacts are not deleted by retention)"
            }
        case .logs: "deleted after \(policy.logDays) days"
        case .ledger: "kept \(policy.ledgerYears) years for accounting; personal references removed after"
        case .tenant: "kept until the tenant deletes it; gone with the tenant's off-boarding"
        case .fixed(let text): text
        }
    }

    static func contactID(_ context: TenantRequestContext) throws -> ContactID {
        guard let id = context.parameters.get("id").flatMap({ ContactID($0) }) else { throw SwitchboardError.notFound("contact") }
        return id
    }
}

// MARK: Resources

extension PrivacyRoutes {
    /// The tenant's privacy policy: retention, redaction, where data may go, the AI label.
    struct PolicyResponse: APIResource {
        var retention: Retention
        var redactPII: Bool
        @Nullable var allowedRegions: [String]?
        var homeRegion: String
        @Nullable var aiLabel: String?

        struct Retention: Encodable, Sendable {
            @Nullable var conversationDays: Int?
            var logDays: Int
            var ledgerYears: Int
            var keepContacts: Bool

            enum CodingKeys: String, CodingKey {
                case conversationDays = "conversation_days", logDays = "log_days", ledgerYears = "ledger_years", keepContacts = "keep_contacts"
            }
        }

        init(_ policy: PrivacyPolicy) {
            retention = Retention(
                conversationDays: policy.conversationDays, logDays: policy.logDays, ledgerYears: policy.ledgerYears,
                keepContacts: policy.keepContacts
            )
            redactPII = policy.redactPII
            allowedRegions = policy.allowedRegions
            homeRegion = policy.homeRegion
            aiLabel = policy.aiLabel
        }

        enum CodingKeys: String, CodingKey {
            case retention, redactPII = "redact_pii", allowedRegions = "allowed_regions", homeRegion = "home_region", aiLabel = "ai_label"
        }
    }

    /// One consent (or its withdrawal) a contact gave for a purpose.
    struct ConsentResponse: APIResource {
        var id: String
        var contactID: String
        var purpose: String
        var granted: Bool
        var source: String
        var recordedAt: Date

        init(_ consent: Consent) {
            id = consent.id.uuidString.lowercased()
            contactID = consent.contactID.description
            purpose = consent.purpose.rawValue
            granted = consent.granted
            source = consent.source
            recordedAt = consent.recordedAt
        }

        enum CodingKeys: String, CodingKey { case id, contactID = "contact_id", purpose, granted, source, recordedAt = "recorded_at" }
    }

    /// A contact's consents: where each purpose stands now, keyed by purpose, and the record.
    struct ConsentsResponse: APIResource {
        var current: [String: Bool]
        var data: [ConsentResponse]

        enum CodingKeys: String, CodingKey { case current, data }
    }

    /// Whether processing of a contact is restricted (GDPR article 18), and since when.
    struct RestrictionResponse: APIResource {
        var id: String
        var restricted: Bool
        @Nullable var restrictedAt: Date?

        enum CodingKeys: String, CodingKey { case id, restricted, restrictedAt = "restricted_at" }
    }

    /// Whether the tenant keeps a contact past retention.
    struct RetentionResponse: APIResource {
        var id: String
        var keep: Bool

        enum CodingKeys: String, CodingKey { case id, keep }
    }

    /// An erased contact, with the rows that went with it by table.
    struct ErasedResponse: APIResource {
        var id: String
        var erased = true
        var removed: [String: Int]

        enum CodingKeys: String, CodingKey { case id, erased, removed }
    }

    /// Who processes the tenant's data for it: a model provider or a messenger platform.
    struct SubProcessorResponse: Encodable, Sendable {
        var name: String
        var kind: String
        var role: String
        @Nullable var region: String?
        var receives = ["conversations", "customer_contacts"]

        init(name: String, kind: String, role: String, region: String?) {
            self.name = name
            self.kind = kind
            self.role = role
            self.region = region
        }

        enum CodingKeys: String, CodingKey { case name, kind, role, region, receives }
    }

    struct SubProcessorsResponse: APIResource {
        var data: [SubProcessorResponse]

        enum CodingKeys: String, CodingKey { case data }
    }

    /// The record of processing (GDPR article 30): each category of data, why and how long
    /// it is kept, and who it reaches.
    struct ProcessingRecordResponse: APIResource {
        var tenantID: String
        var categories: [Category]
        var subProcessors: [SubProcessorResponse]
        var transfers: Transfers
        var redactPII: Bool

        struct Category: Encodable, Sendable {
            var category: String
            var personalData: Bool
            var role: String
            var purpose: String
            var legalBasis: String
            var retention: String
            var tables: [String]
            var subProcessors: [SubProcessorResponse]

            enum CodingKeys: String, CodingKey {
                case category, personalData = "personal_data", role, purpose, legalBasis = "legal_basis", retention, tables
                case subProcessors = "sub_processors"
            }
        }

        struct Transfers: Encodable, Sendable {
            @Nullable var allowedRegions: [String]?
            var homeRegion: String

            enum CodingKeys: String, CodingKey { case allowedRegions = "allowed_regions", homeRegion = "home_region" }
        }

        enum CodingKeys: String, CodingKey {
            case tenantID = "tenant_id", categories, subProcessors = "sub_processors", transfers, redactPII = "redact_pii"
        }
    }

    /// A data subject's request and when it was done.
    struct PrivacyRequestResponse: Encodable, Sendable {
        var id: String
        var kind: String
        var contactID: String
        var requestedAt: Date
        @Nullable var completedAt: Date?

        init(_ request: PrivacyRequest) {
            id = request.id.uuidString.lowercased()
            kind = request.kind.rawValue
            contactID = request.contactID.description
            requestedAt = request.requestedAt
            completedAt = request.completedAt
        }

        enum CodingKeys: String, CodingKey { case id, kind, contactID = "contact_id", requestedAt = "requested_at", completedAt = "completed_at" }
    }

    /// An entry of the tenant's hash-chained audit log.
    struct AuditEntryResponse: Encodable, Sendable {
        var seq: Int64
        var at: Date
        var actor: String
        var action: String
        var subjectKind: String
        @Nullable var subjectID: String?
        var hash: String

        init(_ entry: AuditEntry) {
            seq = entry.sequence
            at = entry.at
            actor = entry.actor
            action = entry.action
            subjectKind = entry.subjectKind
            subjectID = entry.subjectID
            hash = entry.hash
        }

        enum CodingKeys: String, CodingKey { case seq, at, actor, action, subjectKind = "subject_kind", subjectID = "subject_id", hash }
    }

    /// Whether the audit log's hash chain holds: how many entries were checked, and the
    /// first that does not follow (`null` when intact).
    struct AuditVerificationResponse: APIResource {
        var intact: Bool
        var checked: Int64
        @Nullable var brokenAtSeq: Int64?

        enum CodingKeys: String, CodingKey { case intact, checked, brokenAtSeq = "broken_at_seq" }
    }
}

/// A time a caller sends (a filter bound, an expiry): RFC 3339, within the years PostgreSQL holds.
enum APITime {
    static func parse(_ text: String, field: String) throws -> Date {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let plain = ISO8601DateFormatter()
        guard text.utf8.count <= 40, let date = plain.date(from: text) ?? formatter.date(from: text),
              date.timeIntervalSince1970 > -62_135_596_800, date.timeIntervalSince1970 < 253_402_300_799
        else {
            throw SwitchboardError.invalid("\(field) must be an RFC 3339 time (2026-01-31T00:00:00Z)", field: field)
        }
        return date
    }
}
