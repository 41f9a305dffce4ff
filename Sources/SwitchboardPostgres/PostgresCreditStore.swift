public import Foundation
public import Logging
import PostgresNIO
public import SwitchboardCore

/// The credit ledger in PostgreSQL. Every change goes through `credit_apply`, which locks
/// the tenant's account, applies the operations in order, writes their entries and the
/// account once, and answers each operation's outcome.
public struct PostgresCreditStore: LedgerStore {
    let database: Database

    public init(database: Database) {
        self.database = database
    }

    /// Applies `operations` to `tenant`'s account in one statement (one transaction).
    public func apply(_ tenant: TenantID, _ operations: [LedgerOperation]) async throws -> [LedgerResult] {
        try await apply(tenant, operations, logger: database.logger)
    }

    public func apply(_ tenant: TenantID, _ operations: [LedgerOperation], logger: Logger) async throws -> [LedgerResult] {
        let payload = try Self.encode(operations)
        let database = self.database.logging(logger)
        let text = try await database.withConnection { connection -> String in
            for try await value in try await connection.query(
                "SELECT credit_apply(\(tenant.uuid), \(payload)::jsonb)::text", logger: logger
            ).decode(String.self) {
                return value
            }
            throw SwitchboardError(.internalError, "the ledger answered nothing")
        }
        return try Self.decodeResults(text)
    }

    public func account(_ tenant: TenantID) async throws -> CreditAccount {
        let logger = database.logger
        return try await database.withTenant(tenant) { connection in
            let rows = try await connection.query(
                """
                SELECT balance_micros, held_micros, low_balance_threshold_micros, low_balance_since
                FROM credit_accounts WHERE tenant_id = \(tenant.uuid)
                """,
                logger: logger
            )
            for try await (balance, held, threshold, since) in rows.decode((Int64, Int64, Int64, Date?).self) {
                return CreditAccount(
                    balance: Credits(micros: balance), held: Credits(micros: held), lowBalanceThreshold: Credits(micros: threshold),
                    lowBalanceSince: since
                )
            }
            throw SwitchboardError(.notFound, "the tenant has no credit account")
        }
    }

    /// Every listed tenant's account, for the operator's tenant list.
    public func accounts(_ tenants: [TenantID]) async throws -> [TenantID: CreditAccount] {
        let logger = database.logger
        let ids = tenants.map(\.uuid)
        return try await database.withOperator { connection in
            let rows = try await connection.query(
                """
                SELECT tenant_id, balance_micros, held_micros, low_balance_threshold_micros, low_balance_since
                FROM credit_accounts WHERE tenant_id = ANY(\(ids))
                """,
                logger: logger
            )
            var accounts: [TenantID: CreditAccount] = [:]
            for try await (id, balance, held, threshold, since) in rows.decode((UUID, Int64, Int64, Int64, Date?).self) {
                accounts[TenantID(id)] = CreditAccount(
                    balance: Credits(micros: balance), held: Credits(micros: held), lowBalanceThreshold: Credits(micros: threshold),
                    lowBalanceSince: since
                )
            }
            return accounts
        }
    }

    public func setLowBalanceThreshold(_ tenant: TenantID, _ threshold: Credits) async throws {
        let logger = database.logger
        try await database.withTenant(tenant) { connection in
            try await connection.perform("SELECT credit_set_threshold(\(tenant.uuid), \(threshold.micros))", logger: logger)
        }
    }

    /// The ledger, newest first, optionally only some kinds and a time range [from, to).
    public func entries(
        _ tenant: TenantID, page: PageRequest, kinds: [LedgerEntry.Kind] = [], from: Date? = nil, to: Date? = nil
    ) async throws -> Page<LedgerEntry> {
        let before: Int64? = try page.cursor.map { cursor in
            guard let sequence = Int64(cursor.sortKey) else {
                throw SwitchboardError.invalid("cursor is not one this API issued", field: "cursor")
            }
            return sequence
        }
        let kindNames = kinds.map(\.rawValue)
        let filterKinds = !kinds.isEmpty
        let logger = database.logger
        return try await database.withTenant(tenant) { connection in
            let rows = try await connection.query(
                """
                SELECT \(unescaped: Self.entryColumns) FROM credit_entries
                WHERE tenant_id = \(tenant.uuid) AND (\(before)::int8 IS NULL OR seq < \(before)::int8)
                  AND (NOT \(filterKinds) OR kind = ANY(\(kindNames)))
                  AND (\(from)::timestamptz IS NULL OR created_at >= \(from)::timestamptz)
                  AND (\(to)::timestamptz IS NULL OR created_at < \(to)::timestamptz)
                ORDER BY seq DESC LIMIT \(page.limit + 1)
                """,
                logger: logger
            )
            var entries: [LedgerEntry] = []
            for try await row in rows {
                entries.append(try Self.entry(row))
            }
            let kept = Array(entries.prefix(page.limit))
            let next = entries.count > page.limit
                ? kept.last.map { Cursor(sortKey: String($0.sequence), id: $0.id.uuidString.lowercased()).encoded } : nil
            return Page(data: kept, nextCursor: next)
        }
    }

    public func entry(_ tenant: TenantID, _ id: UUID) async throws -> LedgerEntry? {
        let logger = database.logger
        return try await database.withTenant(tenant) { connection in
            let rows = try await connection.query(
                """
                SELECT \(unescaped: Self.entryColumns) FROM credit_entries WHERE tenant_id = \(tenant.uuid) AND id = \(id)
                """,
                logger: logger
            )
            for try await row in rows { return try Self.entry(row) }
            return nil
        }
    }

    static let entryColumns = """
        id, seq, kind, amount_micros, held_delta_micros, balance_after_micros, held_after_micros, reason, hold_id,
        reference_kind, reference_id, agent_id, channel_id, message_id, provider_kind, model,
        input_tokens, cached_input_tokens, output_tokens, reasoning_tokens, uncollected_micros, expires_at, created_at
        """

    /// What was spent in [from, to), by model, agent or channel: captures less refunds.
    public func usage(_ tenant: TenantID, from: Date, to: Date, by dimension: UsageDimension) async throws -> [UsageLine] {
        let column = switch dimension {
        case .model: "COALESCE(provider_kind || ':' || model, '')"
        case .agent: "COALESCE(agent_id::text, '')"
        case .channel: "COALESCE(channel_id::text, '')"
        }
        let logger = database.logger
        return try await database.withTenant(tenant) { connection in
            let rows = try await connection.query(
                """
                SELECT \(unescaped: column) AS key, count(*) FILTER (WHERE kind = 'capture')::int8,
                       (-sum(amount_micros))::int8, COALESCE(sum(input_tokens), 0)::int8, COALESCE(sum(cached_input_tokens), 0)::int8,
                       COALESCE(sum(output_tokens), 0)::int8, COALESCE(sum(reasoning_tokens), 0)::int8
                FROM credit_entries
                WHERE tenant_id = \(tenant.uuid) AND kind IN ('capture', 'refund') AND reference_kind IS DISTINCT FROM 'top_up'
                  AND created_at >= \(from) AND created_at < \(to)
                GROUP BY 1 ORDER BY 3 DESC, 1
                """,
                logger: logger
            )
            var lines: [UsageLine] = []
            for try await (key, calls, spent, input, cached, output, reasoning) in rows.decode(
                (String, Int64, Int64, Int64, Int64, Int64, Int64).self
            ) {
                lines.append(UsageLine(
                    key: key.isEmpty ? nil : key, charges: Int(calls), spent: Credits(micros: spent), inputTokens: input,
                    cachedInputTokens: cached, outputTokens: output, reasoningTokens: reasoning
                ))
            }
            return lines
        }
    }

    /// The prices `tenant` pays: its overrides and the platform's book.
    public func priceBook(_ tenant: TenantID) async throws -> PriceBook {
        try await priceBook(tenant, logger: database.logger)
    }

    public func priceBook(_ tenant: TenantID, logger: Logger) async throws -> PriceBook {
        let database = self.database.logging(logger)
        return try await database.withTenant(tenant) { connection in
            PriceBook(try await Self.prices(connection, platform: true, tenant: tenant, logger: logger))
        }
    }

    /// The platform's price book (`tenant` nil) or one tenant's overrides, for the operator.
    public func operatorPrices(tenant: TenantID?) async throws -> [Price] {
        let logger = database.logger
        return try await database.withOperator { connection in
            try await Self.prices(connection, platform: tenant == nil, tenant: tenant, logger: logger)
        }
    }

    /// Sets a price of the platform's book (`tenant` nil) or a tenant's override.
    public func setPrice(_ price: Price, tenant: TenantID?) async throws {
        let logger = database.logger
        try await database.withOperator { connection in
            if let tenant {
                try await connection.perform(
                    """
                    INSERT INTO tenant_prices (tenant_id, provider_kind, model, input_micros_per_million, cached_input_micros_per_million,
                                               output_micros_per_million, reasoning_micros_per_million, message_fee_micros)
                    VALUES (\(tenant.uuid), \(price.providerKind.rawValue), \(price.model), \(price.inputPerMillion),
                            \(price.cachedInputPerMillion), \(price.outputPerMillion), \(price.reasoningPerMillion), \(price.messageFee.micros))
                    ON CONFLICT (tenant_id, provider_kind, model) DO UPDATE SET \(unescaped: Self.priceUpdate)
                    """,
                    logger: logger
                )
            } else {
                try await connection.perform(
                    """
                    INSERT INTO prices (provider_kind, model, input_micros_per_million, cached_input_micros_per_million,
                                        output_micros_per_million, reasoning_micros_per_million, message_fee_micros)
                    VALUES (\(price.providerKind.rawValue), \(price.model), \(price.inputPerMillion), \(price.cachedInputPerMillion),
                            \(price.outputPerMillion), \(price.reasoningPerMillion), \(price.messageFee.micros))
                    ON CONFLICT (provider_kind, model) DO UPDATE SET \(unescaped: Self.priceUpdate)
                    """,
                    logger: logger
                )
            }
        }
    }

    static let priceColumns = """
        provider_kind, model, input_micros_per_million, cached_input_micros_per_million, output_micros_per_million,
        reasoning_micros_per_million, message_fee_micros
        """

    static let priceUpdate = """
        input_micros_per_million = EXCLUDED.input_micros_per_million,
        cached_input_micros_per_million = EXCLUDED.cached_input_micros_per_million,
        output_micros_per_million = EXCLUDED.output_micros_per_million,
        reasoning_micros_per_million = EXCLUDED.reasoning_micros_per_million,
        message_fee_micros = EXCLUDED.message_fee_micros, updated_at = now()
        """

    /// Expires open holds whose time has passed (their worker died); answers how many.
    public func expireHolds(now: Date, limit: Int = 500) async throws -> Int {
        let logger = database.logger
        return try await database.withWorker { connection in
            try await connection.integer("SELECT credit_expire_holds(\(now), \(Int32(limit)))", logger: logger)
        }
    }

    /// Takes what is left of granted credits past their expiry, soonest-expiring credits
    /// counted as spent first; answers how many grants expired in full.
    public func expireGrants(now: Date, limit: Int = 100) async throws -> Int {
        let logger = database.logger
        return try await database.withWorker { connection in
            try await connection.integer("SELECT credit_expire_grants(\(now), \(Int32(limit)))", logger: logger)
        }
    }

    /// The platform's rows when `platform`, and `tenant`'s.
    static func prices(_ connection: PostgresConnection, platform: Bool, tenant: TenantID?, logger: Logger) async throws -> [Price] {
        let rows = try await connection.query(
            """
            SELECT provider_kind, model, input_micros_per_million, cached_input_micros_per_million, output_micros_per_million,
                   reasoning_micros_per_million, message_fee_micros, tenant_id IS NOT NULL
            FROM (SELECT \(unescaped: Self.priceColumns), NULL::uuid AS tenant_id FROM prices WHERE \(platform)
                  UNION ALL
                  SELECT \(unescaped: Self.priceColumns), tenant_id FROM tenant_prices WHERE tenant_id = \(tenant?.uuid)) p
            ORDER BY provider_kind, model, tenant_id NULLS FIRST
            """,
            logger: logger
        )
        var prices: [Price] = []
        for try await (kind, model, input, cached, output, reasoning, fee, isOverride) in rows.decode(
            (String, String, Int64, Int64, Int64, Int64, Int64, Bool).self
        ) {
            guard let kind = ProviderKind(rawValue: kind) else { continue }
            prices.append(Price(
                providerKind: kind, model: model, inputPerMillion: input, cachedInputPerMillion: cached, outputPerMillion: output,
                reasoningPerMillion: reasoning, messageFee: Credits(micros: fee), isOverride: isOverride
            ))
        }
        return prices
    }

    static func entry(_ row: PostgresRow) throws -> LedgerEntry {
        let c = try row.decode(
            (UUID, Int64, String, Int64, Int64, Int64, Int64, String, UUID?, String?, String?, UUID?, UUID?, UUID?, String?, String?,
             Int64?, Int64?, Int64?, Int64?, Int64, Date?, Date).self
        )
        let tokens: TokenCounts? = c.16 == nil && c.18 == nil ? nil : TokenCounts(
            input: Int(c.16 ?? 0), cachedInput: Int(c.17 ?? 0), output: Int(c.18 ?? 0), reasoning: Int(c.19 ?? 0),
            latencyMilliseconds: 0
        )
        return LedgerEntry(
            id: c.0, sequence: c.1, kind: LedgerEntry.Kind(rawValue: c.2) ?? .adjustment, amount: Credits(micros: c.3),
            heldDelta: Credits(micros: c.4), balanceAfter: Credits(micros: c.5), heldAfter: Credits(micros: c.6), reason: c.7,
            holdID: c.8, referenceKind: c.9, referenceID: c.10, agentID: c.11.map { AgentID($0) },
            channelID: c.12.map { ChannelID($0) }, messageID: c.13.map { MessageID($0) }, providerKind: c.14, model: c.15,
            tokens: tokens, uncollected: Credits(micros: c.20), expiresAt: c.21, createdAt: c.22
        )
    }

    // MARK: The wire format of credit_apply

    struct OperationJSON: Encodable {
        var op: String
        var key: String?
        var amount: Int64?
        var reason: String?
        var reference: String?
        var expiresAt: String?
        var holdID: String?
        var kind: String?
        var referenceKind: String?
        var referenceID: String?
        var agentID: String?
        var channelID: String?
        var messageID: String?
        var providerKind: String?
        var model: String?
        var inputTokens: Int?
        var cachedInputTokens: Int?
        var outputTokens: Int?
        var reasoningTokens: Int?

        enum CodingKeys: String, CodingKey {
            case op, key, amount, reason, reference, expiresAt = "expires_at", holdID = "hold_id", kind
            case referenceKind = "reference_kind", referenceID = "reference_id", agentID = "agent_id", channelID = "channel_id"
            case messageID = "message_id", providerKind = "provider_kind", model
            case inputTokens = "input_tokens", cachedInputTokens = "cached_input_tokens", outputTokens = "output_tokens"
            case reasoningTokens = "reasoning_tokens"
        }

        init(op: String) { self.op = op }

        mutating func refer(_ reference: LedgerReference) {
            referenceKind = reference.kind
            referenceID = reference.id
            agentID = reference.agentID?.description
            channelID = reference.channelID?.description
            messageID = reference.messageID?.description
            providerKind = reference.providerKind?.rawValue
            model = reference.model
            if let tokens = reference.tokens {
                inputTokens = tokens.input
                cachedInputTokens = tokens.cachedInput
                outputTokens = tokens.output
                reasoningTokens = tokens.reasoning
            }
        }
    }

    static func json(_ operation: LedgerOperation) -> OperationJSON {
        switch operation {
        case let .charge(key, amount, reason, reference):
            var json = OperationJSON(op: "charge")
            json.key = key
            json.amount = amount.micros
            json.reason = reason
            json.refer(reference)
            return json
        case let .hold(reference, amount, expiresAt, reason, target):
            var json = OperationJSON(op: "hold")
            json.reference = reference
            json.amount = amount.micros
            json.expiresAt = timestamp(expiresAt)
            json.reason = reason
            json.refer(target)
            return json
        case let .capture(holdID, amount, reason, reference):
            var json = OperationJSON(op: "capture")
            json.holdID = holdID.uuidString
            json.amount = amount.micros
            json.reason = reason
            json.refer(reference)
            return json
        case let .release(holdID, reason):
            var json = OperationJSON(op: "release")
            json.holdID = holdID.uuidString
            json.reason = reason
            return json
        case let .credit(kind, amount, reason, key, expiresAt):
            var json = OperationJSON(op: "credit")
            json.kind = kind.rawValue
            json.amount = amount.micros
            json.reason = reason
            json.key = key
            json.expiresAt = expiresAt.map(timestamp)
            return json
        }
    }

    static func encode(_ operations: [LedgerOperation]) throws -> String {
        String(decoding: try JSONEncoder().encode(operations.map(json)), as: UTF8.self)
    }

    /// One operation as the JSON object `credit_apply` takes, for statements that pass
    /// it on (the reply worker's capture).
    public static func encode(_ operation: LedgerOperation) throws -> String {
        String(decoding: try JSONEncoder().encode(json(operation)), as: UTF8.self)
    }

    static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }

    struct ResultJSON: Decodable {
        var outcome: String
        var entryID: UUID?
        var holdID: UUID?
        var captured: Int64?
        var uncollected: Int64?
        var balance: Int64
        var held: Int64

        enum CodingKeys: String, CodingKey {
            case outcome, entryID = "entry_id", holdID = "hold_id", captured, uncollected, balance, held
        }
    }

    static func decodeResults(_ text: String) throws -> [LedgerResult] {
        try JSONDecoder().decode([ResultJSON].self, from: Data(text.utf8)).map { result in
            guard let outcome = LedgerResult.Outcome(rawValue: result.outcome) else {
                throw SwitchboardError(.internalError, "the ledger answered an unknown outcome")
            }
            return LedgerResult(
                outcome: outcome, entryID: result.entryID, holdID: result.holdID, captured: result.captured.map(Credits.init(micros:)),
                uncollected: result.uncollected.map(Credits.init(micros:)), balance: Credits(micros: result.balance),
                held: Credits(micros: result.held)
            )
        }
    }
}

/// How spending is grouped in a usage report.
public enum UsageDimension: String, Sendable, CaseIterable {
    case model, agent, channel
}

/// Spending of one model, agent or channel over a period.
public struct UsageLine: Sendable, Hashable {
    /// `provider_kind:model`, an agent id or a channel id; nil for charges without one.
    public var key: String?
    public var charges: Int
    public var spent: Credits
    public var inputTokens: Int64
    public var cachedInputTokens: Int64
    public var outputTokens: Int64
    public var reasoningTokens: Int64
}
