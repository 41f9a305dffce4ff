public import Foundation
import Logging
import PostgresNIO
public import SwitchboardCore

/// The tenant's privacy policy, consents, restriction and subject requests.
public struct PostgresPrivacyStore: Sendable {
    let database: Database

    public init(database: Database) {
        self.database = database
    }

    public func policy(_ tenant: TenantID) async throws -> PrivacyPolicy {
        let logger = database.logger
        return try await database.withTenant(tenant) { connection in
            let rows = try await connection.query(
                """
                SELECT conversation_days, log_days, ledger_years, redact_pii, allowed_regions, home_region, ai_label, keep_contacts
                FROM privacy_policies WHERE tenant_id = \(tenant.uuid)
                """,
                logger: logger
            )
            for try await (days, logDays, years, redact, regions, home, label, keep) in rows.decode(
                (Int32?, Int32, Int32, Bool, [String]?, String, String?, Bool).self
            ) {
                return PrivacyPolicy(
                    conversationDays: days.map(Int.init), logDays: Int(logDays), ledgerYears: Int(years), redactPII: redact,
                    allowedRegions: regions, homeRegion: home, aiLabel: label, keepContacts: keep
                )
            }
            return .standard
        }
    }

    public func setPolicy(_ tenant: TenantID, _ policy: PrivacyPolicy) async throws {
        let logger = database.logger
        try await database.withTenant(tenant) { connection in
            try await connection.perform(
                """
                INSERT INTO privacy_policies (tenant_id, conversation_days, log_days, ledger_years, redact_pii, allowed_regions, home_region,
                                              ai_label, keep_contacts)
                VALUES (\(tenant.uuid), \(policy.conversationDays.map(Int32.init)), \(Int32(policy.logDays)), \(Int32(policy.ledgerYears)),
                        \(policy.redactPII), \(policy.allowedRegions), \(policy.homeRegion), \(policy.aiLabel), \(policy.keepContacts))
                ON CONFLICT (tenant_id) DO UPDATE SET conversation_days = EXCLUDED.conversation_days, log_days = EXCLUDED.log_days,
                    ledger_years = EXCLUDED.ledger_years, redact_pii = EXCLUDED.redact_pii, allowed_regions = EXCLUDED.allowed_regions,
                    home_region = EXCLUDED.home_region, ai_label = EXCLUDED.ai_label, keep_contacts = EXCLUDED.keep_contacts,
                    updated_at = now()
                """,
                logger: logger
            )
        }
    }

    /// Records a consent given or withdrawn (404 for a contact not the tenant's).
    public func recordConsent(
        _ tenant: TenantID, contact: ContactID, purpose: ConsentPurpose, granted: Bool, source: String
    ) async throws -> Consent {
        let logger = database.logger
        return try await database.withTenant(tenant) { connection in
            let rows = try await connection.query(
                """
                INSERT INTO consents (tenant_id, contact_id, purpose, granted, source)
                SELECT \(tenant.uuid), c.id, \(purpose.rawValue), \(granted), \(source) FROM contacts c
                WHERE c.tenant_id = \(tenant.uuid) AND c.id = \(contact.uuid)
                RETURNING id, recorded_at
                """,
                logger: logger
            )
            for try await (id, at) in rows.decode((UUID, Date).self) {
                try await Self.recordRequest(connection, tenant, .consent, contact, logger: logger)
                return Consent(id: id, contactID: contact, purpose: purpose, granted: granted, source: source, recordedAt: at)
            }
            throw SwitchboardError.notFound("contact")
        }
    }

    /// Every consent recorded for a contact, newest first.
    public func consents(_ tenant: TenantID, contact: ContactID) async throws -> [Consent] {
        let logger = database.logger
        return try await database.withTenant(tenant) { connection in
            guard try await Self.exists(connection, tenant, contact, logger: logger) else { throw SwitchboardError.notFound("contact") }
            var consents: [Consent] = []
            for try await (id, purpose, granted, source, at) in try await connection.query(
                """
                SELECT id, purpose, granted, source, recorded_at FROM consents
                WHERE tenant_id = \(tenant.uuid) AND contact_id = \(contact.uuid) ORDER BY recorded_at DESC, id
                """,
                logger: logger
            ).decode((UUID, String, Bool, String, Date).self) {
                guard let purpose = ConsentPurpose(rawValue: purpose) else { continue }
                consents.append(Consent(id: id, contactID: contact, purpose: purpose, granted: granted, source: source, recordedAt: at))
            }
            return consents
        }
    }

    /// Restricts a contact (kept, not processed) or lifts it; records the request. Answers
    /// when the restriction began (nil once lifted).
    public func setRestricted(_ tenant: TenantID, contact: ContactID, _ restricted: Bool) async throws -> Date? {
        let logger = database.logger
        return try await database.withTenant(tenant) { connection in
            let rows = try await connection.query(
                """
                UPDATE contacts SET restricted_at = CASE WHEN \(restricted) THEN COALESCE(restricted_at, now()) END, updated_at = now()
                WHERE tenant_id = \(tenant.uuid) AND id = \(contact.uuid) RETURNING restricted_at
                """,
                logger: logger
            )
            for try await since in rows.decode(Date?.self) {
                try await Self.recordRequest(connection, tenant, restricted ? .restriction : .unrestriction, contact, logger: logger)
                return since
            }
            throw SwitchboardError.notFound("contact")
        }
    }

    /// Keeps a contact past retention (or lets it go again); answers the flag as set.
    public func setKept(_ tenant: TenantID, contact: ContactID, _ keep: Bool) async throws -> Bool {
        let logger = database.logger
        return try await database.withTenant(tenant) { connection in
            let rows = try await connection.query(
                """
                UPDATE contacts SET retention_keep = \(keep), updated_at = now()
                WHERE tenant_id = \(tenant.uuid) AND id = \(contact.uuid) RETURNING retention_keep
                """,
                logger: logger
            )
            for try await kept in rows.decode(Bool.self) { return kept }
            throw SwitchboardError.notFound("contact")
        }
    }

    /// Erases a contact and everything about it (see `erase_contact`); answers what was
    /// removed, by kind.
    public func erase(_ tenant: TenantID, contact: ContactID) async throws -> [String: Int] {
        guard let removed = try await database.document(
            tenant, "SELECT erase_contact(\(tenant.uuid), \(contact.uuid))::text", as: [String: Int].self
        ) else { throw SwitchboardError.notFound("contact") }
        return removed
    }

    /// Everything about one contact as one JSON document; records the access request.
    public func export(_ tenant: TenantID, contact: ContactID) async throws -> Data {
        let logger = database.logger
        let text = try await database.withTenant(tenant) { connection -> String? in
            var document: String?
            for try await value in try await connection.query(
                "SELECT contact_export(\(tenant.uuid), \(contact.uuid))::text", logger: logger
            ).decode(String?.self) { document = value }
            if document != nil { try await Self.recordRequest(connection, tenant, .access, contact, logger: logger) }
            return document
        }
        guard let text else { throw SwitchboardError.notFound("contact") }
        return Data(text.utf8)
    }

    /// One retention run over every tenant (see `retention_sweep`), recorded; answers what
    /// it deleted, by kind, across tenants.
    public func retentionSweep(now: Date, batch: Int = 1_000) async throws -> [String: Int] {
        let logger = database.logger
        return try await database.withWorker { connection in
            var run: UUID?
            for try await id in try await connection.query(
                "SELECT retention_sweep(\(now), \(Int32(batch)))", logger: logger
            ).decode(UUID.self) { run = id }
            guard let run else { return [:] }
            for try await text in try await connection.query(
                "SELECT deleted::text FROM retention_runs WHERE id = \(run)", logger: logger
            ).decode(String.self) {
                return try JSONDecoder().decode([String: Int].self, from: Data(text.utf8))
            }
            return [:]
        }
    }

    /// The model providers (name, kind, region) and the messenger kinds a tenant configured.
    public func subProcessors(_ tenant: TenantID) async throws -> (providers: [(name: String, kind: String, region: String)], channels: [String]) {
        let logger = database.logger
        return try await database.withTenant(tenant) { connection in
            var providers: [(String, String, String)] = []
            for try await row in try await connection.query(
                "SELECT name, kind, region FROM providers WHERE tenant_id = \(tenant.uuid) ORDER BY name, id", logger: logger
            ).decode((String, String, String).self) { providers.append(row) }
            var channels: [String] = []
            for try await kind in try await connection.query(
                "SELECT DISTINCT kind FROM channels WHERE tenant_id = \(tenant.uuid) ORDER BY kind", logger: logger
            ).decode(String.self) { channels.append(kind) }
            return (providers, channels)
        }
    }

    /// Subject requests, newest first.
    public func requests(_ tenant: TenantID, page: PageRequest) async throws -> Page<PrivacyRequest> {
        let after = try Keyset.after(page.cursor)
        let logger = database.logger
        return try await database.withTenant(tenant) { connection in
            let rows = try await connection.query(
                """
                SELECT id, kind, contact_id, requested_at, completed_at, \(unescaped: Keyset.micros("requested_at")) FROM privacy_requests
                WHERE tenant_id = \(tenant.uuid)
                  AND (\(after.micros)::int8 IS NULL OR (requested_at, id) < (timestamptz 'epoch' + \(after.micros)::int8 * interval '1 microsecond', \(after.id)::uuid))
                ORDER BY requested_at DESC, id DESC LIMIT \(page.limit + 1)
                """,
                logger: logger
            )
            var requests: [(PrivacyRequest, Int64, UUID)] = []
            for try await (id, kind, contact, requested, completed, micros) in rows.decode((UUID, String, UUID, Date, Date?, Int64).self) {
                guard let kind = PrivacyRequest.Kind(rawValue: kind) else { continue }
                requests.append((
                    PrivacyRequest(id: id, kind: kind, contactID: ContactID(contact), requestedAt: requested, completedAt: completed), micros, id
                ))
            }
            return Keyset.page(requests, limit: page.limit)
        }
    }

    /// What the workers must honour for one conversation; nil when it is gone. (The reply
    /// worker reads it inside `reply_context`'s document.)
    public func context(_ tenant: TenantID, conversation: ConversationID) async throws -> (PrivacyContext, regions: [ProviderID: String])? {
        try await database.document(
            tenant, "SELECT privacy_context(\(tenant.uuid), \(conversation.uuid))::text", as: ContextDocument.self
        )?.context
    }

    struct ContextDocument: Decodable {
        struct Policy: Decodable {
            var redact_pii: Bool
            var allowed_regions: [String]?
            var home_region: String
            var ai_label: String?
        }

        var restricted: Bool
        var consents: [String: Bool]
        var policy: Policy
        var regions: [String: String]

        var context: (PrivacyContext, regions: [ProviderID: String]) {
            var consents: [ConsentPurpose: Bool] = [:]
            for (name, granted) in self.consents {
                if let purpose = ConsentPurpose(rawValue: name) { consents[purpose] = granted }
            }
            let policy = PrivacyPolicy(
                redactPII: policy.redact_pii, allowedRegions: policy.allowed_regions, homeRegion: policy.home_region, aiLabel: policy.ai_label
            )
            var regions: [ProviderID: String] = [:]
            for (id, region) in self.regions {
                if let id = ProviderID(id) { regions[id] = region }
            }
            return (PrivacyContext(restricted: restricted, consents: consents, policy: policy), regions)
        }
    }

    static func exists(_ connection: PostgresConnection, _ tenant: TenantID, _ contact: ContactID, logger: Logger) async throws -> Bool {
        try await connection.integer(
            "SELECT count(*)::int FROM contacts WHERE tenant_id = \(tenant.uuid) AND id = \(contact.uuid)", logger: logger
        ) == 1
    }

    /// Records a subject request done at once, in the caller's transaction.
    static func recordRequest(
        _ connection: PostgresConnection, _ tenant: TenantID, _ kind: PrivacyRequest.Kind, _ contact: ContactID, logger: Logger
    ) async throws {
        try await connection.query(
            """
            INSERT INTO privacy_requests (tenant_id, kind, contact_id, completed_at)
            VALUES (\(tenant.uuid), \(kind.rawValue), \(contact.uuid), now())
            """,
            logger: logger
        )
    }
}
