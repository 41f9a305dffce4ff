import Foundation
import HTTPTypes
import Hummingbird
import SwitchboardCore
import SwitchboardPostgres

/// The analytics under `/v1/analytics`: the summary of a period and one metric's
/// timeseries, as JSON or CSV (`Accept: text/csv`, or `format=csv` for a browser link).
struct AnalyticsRoutes: Sendable {
    let store: PostgresAnalyticsStore
    let now: @Sendable () -> Date

    /// The longest period: 400 days, at either interval.
    static let maximumPeriod: TimeInterval = 400 * 86_400
    static let defaultPeriod: TimeInterval = 30 * 86_400

    /// What a request asks for: the period, the filter, the time zone.
    struct Parameters: Sendable {
        var filter: AnalyticsFilter
        var timeZone: TimeZone
        var timeZoneName: String

        /// Reads `from`, `to`, `tz`, `channel_id` and `agent_id`. Times are RFC 3339, or a
        /// date (`2026-01-31`) meaning midnight in `tz`. Each bad value is `invalid_request`
        /// naming its parameter; a channel or agent id that is not a UUID is not found.
        init(_ query: [String: String], now: Date) throws {
            let name = query["tz"] ?? "UTC"
            guard let zone = Self.timeZone(name) else {
                throw SwitchboardError.invalid("tz must be an IANA time zone name, like UTC or Asia/Almaty", field: "tz")
            }
            timeZone = zone
            timeZoneName = name
            let named = try Self.time(query["from"], field: "from", zone: zone)
            let to = try Self.time(query["to"], field: "to", zone: zone) ?? now
            let from = named ?? to.addingTimeInterval(-AnalyticsRoutes.defaultPeriod)
            guard from < to else { throw SwitchboardError.invalid("from must be before to", field: "from") }
            guard to.timeIntervalSince(from) <= AnalyticsRoutes.maximumPeriod else {
                throw SwitchboardError.invalid("the period may cover at most 400 days", field: "from")
            }
            var channel: ChannelID?
            if let text = query["channel_id"] {
                guard let id = ChannelID(text) else { throw SwitchboardError(.notFound, "channel not found", field: "channel_id") }
                channel = id
            }
            var agent: AgentID?
            if let text = query["agent_id"] {
                guard let id = AgentID(text) else { throw SwitchboardError(.notFound, "agent not found", field: "agent_id") }
                agent = id
            }
            filter = AnalyticsFilter(from: from, to: to, channelID: channel, agentID: agent)
        }

        /// An IANA zone both Foundation and PostgreSQL know: names of letters, digits and
        /// `/_+-` only, which also keeps them safe as an SQL literal.
        static func timeZone(_ name: String) -> TimeZone? {
            let allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/_+-")
            guard !name.isEmpty, name.count <= 64, name.unicodeScalars.allSatisfy(allowed.contains) else { return nil }
            guard name == "UTC" || knownZones.contains(name) else { return nil }
            return TimeZone(identifier: name)
        }

        /// The zone names, listed once (Foundation builds the list anew on every call).
        static let knownZones = Set(TimeZone.knownTimeZoneIdentifiers)

        /// The earliest and latest times a period may name.
        static let earliest = Date(timeIntervalSince1970: 946_684_800)  // 2000-01-01
        static let latest = Date(timeIntervalSince1970: 4_102_444_800)  // 2100-01-01

        static func time(_ text: String?, field: String, zone: TimeZone) throws -> Date? {
            guard let text else { return nil }
            var date: Date?
            let formatter = ISO8601DateFormatter()
            date = formatter.date(from: text)
            if date == nil {
                formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
                date = formatter.date(from: text)
            }
            if date == nil, text.count == 10 {
                formatter.formatOptions = [.withFullDate, .withDashSeparatorInDate]
                formatter.timeZone = zone
                date = formatter.date(from: text)
            }
            guard let date else {
                throw SwitchboardError.invalid("\(field) must be an RFC 3339 time or a date, like 2026-01-31T00:00:00Z or 2026-01-31", field: field)
            }
            guard date >= earliest, date <= latest else {
                throw SwitchboardError.invalid("\(field) must be between 2000 and 2100", field: field)
            }
            return date
        }
    }

    // MARK: Answers

    struct BreakdownLine: Encodable, Sendable {
        var key: String?
        var calls: Int64
        var errors: Int64
        var answers: Int64
        var fallbacks: Int64
        var latencyP50Ms: Double?
        var latencyP90Ms: Double?
        var inputTokens: Int64
        var cachedInputTokens: Int64
        var outputTokens: Int64
        var reasoningTokens: Int64
        var creditsSpentMicros: Int64

        init(_ line: ModelUsageLine) {
            key = line.key
            calls = line.counts.calls
            errors = line.counts.errors
            answers = line.counts.answers
            fallbacks = line.counts.fallbacks
            latencyP50Ms = line.latency.quantile(0.5).map(AnalyticsRoutes.milliseconds)
            latencyP90Ms = line.latency.quantile(0.9).map(AnalyticsRoutes.milliseconds)
            inputTokens = line.counts.inputTokens
            cachedInputTokens = line.counts.cachedInputTokens
            outputTokens = line.counts.outputTokens
            reasoningTokens = line.counts.reasoningTokens
            creditsSpentMicros = line.counts.credits.micros
        }

        enum CodingKeys: String, CodingKey { case key, calls, errors, answers, fallbacks, latencyP50Ms = "latency_p50_ms", latencyP90Ms = "latency_p90_ms", inputTokens = "input_tokens", cachedInputTokens = "cached_input_tokens", outputTokens = "output_tokens", reasoningTokens = "reasoning_tokens", creditsSpentMicros = "credits_spent_micros" }
    }

    struct SummaryResponse: APIResource {
        var from: Date
        var to: Date
        var channelId: String?
        var agentId: String?
        var refreshedAt: Date?
        /// Every metric of `AnalyticsMetric`, by name.
        var metrics: [String: Double?]
        var byModel: [BreakdownLine]
        var byAgent: [BreakdownLine]
        var byChannel: [BreakdownLine]

        init(_ summary: AnalyticsSummary, filter: AnalyticsFilter) {
            from = filter.from
            to = filter.to
            channelId = filter.channelID?.description
            agentId = filter.agentID?.description
            refreshedAt = summary.refreshedAt
            metrics = Dictionary(uniqueKeysWithValues: AnalyticsMetric.allCases.map {
                ($0.rawValue, AnalyticsRoutes.rounded(summary.figures.value(of: $0), for: $0))
            })
            byModel = summary.byModel.map(BreakdownLine.init)
            byAgent = summary.byAgent.map(BreakdownLine.init)
            byChannel = summary.byChannel.map(BreakdownLine.init)
        }

        enum CodingKeys: String, CodingKey { case from, to, channelId = "channel_id", agentId = "agent_id", refreshedAt = "refreshed_at", metrics, byModel = "by_model", byAgent = "by_agent", byChannel = "by_channel" }
    }

    struct Point: Encodable, Sendable {
        var start: String
        /// `null` where the metric is undefined (a rate over nothing): written, not left out.
        var value: Double?

        enum CodingKeys: String, CodingKey { case start, value }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(start, forKey: .start)
            try container.encode(value, forKey: .value)
        }
    }

    struct TimeseriesResponse: APIResource {
        var metric: String
        var meaning: String
        var interval: String
        var tz: String
        var from: Date
        var to: Date
        var channelId: String?
        var agentId: String?
        var points: [Point]

        enum CodingKeys: String, CodingKey { case metric, meaning, interval, tz, from, to, channelId = "channel_id", agentId = "agent_id", points }
    }

    /// Percentiles to a tenth of a millisecond, rates to four places; counts as they are.
    static func rounded(_ value: Double?, for metric: AnalyticsMetric) -> Double? {
        guard let value else { return nil }
        switch metric {
        case .handoffRate, .aiResolutionRate: return (value * 10_000).rounded() / 10_000
        case .firstResponseP50, .firstResponseP90, .answerLatencyP50, .answerLatencyP90: return milliseconds(value)
        default: return value
        }
    }

    static func milliseconds(_ value: Double) -> Double { (value * 10).rounded() / 10 }

    /// A formatter of bucket starts in the request's time zone, with its offset
    /// (`2026-03-01T00:00:00+05:00`). One per request: making one costs more than using it.
    static func localTimes(zone: TimeZone) -> ISO8601DateFormatter {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = zone
        formatter.formatOptions = [.withInternetDateTime]
        return formatter
    }

    // MARK: Routes

    func add(to group: RouterGroup<TenantRequestContext>) {
        group.get("/analytics/summary") { request, context in
            let parameters = try Parameters(Self.query(request), now: now())
            let csv = try Self.wantsCSV(request)
            let summary = try await store.summary(context.tenantID, parameters.filter)
            if csv { return Self.csv(Self.summaryCSV(summary), filename: "analytics-summary.csv") }
            return try JSONBody.response(SummaryResponse(summary, filter: parameters.filter))
        }
        group.get("/analytics/timeseries") { request, context in
            let query = Self.query(request)
            let (metric, interval) = try Self.metricAndInterval(query)
            let parameters = try Parameters(query, now: now())
            let csv = try Self.wantsCSV(request)
            let points = try await store.timeseries(
                context.tenantID, parameters.filter, metric: metric,
                bucketing: interval == .hour ? .hour : .day(timeZone: parameters.timeZoneName)
            )
            let formatter = Self.localTimes(zone: parameters.timeZone)
            let rows = points.map { Point(start: formatter.string(from: $0.start), value: Self.rounded($0.value, for: metric)) }
            if csv {
                let lines = ["start,\(metric.rawValue)"] + rows.map { "\($0.start),\($0.value.map(Self.number) ?? "")" }
                return Self.csv(lines.joined(separator: "\r\n") + "\r\n", filename: "analytics-\(metric.rawValue).csv")
            }
            return try JSONBody.response(TimeseriesResponse(
                metric: metric.rawValue, meaning: metric.meaning, interval: interval.rawValue, tz: parameters.timeZoneName,
                from: parameters.filter.from, to: parameters.filter.to, channelId: parameters.filter.channelID?.description,
                agentId: parameters.filter.agentID?.description, points: rows
            ))
        }
    }

    static func query(_ request: Request) -> [String: String] {
        var values: [String: String] = [:]
        for (key, value) in request.uri.queryParameters { values[String(key)] = String(value) }
        return values
    }

    static func metricAndInterval(_ query: [String: String]) throws -> (AnalyticsMetric, AnalyticsInterval) {
        let names = AnalyticsMetric.allCases.map(\.rawValue).joined(separator: ", ")
        guard let name = query["metric"] else { throw SwitchboardError.invalid("metric is required: one of \(names)", field: "metric") }
        guard let metric = AnalyticsMetric(rawValue: name) else {
            throw SwitchboardError.invalid("metric must be one of \(names)", field: "metric")
        }
        let interval = try query["interval"].map { name in
            guard let interval = AnalyticsInterval(rawValue: name) else {
                throw SwitchboardError.invalid("interval must be hour or day", field: "interval")
            }
            return interval
        } ?? .day
        return (metric, interval)
    }

    // MARK: CSV

    /// `format=csv` (the only format there is: another is `invalid_request`), or `Accept: text/csv`.
    static func wantsCSV(_ request: Request) throws -> Bool {
        if let format = request.uri.queryParameters["format"] {
            guard format == "csv" else { throw SwitchboardError.invalid("format must be csv", field: "format") }
            return true
        }
        return request.headers[.accept]?.lowercased().contains("text/csv") ?? false
    }

    static func csv(_ text: String, filename: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/csv; charset=utf-8"
        headers[.contentDisposition] = "attachment; filename=\"\(filename)\""
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }

    /// The summary as `metric,breakdown,key,value` rows: every metric for the whole
    /// period, then each model's, agent's and channel's calls, latency, tokens and spend.
    static func summaryCSV(_ summary: AnalyticsSummary) -> String {
        var lines = ["metric,breakdown,key,value"]
        for metric in AnalyticsMetric.allCases {
            lines.append("\(metric.rawValue),,,\(rounded(summary.figures.value(of: metric), for: metric).map(number) ?? "")")
        }
        for (breakdown, rows) in [("model", summary.byModel), ("agent", summary.byAgent), ("channel", summary.byChannel)] {
            for row in rows {
                let line = BreakdownLine(row)
                let key = csvField(row.key ?? "")
                let values: [(String, Double?)] = [
                    ("provider_calls", Double(line.calls)), ("provider_errors", Double(line.errors)), ("fallbacks", Double(line.fallbacks)),
                    ("answer_latency_p50_ms", line.latencyP50Ms), ("answer_latency_p90_ms", line.latencyP90Ms),
                    ("input_tokens", Double(line.inputTokens)), ("cached_input_tokens", Double(line.cachedInputTokens)),
                    ("output_tokens", Double(line.outputTokens)), ("reasoning_tokens", Double(line.reasoningTokens)),
                    ("credits_spent_micros", Double(line.creditsSpentMicros)),
                ]
                for (name, value) in values { lines.append("\(name),\(breakdown),\(key),\(value.map(number) ?? "")") }
            }
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    /// RFC 4180 quoting, and a leading `=+-@` made inert for spreadsheets.
    static func csvField(_ text: String) -> String {
        var text = text
        if let first = text.first, "=+-@".contains(first) { text = "'" + text }
        guard text.contains(where: { ",\"\r\n".contains($0) }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
