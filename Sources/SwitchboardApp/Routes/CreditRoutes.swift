import Foundation
import Hummingbird
import Logging
import SwitchboardCore
import SwitchboardPostgres

/// Credits over the API: the tenant's account, ledger, usage and prices under `/v1`; top-ups
/// and the price book under `/admin`.
struct CreditRoutes: Sendable {
    let ledger: PostgresCreditStore
    let tenants: any TenantStore

    // MARK: Answers

    struct AccountResponse: APIResource {
        var balanceMicros: Int64
        var heldMicros: Int64
        var availableMicros: Int64
        var lowBalance: Bool
        var lowBalanceThresholdMicros: Int64
        var lowBalanceSince: Date?

        init(_ account: CreditAccount) {
            balanceMicros = account.balance.micros
            heldMicros = account.held.micros
            availableMicros = account.available.micros
            lowBalance = account.isLow
            lowBalanceThresholdMicros = account.lowBalanceThreshold.micros
            lowBalanceSince = account.lowBalanceSince
        }

        enum CodingKeys: String, CodingKey { case balanceMicros = "balance_micros", heldMicros = "held_micros", availableMicros = "available_micros", lowBalance = "low_balance", lowBalanceThresholdMicros = "low_balance_threshold_micros", lowBalanceSince = "low_balance_since" }
    }

    struct EntryResponse: APIResource {
        var id: String
        var kind: String
        var amountMicros: Int64
        var heldDeltaMicros: Int64
        var balanceAfterMicros: Int64
        var heldAfterMicros: Int64
        var reason: String
        var holdId: String?
        var referenceKind: String?
        var referenceId: String?
        var agentId: String?
        var channelId: String?
        var messageId: String?
        var providerKind: String?
        var model: String?
        var inputTokens: Int?
        var cachedInputTokens: Int?
        var outputTokens: Int?
        var reasoningTokens: Int?
        var uncollectedMicros: Int64
        var expiresAt: Date?
        var createdAt: Date

        init(_ entry: LedgerEntry) {
            id = entry.id.uuidString.lowercased()
            kind = entry.kind.rawValue
            amountMicros = entry.amount.micros
            heldDeltaMicros = entry.heldDelta.micros
            balanceAfterMicros = entry.balanceAfter.micros
            heldAfterMicros = entry.heldAfter.micros
            reason = entry.reason
            holdId = entry.holdID?.uuidString.lowercased()
            referenceKind = entry.referenceKind
            referenceId = entry.referenceID
            agentId = entry.agentID?.description
            channelId = entry.channelID?.description
            messageId = entry.messageID?.description
            providerKind = entry.providerKind
            model = entry.model
            inputTokens = entry.tokens?.input
            cachedInputTokens = entry.tokens?.cachedInput
            outputTokens = entry.tokens?.output
            reasoningTokens = entry.tokens?.reasoning
            uncollectedMicros = entry.uncollected.micros
            expiresAt = entry.expiresAt
            createdAt = entry.createdAt
        }

        enum CodingKeys: String, CodingKey { case id, kind, amountMicros = "amount_micros", heldDeltaMicros = "held_delta_micros", balanceAfterMicros = "balance_after_micros", heldAfterMicros = "held_after_micros", reason, holdId = "hold_id", referenceKind = "reference_kind", referenceId = "reference_id", agentId = "agent_id", channelId = "channel_id", messageId = "message_id", providerKind = "provider_kind", model, inputTokens = "input_tokens", cachedInputTokens = "cached_input_tokens", outputTokens = "output_tokens", reasoningTokens = "reasoning_tokens", uncollectedMicros = "uncollected_micros", expiresAt = "expires_at", createdAt = "created_at" }
    }

    struct PriceResponse: APIResource {
        var providerKind: String
        var model: String
        var inputMicrosPerMillion: Int64
        var cachedInputMicrosPerMillion: Int64
        var outputMicrosPerMillion: Int64
        var reasoningMicrosPerMillion: Int64
        var messageFeeMicros: Int64
        var source: String

        init(_ price: Price) {
            providerKind = price.providerKind.rawValue
            model = price.model
            inputMicrosPerMillion = price.inputPerMillion
            cachedInputMicrosPerMillion = price.cachedInputPerMillion
            outputMicrosPerMillion = price.outputPerMillion
            reasoningMicrosPerMillion = price.reasoningPerMillion
            messageFeeMicros = price.messageFee.micros
            source = price.isOverride ? "tenant" : "platform"
        }

        enum CodingKeys: String, CodingKey { case providerKind = "provider_kind", model, inputMicrosPerMillion = "input_micros_per_million", cachedInputMicrosPerMillion = "cached_input_micros_per_million", outputMicrosPerMillion = "output_micros_per_million", reasoningMicrosPerMillion = "reasoning_micros_per_million", messageFeeMicros = "message_fee_micros", source }
    }

    struct UsageResponse: APIResource {
        struct Line: Encodable, Sendable {
            var key: String?
            var charges: Int
            var spentMicros: Int64
            var inputTokens: Int64
            var cachedInputTokens: Int64
            var outputTokens: Int64
            var reasoningTokens: Int64

            enum CodingKeys: String, CodingKey { case key, charges, spentMicros = "spent_micros", inputTokens = "input_tokens", cachedInputTokens = "cached_input_tokens", outputTokens = "output_tokens", reasoningTokens = "reasoning_tokens" }
        }

        var groupBy: String
        var from: Date
        var to: Date
        var totalMicros: Int64
        var data: [Line]

        enum CodingKeys: String, CodingKey { case groupBy = "group_by", from, to, totalMicros = "total_micros", data }
    }

    // MARK: Bodies

    struct ThresholdBody: RequestBody {
        var lowBalanceThresholdMicros: Int64

        enum CodingKeys: String, CodingKey, CaseIterable {
            case lowBalanceThresholdMicros = "low_balance_threshold_micros"
        }
    }

    struct TopUpBody: RequestBody {
        var amountMicros: Int64
        var reason: String
        var kind: String?
        var expiresAt: Date?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case amountMicros = "amount_micros", reason, kind, expiresAt = "expires_at"
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            amountMicros = try container.decode(Int64.self, forKey: .amountMicros)
            reason = try container.decode(String.self, forKey: .reason)
            kind = try container.decodeIfPresent(String.self, forKey: .kind)
            if let text = try container.decodeIfPresent(String.self, forKey: .expiresAt) {
                guard let date = ISO8601DateFormatter().date(from: text) else {
                    throw SwitchboardError.invalid("expires_at must be an RFC 3339 time", field: "expires_at")
                }
                expiresAt = date
            }
        }
    }

    struct PriceBody: RequestBody {
        var providerKind: String
        var model: String
        var inputMicrosPerMillion: Int64
        var cachedInputMicrosPerMillion: Int64?
        var outputMicrosPerMillion: Int64
        var reasoningMicrosPerMillion: Int64?
        var messageFeeMicros: Int64?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case providerKind = "provider_kind", model, inputMicrosPerMillion = "input_micros_per_million"
            case cachedInputMicrosPerMillion = "cached_input_micros_per_million", outputMicrosPerMillion = "output_micros_per_million"
            case reasoningMicrosPerMillion = "reasoning_micros_per_million", messageFeeMicros = "message_fee_micros"
        }

        func price() throws -> Price {
            guard let kind = ProviderKind(rawValue: providerKind) else {
                throw SwitchboardError.invalid(
                    "provider_kind must be one of \(ProviderKind.allCases.map(\.rawValue).joined(separator: ", "))", field: "provider_kind"
                )
            }
            let model = try FieldRule.shortName.check(model, field: "model")
            func amount(_ value: Int64?, _ field: CodingKeys) throws -> Int64 {
                let value = value ?? 0
                guard (0...Price.maximumMicros).contains(value) else {
                    throw SwitchboardError.invalid("\(field.stringValue) must be from 0 to \(Price.maximumMicros)", field: field.stringValue)
                }
                return value
            }
            let input = try amount(inputMicrosPerMillion, .inputMicrosPerMillion)
            let output = try amount(outputMicrosPerMillion, .outputMicrosPerMillion)
            return Price(
                providerKind: kind, model: model, inputPerMillion: input,
                // Unset, cached input costs what input costs and reasoning what output costs.
                cachedInputPerMillion: try amount(cachedInputMicrosPerMillion ?? input, .cachedInputMicrosPerMillion),
                outputPerMillion: output, reasoningPerMillion: try amount(reasoningMicrosPerMillion ?? output, .reasoningMicrosPerMillion),
                messageFee: Credits(micros: try amount(messageFeeMicros, .messageFeeMicros))
            )
        }
    }

    /// The longest period a usage report covers.
    static let maximumUsagePeriod: TimeInterval = 400 * 86_400

    // MARK: Routes

    func add(to group: RouterGroup<TenantRequestContext>) {
        group.get("/credits") { _, context in
            try JSONBody.response(AccountResponse(try await ledger.account(context.tenantID)))
        }
        group.patch("/credits") { request, context in
            let body = try await JSONBody.decode(ThresholdBody.self, from: request, context: context)
            guard body.lowBalanceThresholdMicros >= 0 else {
                throw SwitchboardError.invalid("low_balance_threshold_micros must be zero or more", field: "low_balance_threshold_micros")
            }
            try await ledger.setLowBalanceThreshold(context.tenantID, Credits(micros: body.lowBalanceThresholdMicros))
            return try JSONBody.response(AccountResponse(try await ledger.account(context.tenantID)))
        }
        group.get("/credits/ledger") { request, context in
            let query = request.uri.queryParameters
            var kinds: [LedgerEntry.Kind] = []
            if let text = query["kind"].map(String.init) {
                for name in text.split(separator: ",") {
                    guard let kind = LedgerEntry.Kind(rawValue: String(name)) else {
                        throw SwitchboardError.invalid(
                            "kind must be one of \(LedgerEntry.Kind.allCases.map(\.rawValue).joined(separator: ", "))", field: "kind"
                        )
                    }
                    kinds.append(kind)
                }
            }
            let from = try Self.time(query["from"].map(String.init), field: "from")
            let to = try Self.time(query["to"].map(String.init), field: "to")
            if let from, let to, from > to { throw SwitchboardError.invalid("from must not be after to", field: "from") }
            let page = try await ledger.entries(context.tenantID, page: try request.pageRequest(), kinds: kinds, from: from, to: to)
            return try JSONBody.response(ListResponse(data: page.data.map(EntryResponse.init), nextCursor: page.nextCursor))
        }
        group.get("/credits/usage") { request, context in
            let query = request.uri.queryParameters
            let dimension = try query["group_by"].map(String.init).map { name in
                guard let dimension = UsageDimension(rawValue: name) else {
                    throw SwitchboardError.invalid("group_by must be model, agent or channel", field: "group_by")
                }
                return dimension
            } ?? .model
            let to = try Self.time(query["to"].map(String.init), field: "to") ?? Date()
            let from = try Self.time(query["from"].map(String.init), field: "from") ?? to.addingTimeInterval(-30 * 86_400)
            guard from <= to else { throw SwitchboardError.invalid("from must not be after to", field: "from") }
            guard to.timeIntervalSince(from) <= Self.maximumUsagePeriod else {
                throw SwitchboardError.invalid("the period may cover at most 400 days", field: "from")
            }
            let lines = try await ledger.usage(context.tenantID, from: from, to: to, by: dimension)
            return try JSONBody.response(UsageResponse(
                groupBy: dimension.rawValue, from: from, to: to, totalMicros: lines.reduce(0) { $0 + $1.spent.micros },
                data: lines.map {
                    .init(
                        key: $0.key, charges: $0.charges, spentMicros: $0.spent.micros, inputTokens: $0.inputTokens,
                        cachedInputTokens: $0.cachedInputTokens, outputTokens: $0.outputTokens, reasoningTokens: $0.reasoningTokens
                    )
                }
            ))
        }
        group.get("/prices") { _, context in
            let book = try await ledger.priceBook(context.tenantID)
            // The prices in force: where the tenant has its own, the platform's row is shadowed.
            let own = Set(book.prices.filter(\.isOverride).map { "\($0.providerKind.rawValue)/\($0.model)" })
            let effective = book.prices.filter { $0.isOverride || !own.contains("\($0.providerKind.rawValue)/\($0.model)") }
            return try JSONBody.response(ListResponse(data: effective.map(PriceResponse.init), nextCursor: nil))
        }
    }

    func addOperator(to group: RouterGroup<AppRequestContext>) {
        group.post("/tenants/{id}/credits") { request, context in
            let tenant = try Self.tenantID(context.parameters.get("id"))
            let body = try await JSONBody.decode(TopUpBody.self, from: request, context: context)
            guard body.amountMicros > 0 else {
                throw SwitchboardError.invalid("amount_micros must be a positive integer", field: "amount_micros")
            }
            let reason = try FieldRule.topUpReason.check(body.reason, field: "reason")
            let kind = try body.kind.map { name in
                guard let kind = LedgerEntry.Kind(rawValue: name), [.topUp, .grant, .refund].contains(kind) else {
                    throw SwitchboardError.invalid("kind must be top_up, grant or refund", field: "kind")
                }
                return kind
            } ?? .topUp
            if let expiresAt = body.expiresAt, expiresAt <= Date() {
                throw SwitchboardError.invalid("expires_at must be in the future", field: "expires_at")
            }
            _ = try await tenants.tenant(tenant)
            // The key makes a retried top-up land once even past the 24 hours the
            // Idempotency-Key middleware remembers answers.
            let key = request.headers[IdempotencyMiddleware<AppRequestContext>.header].map { "top_up:\($0)" }
            let result = try await ledger.apply(
                tenant, [.credit(kind: kind, amount: Credits(micros: body.amountMicros), reason: reason, key: key, expiresAt: body.expiresAt)]
            )[0]
            guard let entryID = result.entryID, let entry = try await ledger.entry(tenant, entryID) else {
                throw SwitchboardError(.internalError, "the top-up was not recorded")
            }
            context.logger.info(
                "credits added", metadata: ["tenant.id": "\(tenant)", "credits.micros": "\(body.amountMicros)", "outcome": "\(result.outcome)"]
            )
            return try JSONBody.response(EntryResponse(entry), status: result.outcome == .duplicate ? .ok : .created)
        }
        group.get("/prices") { _, _ in
            let prices = try await ledger.operatorPrices(tenant: nil)
            return try JSONBody.response(ListResponse(data: prices.map(PriceResponse.init), nextCursor: nil))
        }
        group.put("/prices") { request, context in
            let price = try await JSONBody.decode(PriceBody.self, from: request, context: context).price()
            try await ledger.setPrice(price, tenant: nil)
            return try JSONBody.response(PriceResponse(price))
        }
        group.get("/tenants/{id}/prices") { _, context in
            let tenant = try Self.tenantID(context.parameters.get("id"))
            _ = try await tenants.tenant(tenant)
            let prices = try await ledger.operatorPrices(tenant: tenant)
            return try JSONBody.response(ListResponse(data: prices.map(PriceResponse.init), nextCursor: nil))
        }
        group.put("/tenants/{id}/prices") { request, context in
            let tenant = try Self.tenantID(context.parameters.get("id"))
            var price = try await JSONBody.decode(PriceBody.self, from: request, context: context).price()
            _ = try await tenants.tenant(tenant)
            try await ledger.setPrice(price, tenant: tenant)
            price.isOverride = true
            return try JSONBody.response(PriceResponse(price))
        }
    }

    static func tenantID(_ text: String?) throws -> TenantID {
        guard let id = text.flatMap({ TenantID($0) }) else { throw SwitchboardError.notFound("tenant") }
        return id
    }

    static func time(_ text: String?, field: String) throws -> Date? {
        guard let text else { return nil }
        let formatter = ISO8601DateFormatter()
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        throw SwitchboardError.invalid("\(field) must be an RFC 3339 time, like 2026-01-31T00:00:00Z", field: field)
    }
}
