/// What each table holds, declared once: the processing record (README, "Data protection") is rendered
/// from this, and a test fails when a table exists that is not declared here — a new
/// table with personal data cannot ship without its category, role, purpose, legal basis
/// and retention.
public struct DataDeclaration: Sendable, Hashable {
    public enum Role: String, Sendable { case controller, processor }

    /// How long rows are kept; rendered with the tenant's policy.
    public enum Retention: Sendable, Hashable {
        /// Deleted `conversation_days` after the conversation's last message (or kept).
        case conversations
        /// Deleted with its contact: a contact without conversations or messages left whose
        /// own last activity is `conversation_days` old, unless it has an open deal or is kept.
        case contacts
        /// Technical logs: deleted after `log_days`.
        case logs
        /// Financial records: kept `ledger_years`, anonymized after.
        case ledger
        /// As long as the tenant keeps it, and gone with the tenant's off-boarding.
        case tenant
        /// A fixed time.
        case fixed(String)
    }

    public var category: String
    public var personal: Bool
    public var role: Role
    public var purpose: String
    public var legalBasis: String
    public var retention: Retention
    /// Whether the data reaches the tenant's model providers and messengers.
    public var reachesSubProcessors: Bool

    public init(
        _ category: String, personal: Bool, role: Role, purpose: String, legalBasis: String, retention: Retention,
        reachesSubProcessors: Bool = false
    ) {
        self.category = category
        self.personal = personal
        self.role = role
        self.purpose = purpose
        self.legalBasis = legalBasis
        self.retention = retention
        self.reachesSubProcessors = reachesSubProcessors
    }
}

public enum DataInventory {
    static let customers = DataDeclaration(
        "customer_contacts", personal: true, role: .processor, purpose: "keep the tenant's CRM of the people who write to it",
        legalBasis: "the tenant's instructions (processing agreement); the tenant is the controller", retention: .contacts,
        reachesSubProcessors: true
    )
    static let conversations = DataDeclaration(
        "conversations", personal: true, role: .processor, purpose: "receive, answer and deliver the tenant's customer messages",
        legalBasis: "the tenant's instructions (processing agreement); the tenant is the controller", retention: .conversations,
        reachesSubProcessors: true
    )
    static let crm = DataDeclaration(
        "crm_records", personal: true, role: .processor, purpose: "notes and deals the tenant keeps about its customers",
        legalBasis: "the tenant's instructions (processing agreement)", retention: .contacts
    )
    static let consent = DataDeclaration(
        "consents_and_requests", personal: true, role: .processor, purpose: "prove consents and honour data subjects' rights",
        legalBasis: "legal obligation of the controller, kept on its instructions", retention: .tenant
    )
    static let logs = DataDeclaration(
        "technical_logs", personal: true, role: .processor, purpose: "deliver exactly once, diagnose failures, retry safely",
        legalBasis: "the tenant's instructions; legitimate interest in a working service", retention: .logs
    )
    static let ledger = DataDeclaration(
        "billing_ledger", personal: false, role: .controller, purpose: "charge the tenant's prepaid credits exactly",
        legalBasis: "contract with the tenant; accounting law", retention: .ledger
    )
    static let account = DataDeclaration(
        "tenant_account", personal: true, role: .controller, purpose: "run the tenant's account: keys, channels, agents, settings",
        legalBasis: "contract with the tenant", retention: .tenant
    )
    static let audit = DataDeclaration(
        "audit_journal", personal: false, role: .controller, purpose: "a tamper-evident record of who read or changed personal data",
        legalBasis: "legal obligation (security of processing)", retention: .tenant
    )
    static let analytics = DataDeclaration(
        "analytics_rollups", personal: false, role: .processor,
        purpose: "hourly counts, latency histograms and hashed distinct-contact sketches the tenant's analytics read",
        legalBasis: "the tenant's instructions (processing agreement)", retention: .tenant
    )
    static let team = DataDeclaration(
        "team_access", personal: true, role: .controller,
        purpose: "let the tenant's people sign in and work: accounts, roles, sessions, two-factor, the sign-in journal",
        legalBasis: "contract with the tenant; legitimate interest in the security of its account", retention: .tenant
    )
    static let abuse = DataDeclaration(
        "trial_abuse_guard", personal: true, role: .controller, purpose: "one trial grant per email address (kept as its SHA-256)",
        legalBasis: "legitimate interest in preventing abuse of free credits", retention: .fixed("as long as the platform runs")
    )
    static let platform = DataDeclaration(
        "platform_reference", personal: false, role: .controller, purpose: "prices, migrations and runs of the platform itself",
        legalBasis: "legitimate interest", retention: .fixed("as long as the platform runs")
    )

    /// Every table of the schema.
    public static let tables: [String: DataDeclaration] = [
        "contacts": customers, "contact_identities": customers, "contact_merges": customers,
        "conversations": conversations, "messages": conversations, "message_edits": conversations, "message_tool_calls": conversations,
        "conversation_events": conversations,
        "analytics_hourly": analytics, "analytics_model_hourly": analytics, "analytics_daily": analytics,
        "analytics_model_daily": analytics, "analytics_monthly": analytics, "analytics_model_monthly": analytics,
        "notes": crm, "deals": crm,
        "consents": consent, "privacy_requests": consent,
        "inbound_events": logs, "dead_letters": logs, "jobs": logs, "model_calls": logs, "idempotency_keys": logs,
        "retention_deletions": logs,
        "credit_accounts": ledger, "credit_entries": ledger, "credit_holds": ledger, "credit_charges": ledger, "credit_lots": ledger,
        "tenant_prices": ledger,
        "tenants": account, "api_keys": account, "channels": account, "providers": account, "agents": account,
        "privacy_policies": account, "api_key_rate": account,
        "users": team, "user_directory": team, "user_sessions": team, "user_recovery_codes": team, "user_invitations": team,
        "login_events": team, "conversation_reads": team,
        "trial_directory": abuse,
        "audit_log": audit, "audit_heads": audit,
        "prices": platform, "schema_migrations": platform, "schema_functions": platform, "retention_runs": platform,
        "analytics_state": platform, "analytics_months": platform,
    ]

    /// The categories in a stable order, with their tables.
    public static var categories: [(DataDeclaration, [String])] {
        let grouped = Dictionary(grouping: tables.keys.sorted()) { tables[$0]!.category }
        return grouped.keys.sorted().map { (tables[grouped[$0]![0]]!, grouped[$0]!) }
    }
}
