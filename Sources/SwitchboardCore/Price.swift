/// What a model's tokens cost: micro-credits per million tokens of each kind the
/// providers bill, and an optional fee per agent message.
///
/// The token kinds are the normalized ones (`TokenCounts`): uncached input, cached input,
/// output without reasoning, reasoning — disjoint, so each token is priced once whatever
/// the provider's own semantics were.
public struct Price: Sendable, Hashable {
    public var providerKind: ProviderKind
    /// A model name, or `*` for every model of the kind without a row of its own.
    public var model: String
    public var inputPerMillion: Int64
    public var cachedInputPerMillion: Int64
    public var outputPerMillion: Int64
    public var reasoningPerMillion: Int64
    public var messageFee: Credits
    /// Whether this is the tenant's own price rather than the platform's.
    public var isOverride: Bool

    public static let anyModel = "*"
    /// The highest price per million tokens (or fee) the price book takes: a million credits.
    public static let maximumMicros: Int64 = 1_000_000_000_000

    public init(
        providerKind: ProviderKind, model: String, inputPerMillion: Int64, cachedInputPerMillion: Int64, outputPerMillion: Int64,
        reasoningPerMillion: Int64, messageFee: Credits = .zero, isOverride: Bool = false
    ) {
        self.providerKind = providerKind
        self.model = model
        self.inputPerMillion = inputPerMillion
        self.cachedInputPerMillion = cachedInputPerMillion
        self.outputPerMillion = outputPerMillion
        self.reasoningPerMillion = reasoningPerMillion
        self.messageFee = messageFee
        self.isOverride = isOverride
    }

    /// The cost of one call: every kind of token at its price, summed exactly, then
    /// rounded up to the next micro-credit — once per call, never per token kind — plus
    /// the message fee when the call produced the agent's message.
    public func cost(of usage: TokenCounts, withMessageFee: Bool = true) -> Credits {
        let tokens: [(Int, Int64)] = [
            (usage.input, inputPerMillion), (usage.cachedInput, cachedInputPerMillion),
            (usage.output, outputPerMillion), (usage.reasoning, reasoningPerMillion),
        ]
        let scaled = tokens.reduce(Int128(0)) { $0 + Int128(max($1.0, 0)) * Int128($1.1) }
        let fee = withMessageFee ? Int128(messageFee.micros) : 0
        return Credits(micros: Self.clamp(Self.divideRoundingUp(scaled, by: 1_000_000) + fee))
    }

    /// The most a call can cost: `inputTokens` (an upper bound of the prompt) at the
    /// dearer of the input prices, and every one of `maxOutputTokens` at the dearer of
    /// output and reasoning (reasoning counts against the output limit), plus the fee.
    public func worstCase(inputTokens: Int, maxOutputTokens: Int) -> Credits {
        let input = Int128(max(inputTokens, 0)) * Int128(max(inputPerMillion, cachedInputPerMillion))
        let output = Int128(max(maxOutputTokens, 0)) * Int128(max(outputPerMillion, reasoningPerMillion))
        return Credits(micros: Self.clamp(Self.divideRoundingUp(input + output, by: 1_000_000) + Int128(messageFee.micros)))
    }

    static func divideRoundingUp(_ value: Int128, by divisor: Int128) -> Int128 {
        (value + divisor - 1) / divisor
    }

    static func clamp(_ value: Int128) -> Int64 {
        value > Int128(Int64.max) ? Int64.max : Int64(value)
    }
}

/// The prices a tenant pays: its own rows first, then the platform's; an exact model
/// before the kind's `*` row.
public struct PriceBook: Sendable {
    public var prices: [Price]

    public init(_ prices: [Price]) { self.prices = prices }

    public func price(kind: ProviderKind, model: String) -> Price? {
        let candidates = prices.filter { $0.providerKind == kind }
        for isOverride in [true, false] {
            if let exact = candidates.first(where: { $0.isOverride == isOverride && $0.model == model }) { return exact }
            if let any = candidates.first(where: { $0.isOverride == isOverride && $0.model == Price.anyModel }) { return any }
        }
        return nil
    }
}
