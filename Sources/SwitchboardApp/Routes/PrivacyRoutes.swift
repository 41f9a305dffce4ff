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

    static func render(_ policy: PrivacyPolicy) -> JSONValue {
        .object([
            "retention": .object([
                "conversation_days": .integer(policy.conversationDays.map(Int64.init)),
                "log_days": .integer(Int64(policy.logDays)), "ledger_years": .integer(Int64(policy.ledgerYears)),
                "keep_contacts": .bool(policy.keepContacts),
            ]),
            "redact_pii": .bool(policy.redactPII),
            "allowed_regions": policy.allowedRegions.map(JSONValue.strings) ?? .null,
            "home_region": .string(policy.homeRegion),
            "ai_label": .string(policy.aiLabel),
        ])
    }

    static func render(_ consent: Consent) -> JSONValue {
        .object([
            "id": .string(consent.id.uuidString.lowercased()), "contact_id": .string(consent.contactID.description),
            "purpose": .string(consent.purpose.rawValue), "granted": .bool(consent.granted), "source": .string(consent.source),
            "recorded_at": .date(consent.recordedAt),
        ])
    }

    func add(to group: RouterGroup<TenantRequestContext>) {
        group.get("/privacy/policy") { _, context in
            try JSONBody.response(Self.render(try await privacy.policy(context.tenantID)))
        }
        group.put("/privacy/policy") { request, context in
            let policy = try await JSONBody.decode(PolicyBody.self, from: request, context: context).policy()
            try await privacy.setPolicy(context.tenantID, policy)
            return try JSONBody.response(Self.render(policy))
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
            return try JSONBody.response(Self.render(consent), status: .created)
        }
        group.get("/contacts/{id}/consents") { _, context in
            let consents = try await privacy.consents(context.tenantID, contact: try Self.contactID(context))
            var current: [String: JSONValue] = [:]
            for purpose in ConsentPurpose.allCases {
                current[purpose.rawValue] = .bool(consents.first { $0.purpose == purpose }?.granted ?? true)
            }
            return try JSONBody.response(JSONValue.object(["current": .object(current), "data": .array(consents.map(Self.render))]))
        }
        for (path, restricted) in [("/contacts/{id}/restrict", true), ("/contacts/{id}/unrestrict", false)] {
            group.post(RouterPath(path)) { _, context in
                let contact = try Self.contactID(context)
                let since = try await privacy.setRestricted(context.tenantID, contact: contact, restricted)
                return try JSONBody.response(JSONValue.object([
                    "id": .string(contact.description), "restricted": .bool(since != nil),
                    "restricted_at": .date(since),
                ]))
            }
        }
        // A contact the tenant keeps past retention (a customer it must remember though
        // the conversations are gone); `keep: false` lets retention take it again.
        group.put("/contacts/{id}/retention") { request, context in
            let contact = try Self.contactID(context)
            let body = try await JSONBody.decode(KeepBody.self, from: request, context: context)
            let kept = try await privacy.setKept(context.tenantID, contact: contact, body.keep)
            return try JSONBody.response(JSONValue.object(["id": .string(contact.description), "keep": .bool(kept)]))
        }
        group.delete("/contacts/{id}") { _, context in
            let contact = try Self.contactID(context)
            let removed = try await privacy.erase(context.tenantID, contact: contact)
            context.logger.notice("contact erased", metadata: ["contact.id": "\(contact)"])
            return try JSONBody.response(JSONValue.object([
                "id": .string(contact.description), "erased": true,
                "removed": .object(removed.mapValues { .integer(Int64($0)) }),
            ]))
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
            try JSONBody.response(JSONValue.object(["data": .array(try await subProcessors(context.tenantID))]))
        }
        group.get("/privacy/processing-record") { _, context in
            let policy = try await privacy.policy(context.tenantID)
            let processors = try await subProcessors(context.tenantID)
            let categories: [JSONValue] = DataInventory.categories.map { declaration, tables in
                .object([
                    "category": .string(declaration.category), "personal_data": .bool(declaration.personal),
                    "role": .string(declaration.role.rawValue), "purpose": .string(declaration.purpose),
                    "legal_basis": .string(declaration.legalBasis), "retention": .string(Self.describe(declaration.retention, policy)),
                    "tables": .strings(tables), "sub_processors": declaration.reachesSubProcessors ? .array(processors) : .array([]),
                ])
            }
            return try JSONBody.response(JSONValue.object([
                "tenant_id": .string(context.tenantID.description), "categories": .array(categories), "sub_processors": .array(processors),
                "transfers": .object([
                    "allowed_regions": policy.allowedRegions.map(JSONValue.strings) ?? .null, "home_region": .string(policy.homeRegion),
                ]),
                "redact_pii": .bool(policy.redactPII),
            ]))
        }
        group.get("/privacy/requests") { request, context in
            let page = try await privacy.requests(context.tenantID, page: try request.pageRequest())
            return try JSONBody.response(JSONValue.object([
                "data": .array(page.data.map { request in
                    .object([
                        "id": .string(request.id.uuidString.lowercased()), "kind": .string(request.kind.rawValue),
                        "contact_id": .string(request.contactID.description), "requested_at": .date(request.requestedAt),
                        "completed_at": .date(request.completedAt),
                    ])
                }),
                "next_cursor": .string(page.nextCursor),
            ]))
        }
        group.get("/audit-log") { request, context in
            let query = request.uri.queryParameters
            let kind = try query["subject_kind"].map { try FieldRule.auditFilter.check(String($0), field: "subject_kind") }
            let subject = try query["subject_id"].map { try FieldRule.auditFilter.check(String($0), field: "subject_id") }
            let page = try await journal.entries(context.tenantID, page: try request.pageRequest(), subjectKind: kind, subjectID: subject)
            return try JSONBody.response(JSONValue.object([
                "data": .array(page.data.map { entry in
                    .object([
                        "seq": .integer(entry.sequence), "at": .date(entry.at), "actor": .string(entry.actor),
                        "action": .string(entry.action), "subject_kind": .string(entry.subjectKind), "subject_id": .string(entry.subjectID),
                        "hash": .string(entry.hash),
                    ])
                }),
                "next_cursor": .string(page.nextCursor),
            ]))
        }
        group.get("/audit-log/verify") { _, context in
            let verification = try await journal.verify(context.tenantID)
            return try JSONBody.response(JSONValue.object([
                "intact": .bool(verification.isIntact), "checked": .integer(verification.checked),
                "broken_at_seq": .integer(verification.brokenAt),
            ]))
        }
    }

    /// The messenger platforms as sub-processors: who runs each, and where.
    func subProcessors(_ tenant: TenantID) async throws -> [JSONValue] {
        let (providers, channels) = try await privacy.subProcessors(tenant)
        return providers.map { provider in
            .object([
                "name": .string(provider.name), "kind": .string(provider.kind), "role": "model provider",
                "region": .string(provider.region), "receives": .strings(["conversations", "customer_contacts"]),
            ])
        } + channels.map { kind in
            // Each connector names its platform's operator (`ConnectorDescription`).
            let messenger = ConnectorRegistry.descriptions[kind]?.subProcessor
            return .object([
                "name": .string(messenger?.name ?? kind), "kind": .string(kind), "role": "messenger",
                "region": .string(messenger?.region), "receives": .strings(["conversations", "customer_contacts"]),
            ])
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
