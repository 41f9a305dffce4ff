public import Foundation

/// Latencies counted in fixed buckets, so hours add up to any period and percentiles come
/// from the merged counts. The bounds are those of the SQL function `analytics_bounds()`
/// (a test compares them): bucket `i` counts values in `bounds[i-1] ..< bounds[i]`, the
/// first from 0, the last open.
public struct LatencyHistogram: Sendable, Hashable {
    /// Upper bounds in milliseconds: 100 ms up to a day.
    public static let bounds: [Int] = [
        100, 250, 500, 1000, 2000, 3000, 5000, 10000, 15000, 30000, 60000, 120000, 300000, 600000,
        1_800_000, 3_600_000, 14_400_000, 86_400_000,
    ]

    public private(set) var counts: [Int64]

    public init() {
        counts = Array(repeating: 0, count: Self.bounds.count + 1)
    }

    public init(counts: [Int64]) {
        self.init()
        add(counts)
    }

    /// Adds another histogram's counts (missing buckets count zero).
    public mutating func add(_ other: [Int64]) {
        for (index, count) in other.prefix(counts.count).enumerated() { counts[index] += count }
    }

    public var total: Int64 { counts.reduce(0, +) }

    /// The `q`-quantile in milliseconds, interpolated linearly inside its bucket (the open
    /// last bucket answers its lower bound); `nil` when nothing was counted.
    public func quantile(_ q: Double) -> Double? {
        let total = total
        guard total > 0 else { return nil }
        let rank = min(max(q, 0), 1) * Double(total)
        var below = 0.0
        for (index, count) in counts.enumerated() where count > 0 {
            let through = below + Double(count)
            if through >= rank {
                let lower = index == 0 ? 0 : Double(Self.bounds[index - 1])
                guard index < Self.bounds.count else { return lower }
                let upper = Double(Self.bounds[index])
                return lower + (upper - lower) * max(rank - below, 0) / Double(count)
            }
            below = through
        }
        return Double(Self.bounds[Self.bounds.count - 1])
    }
}

/// A HyperLogLog sketch of the contacts seen (2,048 registers, about 2 % error; exact for
/// small counts by linear counting). The rollups keep one per hour in sparse form, each
/// element `(register << 6) | rank`, as written by the SQL function `analytics_sketch`.
public struct ContactSketch: Sendable, Hashable {
    public static let registerCount = 2048
    private var registers: [UInt8]

    public init() {
        registers = Array(repeating: 0, count: Self.registerCount)
    }

    public init(sparse: [Int32]) {
        self.init()
        add(sparse: sparse)
    }

    /// Merges a sparse sketch: the highest rank per register wins.
    public mutating func add(sparse: [Int32]) {
        for element in sparse { add(element: element) }
    }

    /// Merges one element of a sparse sketch.
    public mutating func add(element: Int32) {
        let register = Int(element >> 6)
        guard register >= 0, register < Self.registerCount else { return }
        registers[register] = max(registers[register], UInt8(truncatingIfNeeded: element & 63))
    }

    /// Merges a sparse sketch packed as the daily rollup keeps it: each element four bytes,
    /// big-endian (`int4send`); a trailing partial element is ignored. A year's summary
    /// merges close to a million elements, so this walks the bytes without copying them.
    public mutating func add(packed bytes: UnsafeRawBufferPointer) {
        registers.withUnsafeMutableBufferPointer { registers in
            var offset = 0
            while offset + 4 <= bytes.count {
                let element = Int32(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: Int32.self))
                offset += 4
                let register = Int(element >> 6)
                guard register >= 0, register < registers.count else { continue }
                registers[register] = max(registers[register], UInt8(truncatingIfNeeded: element & 63))
            }
        }
    }

    /// The estimated number of distinct contacts.
    public var estimate: Int {
        let m = Double(Self.registerCount)
        var sum = 0.0
        var zeros = 0
        for rank in registers {
            sum += 1 / Double(UInt64(1) << UInt64(min(rank, 63)))
            if rank == 0 { zeros += 1 }
        }
        let raw = 0.7213 / (1 + 1.079 / m) * m * m / sum
        if raw <= 2.5 * m, zeros > 0 { return Int((m * log(m / Double(zeros))).rounded()) }
        return Int(raw.rounded())
    }
}

/// The additive counters of the hourly rollup, summed over a bucket or a period.
public struct AnalyticsCounts: Sendable, Hashable {
    public var inbound: Int64 = 0
    public var outbound: Int64 = 0
    public var aiAnswers: Int64 = 0
    public var humanReplies: Int64 = 0
    public var sendFailures: Int64 = 0
    public var replyFailures: Int64 = 0
    public var newContacts: Int64 = 0
    public var conversationsOpened: Int64 = 0
    public var conversationsClosed: Int64 = 0
    public var aiResolved: Int64 = 0
    public var handoffs: Int64 = 0
    public var firstResponses: Int64 = 0
    public var firstResponseMillisecondsSum: Int64 = 0

    public init() {}

    /// Adds another row's counts.
    public mutating func add(_ other: AnalyticsCounts) {
        inbound += other.inbound
        outbound += other.outbound
        aiAnswers += other.aiAnswers
        humanReplies += other.humanReplies
        sendFailures += other.sendFailures
        replyFailures += other.replyFailures
        newContacts += other.newContacts
        conversationsOpened += other.conversationsOpened
        conversationsClosed += other.conversationsClosed
        aiResolved += other.aiResolved
        handoffs += other.handoffs
        firstResponses += other.firstResponses
        firstResponseMillisecondsSum += other.firstResponseMillisecondsSum
    }

    /// Handoffs per conversation opened in the same period (`nil` when none opened).
    public var handoffRate: Double? {
        conversationsOpened > 0 ? Double(handoffs) / Double(conversationsOpened) : nil
    }

    /// Conversations closed without ever going to a person, with an AI answer, per
    /// conversation closed (`nil` when none closed).
    public var aiResolutionRate: Double? {
        conversationsClosed > 0 ? Double(aiResolved) / Double(conversationsClosed) : nil
    }
}

/// Model calls and spend, summed over a bucket, a period, or one model, agent or channel.
public struct ModelCounts: Sendable, Hashable {
    public var calls: Int64 = 0
    public var errors: Int64 = 0
    public var answers: Int64 = 0
    public var fallbacks: Int64 = 0
    public var latencyMillisecondsSum: Int64 = 0
    public var inputTokens: Int64 = 0
    public var cachedInputTokens: Int64 = 0
    public var outputTokens: Int64 = 0
    public var reasoningTokens: Int64 = 0
    public var credits: Credits = Credits(micros: 0)

    public init() {}

    /// Adds another line's counts.
    public mutating func add(_ other: ModelCounts) {
        calls += other.calls
        errors += other.errors
        answers += other.answers
        fallbacks += other.fallbacks
        latencyMillisecondsSum += other.latencyMillisecondsSum
        inputTokens += other.inputTokens
        cachedInputTokens += other.cachedInputTokens
        outputTokens += other.outputTokens
        reasoningTokens += other.reasoningTokens
        credits = Credits(micros: credits.micros + other.credits.micros)
    }
}

/// One line of a breakdown: a provider kind and model, an agent, or a channel.
public struct ModelUsageLine: Sendable, Hashable {
    /// `provider_kind/model`, an agent id or a channel id; `nil` for "none" (a capture with
    /// no agent, a contact with no conversation yet).
    public var key: String?
    public var counts: ModelCounts
    public var latency: LatencyHistogram

    public init(key: String?, counts: ModelCounts, latency: LatencyHistogram) {
        self.key = key
        self.counts = counts
        self.latency = latency
    }

    /// Adds a row's counts and latency histogram.
    public mutating func add(_ other: ModelCounts, latency histogram: [Int64]) {
        counts.add(other)
        latency.add(histogram)
    }
}

/// What a tenant asks the analytics for: a period, and optionally one channel or agent.
public struct AnalyticsFilter: Sendable, Hashable {
    public var from: Date
    public var to: Date
    public var channelID: ChannelID?
    public var agentID: AgentID?

    public init(from: Date, to: Date, channelID: ChannelID? = nil, agentID: AgentID? = nil) {
        self.from = from
        self.to = to
        self.channelID = channelID
        self.agentID = agentID
    }
}

/// How a timeseries cuts its period.
public enum AnalyticsInterval: String, Sendable, CaseIterable {
    case hour, day
}

/// The whole period at once: what `GET /v1/analytics/summary` answers.
public struct AnalyticsSummary: Sendable, Hashable {
    public var figures: AnalyticsFigures
    /// Calls, latency, tokens and credits by `provider_kind/model`, by agent, by channel.
    public var byModel: [ModelUsageLine]
    public var byAgent: [ModelUsageLine]
    public var byChannel: [ModelUsageLine]
    /// When the rollups were last brought up to date.
    public var refreshedAt: Date?

    public init(
        figures: AnalyticsFigures, byModel: [ModelUsageLine], byAgent: [ModelUsageLine], byChannel: [ModelUsageLine],
        refreshedAt: Date?
    ) {
        self.figures = figures
        self.byModel = byModel
        self.byAgent = byAgent
        self.byChannel = byChannel
        self.refreshedAt = refreshedAt
    }
}

/// Every figure a timeseries can carry, with its meaning (the OpenAPI document and the
/// dashboard show these words).
public enum AnalyticsMetric: String, Sendable, CaseIterable {
    case inboundMessages = "inbound_messages"
    case outboundMessages = "outbound_messages"
    case aiAnswers = "ai_answers"
    case humanReplies = "human_replies"
    case sendFailures = "send_failures"
    case replyFailures = "reply_failures"
    case newContacts = "new_contacts"
    case activeContacts = "active_contacts"
    case conversationsOpened = "conversations_opened"
    case conversationsClosed = "conversations_closed"
    case handoffs
    case handoffRate = "handoff_rate"
    case aiResolved = "ai_resolved"
    case aiResolutionRate = "ai_resolution_rate"
    case firstResponseP50 = "first_response_p50_ms"
    case firstResponseP90 = "first_response_p90_ms"
    case answerLatencyP50 = "answer_latency_p50_ms"
    case answerLatencyP90 = "answer_latency_p90_ms"
    case providerCalls = "provider_calls"
    case providerErrors = "provider_errors"
    case fallbacks
    case inputTokens = "input_tokens"
    case cachedInputTokens = "cached_input_tokens"
    case outputTokens = "output_tokens"
    case reasoningTokens = "reasoning_tokens"
    case creditsSpent = "credits_spent_micros"

    /// Where the figure comes from, so a timeseries reads only what it needs.
    public enum Source: Sendable { case counts, contacts, firstResponse, models, answerLatency }

    public var source: Source {
        switch self {
        case .activeContacts: .contacts
        case .firstResponseP50, .firstResponseP90: .firstResponse
        case .answerLatencyP50, .answerLatencyP90: .answerLatency
        case .providerCalls, .providerErrors, .fallbacks, .inputTokens, .cachedInputTokens, .outputTokens, .reasoningTokens,
             .creditsSpent: .models
        default: .counts
        }
    }

    public var meaning: String {
        switch self {
        case .inboundMessages: "Messages received from contacts (each platform message once; edits and redeliveries are not counted again)."
        case .outboundMessages: "Messages sent to contacts: AI answers and people's replies."
        case .aiAnswers: "Answers written by an agent (one at most per inbound message, however many retries it took)."
        case .humanReplies: "Replies written by a person through the API."
        case .sendFailures: "Outbound messages whose delivery failed after the last attempt."
        case .replyFailures: "Inbound messages the agent could not answer after the last attempt."
        case .newContacts: "Contacts seen for the first time (on the channel of their first conversation)."
        case .activeContacts: "Distinct contacts who wrote at least one message (HyperLogLog estimate, about 2 % error; exact for small counts)."
        case .conversationsOpened: "Conversations opened."
        case .conversationsClosed: "Conversations closed (a conversation reopened and closed again counts each close)."
        case .handoffs: "Conversations handed to a person: by keyword, by the API, by the local provider finding no answer, or for lack of credits."
        case .handoffRate: "Handoffs per conversation opened in the same period (null when none opened)."
        case .aiResolved: "Closed conversations that had an AI answer and were never handed to a person."
        case .aiResolutionRate: "ai_resolved per conversation closed in the same period (null when none closed)."
        case .firstResponseP50: "Median time from a conversation's opening to its first answer (AI or person), in milliseconds, from histogram buckets."
        case .firstResponseP90: "90th percentile of the first response time, in milliseconds, from histogram buckets."
        case .answerLatencyP50: "Median latency of the model calls that answered, in milliseconds, from histogram buckets."
        case .answerLatencyP90: "90th percentile of the model call latency, in milliseconds, from histogram buckets."
        case .providerCalls: "Calls made to model providers, retries and fallbacks included (targets skipped while cooling down are not calls)."
        case .providerErrors: "Provider calls that failed (each failed attempt counts)."
        case .fallbacks: "Answers written by another provider or model than the agent's own."
        case .inputTokens: "Prompt tokens of all provider calls, cached ones excluded."
        case .cachedInputTokens: "Prompt tokens served from the provider's cache."
        case .outputTokens: "Tokens generated, reasoning excluded."
        case .reasoningTokens: "Reasoning tokens generated."
        case .creditsSpent: "Credits captured for answers and message fees, in micro-credits."
        }
    }
}

/// The figures of one bucket of a timeseries, or of a whole period: everything a metric
/// is computed from.
public struct AnalyticsFigures: Sendable, Hashable {
    public var counts = AnalyticsCounts()
    public var activeContacts = 0
    public var firstResponse = LatencyHistogram()
    public var models = ModelCounts()
    public var answerLatency = LatencyHistogram()

    public init() {}

    /// The metric's value: a count, a rate, milliseconds or micro-credits; `nil` where it
    /// is undefined (a rate over nothing, a percentile of no latencies).
    public func value(of metric: AnalyticsMetric) -> Double? {
        switch metric {
        case .inboundMessages: Double(counts.inbound)
        case .outboundMessages: Double(counts.outbound)
        case .aiAnswers: Double(counts.aiAnswers)
        case .humanReplies: Double(counts.humanReplies)
        case .sendFailures: Double(counts.sendFailures)
        case .replyFailures: Double(counts.replyFailures)
        case .newContacts: Double(counts.newContacts)
        case .activeContacts: Double(activeContacts)
        case .conversationsOpened: Double(counts.conversationsOpened)
        case .conversationsClosed: Double(counts.conversationsClosed)
        case .handoffs: Double(counts.handoffs)
        case .handoffRate: counts.handoffRate
        case .aiResolved: Double(counts.aiResolved)
        case .aiResolutionRate: counts.aiResolutionRate
        case .firstResponseP50: firstResponse.quantile(0.5)
        case .firstResponseP90: firstResponse.quantile(0.9)
        case .answerLatencyP50: answerLatency.quantile(0.5)
        case .answerLatencyP90: answerLatency.quantile(0.9)
        case .providerCalls: Double(models.calls)
        case .providerErrors: Double(models.errors)
        case .fallbacks: Double(models.fallbacks)
        case .inputTokens: Double(models.inputTokens)
        case .cachedInputTokens: Double(models.cachedInputTokens)
        case .outputTokens: Double(models.outputTokens)
        case .reasoningTokens: Double(models.reasoningTokens)
        case .creditsSpent: Double(models.credits.micros)
        }
    }
}

/// One point of a timeseries: the bucket's start and the metric's value there.
public struct AnalyticsPoint: Sendable, Hashable {
    public var start: Date
    public var value: Double?

    public init(start: Date, value: Double?) {
        self.start = start
        self.value = value
    }
}
