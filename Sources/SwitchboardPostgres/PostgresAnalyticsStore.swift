public import Foundation
import Logging
import PostgresNIO
public import SwitchboardCore

/// The analytics, read from the rollups that `analytics_refresh` keeps — daily ones for the
/// whole UTC days of a period, hourly ones around them — never from the messages table.
/// Every query is the tenant's, under its row-level security.
public struct PostgresAnalyticsStore: Sendable {
    let database: Database

    public init(database: Database) {
        self.database = database
    }

    /// How a query cuts its period into buckets.
    public enum Bucketing: Sendable, Hashable {
        /// One bucket: the whole period.
        case whole
        case hour
        /// Days of a time zone (an IANA name, already validated).
        case day(timeZone: String)
    }

    /// The whole period: every figure, and the breakdowns by model, agent and channel.
    /// Two statements: the period's rows of the counts rollup (with the refresh time), and
    /// those of the model rollup; every sum, histogram and sketch is merged here, and the
    /// model totals are the sum of the breakdown's rows.
    public func summary(_ tenant: TenantID, _ filter: AnalyticsFilter) async throws -> AnalyticsSummary {
        let logger = database.logger
        return try await database.withTenant(tenant) { connection in
            try await Self.checkFilter(connection, tenant, filter, logger: logger)
            var figures = AnalyticsFigures()
            var sketch = ContactSketch()
            var refreshedAt: Date?
            let rows = try await connection.query(Self.query(
                """
                SELECT state.refreshed_at, rows.* FROM analytics_state AS state LEFT JOIN LATERAL \(Self.source(
                    .counts, .whole, columns: "\(Self.countColumns), first_response_hist, \(Self.sketchColumns.hourly)",
                    dailyColumns: "\(Self.countColumns), first_response_hist, \(Self.sketchColumns.daily)")) ON true
                """,
                tenant, filter, .whole
            ), logger: logger)
            for try await row in rows {
                let cells = row.makeRandomAccess()
                refreshedAt = try cells[0].decode(Date?.self)
                guard try cells[1].decode(Date?.self) != nil else { continue }
                figures.counts.add(try Self.counts(cells, from: 2))
                figures.firstResponse.add(try Self.integers(cells[15]))
                try Self.addSketch(hourly: cells[16], daily: cells[17], to: &sketch)
            }
            figures.activeContacts = sketch.estimate
            let lines = try await Self.breakdowns(connection, tenant, filter, totals: &figures, logger: logger)
            return AnalyticsSummary(
                figures: figures, byModel: lines["model"] ?? [], byAgent: lines["agent"] ?? [], byChannel: lines["channel"] ?? [],
                refreshedAt: refreshedAt
            )
        }
    }

    /// One metric per bucket, every bucket of the period present (zero, or `nil` where the
    /// metric is undefined, when nothing happened in it).
    public func timeseries(
        _ tenant: TenantID, _ filter: AnalyticsFilter, metric: AnalyticsMetric, bucketing: Bucketing
    ) async throws -> [AnalyticsPoint] {
        try await series(tenant, filter, sources: [metric.source], bucketing: bucketing).map {
            AnalyticsPoint(start: $0.start, value: $0.figures.value(of: metric))
        }
    }

    /// The figures `sources` feed, for every bucket of the period in order (empty figures
    /// where nothing happened): what a chart of several metrics reads in one transaction.
    public func series(
        _ tenant: TenantID, _ filter: AnalyticsFilter, sources: Set<AnalyticsMetric.Source>, bucketing: Bucketing
    ) async throws -> [(start: Date, figures: AnalyticsFigures)] {
        let logger = database.logger
        return try await database.withTenant(tenant) { connection in
            try await Self.checkFilter(connection, tenant, filter, logger: logger)
            let figures = try await Self.figures(connection, tenant, filter, bucketing, sources: sources, logger: logger)
            return try await Self.buckets(connection, filter, bucketing, logger: logger).map { start in
                (start, figures[start] ?? AnalyticsFigures())
            }
        }
    }

    /// Brings the rollups up to `now`: recomputes every hour from the last refresh minus
    /// its lookback (two hours) for every tenant, a day at most per transaction; calls
    /// again until caught up. Answers the first hour recomputed and the rows written, or
    /// `nil` when another replica's refresh is running.
    @discardableResult
    public func refresh(now: Date) async throws -> (from: Date, rows: Int)? {
        var first: (from: Date, rows: Int)?
        while true {
            guard let step = try await refreshStep(now: now) else { return first }
            first = first.map { ($0.from, $0.rows + step.rows) } ?? (step.from, step.rows)
            if step.caughtUp { return first }
        }
    }

    func refreshStep(now: Date) async throws -> (from: Date, rows: Int, caughtUp: Bool)? {
        let logger = database.logger
        return try await database.withoutScope { connection in
            for try await text in try await connection.query("SELECT analytics_refresh(\(now))::text", logger: logger)
                .decode(String?.self) {
                guard let text, let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
                      let rows = object["rows"] as? Int, let from = object["from"] as? String
                else { return nil }
                return (ISO8601DateFormatter().date(from: from) ?? now, rows, object["caught_up"] as? Bool ?? true)
            }
            return nil
        }
    }

    /// When the rollups were last brought up to date, and how long that took (for `/metrics`).
    public func state() async throws -> (refreshedAt: Date?, lastDuration: Double?) {
        let logger = database.logger
        return try await database.withoutScope { connection in
            for try await (at, milliseconds) in try await connection.query(
                "SELECT refreshed_at, last_duration_ms FROM analytics_state", logger: logger
            ).decode((Date?, Int32?).self) {
                return (at, milliseconds.map { Double($0) / 1000 })
            }
            return (nil, nil)
        }
    }

    // MARK: Queries

    /// Another tenant's (or an unknown) channel or agent is not found.
    static func checkFilter(_ connection: PostgresConnection, _ tenant: TenantID, _ filter: AnalyticsFilter, logger: Logger) async throws {
        if let channel = filter.channelID, try await connection.integer(
            "SELECT count(*) FROM channels WHERE tenant_id = \(tenant.uuid) AND id = \(channel.uuid)", logger: logger
        ) == 0 {
            throw SwitchboardError.notFound("channel")
        }
        if let agent = filter.agentID, try await connection.integer(
            "SELECT count(*) FROM agents WHERE tenant_id = \(tenant.uuid) AND id = \(agent.uuid)", logger: logger
        ) == 0 {
            throw SwitchboardError.notFound("agent")
        }
    }

    /// A rollup's two tables: hours, and the UTC days merged from them.
    enum Rollup {
        case counts, models

        var hourly: String { self == .counts ? "analytics_hourly" : "analytics_model_hourly" }
        var daily: String { self == .counts ? "analytics_daily" : "analytics_model_daily" }
        var monthly: String { self == .counts ? "analytics_monthly" : "analytics_model_monthly" }
    }

    /// The SQL of a row's bucket start, from its `time` column. Time zone names are
    /// validated before they reach here, and quoted as a literal.
    static func bucketExpression(_ bucketing: Bucketing, time: String) -> String {
        switch bucketing {
        case .whole: "to_timestamp(0)"
        case .hour: time
        case .day(let zone): "date_trunc('day', \(time), \(literal(zone)))"
        }
    }

    /// A time zone name as an SQL literal.
    static func literal(_ zone: String) -> String {
        "'" + zone.replacingOccurrences(of: "'", with: "''") + "'"
    }

    /// The first hour a period reads: the start of the bucket holding `from`.
    static func firstHour(_ bucketing: Bucketing) -> String {
        switch bucketing {
        case .whole, .hour: "date_trunc('hour', $2::timestamptz)"
        case .day(let zone): "date_trunc('day', $2::timestamptz, \(literal(zone)))"
        }
    }

    /// Rows of the tenant, the period and the filter: `$1` tenant, `$2` from, `$3` to,
    /// `$4` channel, `$5` agent, `$6`–`$7` the whole UTC days the daily and monthly tables
    /// answer for (see `wholeDays`), and `$8`–`$9` the whole UTC months among them that the
    /// monthly table answers for (see `wholeMonths`).
    static func query(_ sql: String, _ tenant: TenantID, _ filter: AnalyticsFilter, _ bucketing: Bucketing) -> PostgresQuery {
        var bindings = PostgresBindings()
        bindings.append(tenant.uuid)
        bindings.append(filter.from)
        bindings.append(filter.to)
        bindings.append(filter.channelID?.uuid)
        bindings.append(filter.agentID?.uuid)
        let days = wholeDays(filter, bucketing)
        bindings.append(days.lowerBound)
        bindings.append(days.upperBound)
        let months = wholeMonths(days, bucketing)
        bindings.append(months.lowerBound)
        bindings.append(months.upperBound)
        return PostgresQuery(unsafeSQL: sql, binds: bindings)
    }

    /// The Gregorian calendar in UTC, made once.
    static let utc: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()

    /// The whole UTC days of the period that the daily tables answer for: where each bucket
    /// is made of whole UTC days (the summary, daily buckets in UTC). Elsewhere (hours,
    /// days of another zone) an empty range, and every row comes from the hourly tables.
    static func wholeDays(_ filter: AnalyticsFilter, _ bucketing: Bucketing) -> Range<Date> {
        let utc = Self.utc
        let start: Date
        switch bucketing {
        case .whole: start = utc.dateInterval(of: .hour, for: filter.from)?.start ?? filter.from
        case .day(let zone) where zone == "UTC": start = utc.startOfDay(for: filter.from)
        default: return filter.to..<filter.to
        }
        let first = utc.startOfDay(for: start) == start ? start : utc.date(byAdding: .day, value: 1, to: utc.startOfDay(for: start))!
        return first..<max(utc.startOfDay(for: filter.to), first)
    }

    /// The months the monthly tables answer for: the whole UTC months of the period
    /// (`$8`–`$9`) that have been rolled up since they ended.
    static let monthsRolledUp = """
        (SELECT m.month FROM analytics_months AS m
         WHERE m.month >= ($8::timestamptz AT TIME ZONE 'UTC')::date AND m.month < ($9::timestamptz AT TIME ZONE 'UTC')::date)
        """

    /// The whole UTC months inside `days`, where one bucket is the whole period (the
    /// summary); elsewhere an empty range, and the days come from the daily table.
    static func wholeMonths(_ days: Range<Date>, _ bucketing: Bucketing) -> Range<Date> {
        guard bucketing == .whole else { return days.upperBound..<days.upperBound }
        let utc = Self.utc
        let start = utc.dateInterval(of: .month, for: days.lowerBound)?.start ?? days.lowerBound
        let first = start == days.lowerBound ? start : utc.date(byAdding: .month, value: 1, to: start)!
        let last = utc.dateInterval(of: .month, for: days.upperBound)?.start ?? days.upperBound
        return first < last ? first..<last : days.upperBound..<days.upperBound
    }

    /// The period's rows of a rollup as `rows (b, columns…)`, `b` the bucket start: whole
    /// UTC months rolled up from the monthly table, the other whole UTC days from the daily
    /// one, the hours around them from the hourly one.
    static func source(
        _ rollup: Rollup, _ bucketing: Bucketing, columns: String, dailyColumns: String? = nil, condition: String = ""
    ) -> String {
        """
        (SELECT \(bucketExpression(bucketing, time: "hour")) AS b, \(columns) FROM \(rollup.hourly)
         WHERE tenant_id = $1 AND hour >= \(firstHour(bucketing)) AND hour < $3::timestamptz
           AND (hour < $6::timestamptz OR hour >= $7::timestamptz)
           AND ($4::uuid IS NULL OR channel_id = $4::uuid) AND ($5::uuid IS NULL OR agent_id = $5::uuid) \(condition)
         UNION ALL
         SELECT \(bucketExpression(bucketing, time: "(day::timestamp AT TIME ZONE 'UTC')")) AS b, \(dailyColumns ?? columns) FROM \(rollup.daily)
         WHERE tenant_id = $1 AND day >= ($6::timestamptz AT TIME ZONE 'UTC')::date AND day < ($7::timestamptz AT TIME ZONE 'UTC')::date
           AND date_trunc('month', day::timestamp)::date NOT IN \(monthsRolledUp)
           AND ($4::uuid IS NULL OR channel_id = $4::uuid) AND ($5::uuid IS NULL OR agent_id = $5::uuid) \(condition)
         UNION ALL
         SELECT \(bucketExpression(bucketing, time: "(month::timestamp AT TIME ZONE 'UTC')")) AS b, \(dailyColumns ?? columns) FROM \(rollup.monthly)
         WHERE tenant_id = $1 AND month IN \(monthsRolledUp)
           AND ($4::uuid IS NULL OR channel_id = $4::uuid) AND ($5::uuid IS NULL OR agent_id = $5::uuid) \(condition)) AS rows
        """
    }

    static let countColumns = """
        inbound, outbound, ai_answers, human_replies, send_failures, reply_failures, new_contacts, conversations_opened,
        conversations_closed, ai_resolved, handoffs, first_responses, first_response_ms_sum
        """
    static let modelColumns = """
        calls, errors, answers, fallbacks, latency_ms_sum, input_tokens, cached_input_tokens, output_tokens, reasoning_tokens,
        credits_micros, latency_hist
        """
    static let modelSums = """
        sum(calls)::int8 AS calls, sum(errors)::int8 AS errors, sum(answers)::int8 AS answers, sum(fallbacks)::int8 AS fallbacks,
        sum(latency_ms_sum)::int8 AS latency_ms_sum, sum(input_tokens)::int8 AS input_tokens,
        sum(cached_input_tokens)::int8 AS cached_input_tokens, sum(output_tokens)::int8 AS output_tokens,
        sum(reasoning_tokens)::int8 AS reasoning_tokens, sum(credits_micros)::int8 AS credits
        """

    /// Every figure the sources need, per bucket start.
    static func figures(
        _ connection: PostgresConnection, _ tenant: TenantID, _ filter: AnalyticsFilter, _ bucketing: Bucketing,
        sources: Set<AnalyticsMetric.Source>, logger: Logger
    ) async throws -> [Date: AnalyticsFigures] {
        var figures: [Date: AnalyticsFigures] = [:]
        if sources.contains(.counts) {
            let sums = countColumns.split(separator: ",").map { "sum(\($0.trimmingCharacters(in: .whitespacesAndNewlines)))::int8" }
            let rows = try await connection.query(query(
                "SELECT b, \(sums.joined(separator: ", ")) FROM \(source(.counts, bucketing, columns: countColumns)) GROUP BY b",
                tenant, filter, bucketing
            ), logger: logger)
            for try await row in rows {
                let cells = row.makeRandomAccess()
                figures[try cells[0].decode(Date.self), default: AnalyticsFigures()].counts = try counts(cells, from: 1)
            }
        }
        if sources.contains(.firstResponse) {
            let histograms = try await histograms(
                connection, tenant, filter, bucketing, .counts, column: "first_response_hist", condition: "AND first_responses > 0",
                logger: logger
            )
            for (start, histogram) in histograms { figures[start, default: AnalyticsFigures()].firstResponse = histogram }
        }
        if sources.contains(.contacts) {
            let rows = try await connection.query(query(
                """
                SELECT b, hourly_sketch, daily_sketch FROM \(source(
                    .counts, bucketing, columns: sketchColumns.hourly, dailyColumns: sketchColumns.daily, condition: "AND inbound > 0"))
                """,
                tenant, filter, bucketing
            ), logger: logger)
            var sketches: [Date: ContactSketch] = [:]
            for try await row in rows {
                let cells = row.makeRandomAccess()
                try addSketch(hourly: cells[1], daily: cells[2], to: &sketches[try cells[0].decode(Date.self), default: ContactSketch()])
            }
            for (start, sketch) in sketches { figures[start, default: AnalyticsFigures()].activeContacts = sketch.estimate }
        }
        if sources.contains(.models) {
            let rows = try await connection.query(query(
                "SELECT b, \(modelSums) FROM \(source(.models, bucketing, columns: modelColumns)) GROUP BY b", tenant, filter, bucketing
            ), logger: logger)
            for try await row in rows {
                let cells = row.makeRandomAccess()
                figures[try cells[0].decode(Date.self), default: AnalyticsFigures()].models = try modelCounts(cells, from: 1)
            }
        }
        if sources.contains(.answerLatency) {
            let histograms = try await histograms(
                connection, tenant, filter, bucketing, .models, column: "latency_hist", condition: "AND answers > 0", logger: logger
            )
            for (start, histogram) in histograms { figures[start, default: AnalyticsFigures()].answerLatency = histogram }
        }
        return figures
    }

    /// A histogram column of a rollup, merged per bucket start. Histograms travel row by
    /// row and merge here: decoding a few integers costs less than aggregating arrays in
    /// the database.
    static func histograms(
        _ connection: PostgresConnection, _ tenant: TenantID, _ filter: AnalyticsFilter, _ bucketing: Bucketing, _ rollup: Rollup,
        column: String, condition: String, logger: Logger
    ) async throws -> [Date: LatencyHistogram] {
        let rows = try await connection.query(query(
            "SELECT b, \(column) FROM \(source(rollup, bucketing, columns: column, condition: condition))", tenant, filter, bucketing
        ), logger: logger)
        var histograms: [Date: LatencyHistogram] = [:]
        for try await row in rows {
            let cells = row.makeRandomAccess()
            histograms[try cells[0].decode(Date.self), default: LatencyHistogram()].add(try integers(cells[1]))
        }
        return histograms
    }

    /// Walks an `integer[]` in PostgreSQL's binary array format (dimensions, then a length
    /// and four bytes per element) without building an array: a year of sketches is close
    /// to a million elements, and the generic decoder costs more than the query.
    static func forEachInteger(in cell: PostgresCell, _ body: (Int32) -> Void) throws {
        guard var buffer = cell.bytes else { return }
        guard let dimensions = buffer.readInteger(as: Int32.self), buffer.readInteger(as: Int32.self) != nil,
              buffer.readInteger(as: UInt32.self) == 23
        else { throw SwitchboardError(.internalError, "a rollup column is not an integer array") }
        guard dimensions > 0 else { return }
        guard dimensions == 1, let count = buffer.readInteger(as: Int32.self), buffer.readInteger(as: Int32.self) != nil else {
            throw SwitchboardError(.internalError, "a rollup column is not a one-dimensional array")
        }
        buffer.withUnsafeReadableBytes { raw in
            var offset = 0
            for _ in 0..<count {
                guard offset + 4 <= raw.count else { break }
                let length = Int32(bigEndian: raw.loadUnaligned(fromByteOffset: offset, as: Int32.self))
                offset += 4
                // A NULL element (length -1) has no bytes.
                guard length == 4, offset + 4 <= raw.count else { continue }
                body(Int32(bigEndian: raw.loadUnaligned(fromByteOffset: offset, as: Int32.self)))
                offset += 4
            }
        }
    }

    /// The sketch columns of a source: the hourly table keeps its sketches as `integer[]`,
    /// the daily one as bytes (four per element); each travels as it is, in its own column,
    /// the other `NULL`. (Packing the hours into bytes in SQL cost more than the rest of a
    /// 90-day timeseries in a time zone other than UTC, which reads only hours.)
    static let sketchColumns = (
        hourly: "contact_sketch AS hourly_sketch, NULL::bytea AS daily_sketch",
        daily: "NULL::integer[] AS hourly_sketch, contact_sketch AS daily_sketch"
    )

    /// Merges a row's sketch (see `sketchColumns`) into `sketch`.
    static func addSketch(hourly: PostgresCell, daily: PostgresCell, to sketch: inout ContactSketch) throws {
        if let bytes = daily.bytes {
            bytes.withUnsafeReadableBytes { sketch.add(packed: $0) }
        } else {
            try forEachInteger(in: hourly) { sketch.add(element: $0) }
        }
    }

    /// The `countColumns` of a row (or their sums), from the cell `first` on.
    static func counts(_ cells: PostgresRandomAccessRow, from first: Int) throws -> AnalyticsCounts {
        let value = { (index: Int) throws -> Int64 in try cells[first + index].decode(Int64?.self) ?? 0 }
        var counts = AnalyticsCounts()
        counts.inbound = try value(0)
        counts.outbound = try value(1)
        counts.aiAnswers = try value(2)
        counts.humanReplies = try value(3)
        counts.sendFailures = try value(4)
        counts.replyFailures = try value(5)
        counts.newContacts = try value(6)
        counts.conversationsOpened = try value(7)
        counts.conversationsClosed = try value(8)
        counts.aiResolved = try value(9)
        counts.handoffs = try value(10)
        counts.firstResponses = try value(11)
        counts.firstResponseMillisecondsSum = try value(12)
        return counts
    }

    static func modelCounts(_ cells: PostgresRandomAccessRow, from first: Int) throws -> ModelCounts {
        let value = { (index: Int) throws -> Int64 in try cells[first + index].decode(Int64?.self) ?? 0 }
        var counts = ModelCounts()
        counts.calls = try value(0)
        counts.errors = try value(1)
        counts.answers = try value(2)
        counts.fallbacks = try value(3)
        counts.latencyMillisecondsSum = try value(4)
        counts.inputTokens = try value(5)
        counts.cachedInputTokens = try value(6)
        counts.outputTokens = try value(7)
        counts.reasoningTokens = try value(8)
        counts.credits = Credits(micros: try value(9))
        return counts
    }

    /// Model calls and spend by `provider_kind/model`, by agent and by channel, dearest
    /// first, and their totals (calls, tokens, credits, answer latency) added to `totals`.
    /// The rows are few (one per day, channel, agent and model): they are summed here.
    static func breakdowns(
        _ connection: PostgresConnection, _ tenant: TenantID, _ filter: AnalyticsFilter, totals figures: inout AnalyticsFigures,
        logger: Logger
    ) async throws -> [String: [ModelUsageLine]] {
        let columns = "provider_kind || '/' || model AS model_key, agent_id::text AS agent_key, channel_id::text AS channel_key, \(modelColumns)"
        let rows = try await connection.query(query(
            "SELECT model_key, agent_key, channel_key, \(modelColumns) FROM \(source(.models, .whole, columns: columns))", tenant, filter, .whole
        ), logger: logger)
        // One table per breakdown, the lines changed in place.
        var totals: [[String?: ModelUsageLine]] = [[:], [:], [:]]
        for try await row in rows {
            let cells = row.makeRandomAccess()
            let counts = try modelCounts(cells, from: 3)
            let latency = try integers(cells[13])
            figures.models.add(counts)
            figures.answerLatency.add(latency)
            for dimension in 0..<3 {
                let key = try cells[dimension].decode(String?.self)
                totals[dimension][key, default: ModelUsageLine(key: key, counts: ModelCounts(), latency: LatencyHistogram())]
                    .add(counts, latency: latency)
            }
        }
        let named = ["model": totals[0], "agent": totals[1], "channel": totals[2]]
        return named.mapValues { lines in
            lines.values.sorted {
                ($0.counts.credits.micros, $0.counts.calls, $1.key ?? "") > ($1.counts.credits.micros, $1.counts.calls, $0.key ?? "")
            }
        }
    }

    /// The elements of an `integer[]` (a histogram's counts) as 64-bit integers.
    static func integers(_ cell: PostgresCell) throws -> [Int64] {
        var values: [Int64] = []
        try forEachInteger(in: cell) { values.append(Int64($0)) }
        return values
    }

    /// The start of every bucket of the period, in order: hours, or the time zone's days
    /// (23 or 25 hours long across a daylight-saving change).
    static func buckets(
        _ connection: PostgresConnection, _ filter: AnalyticsFilter, _ bucketing: Bucketing, logger: Logger
    ) async throws -> [Date] {
        let sql = switch bucketing {
        case .whole, .hour:
            "SELECT generate_series(date_trunc('hour', $1::timestamptz), $2::timestamptz - interval '1 microsecond', interval '1 hour')"
        case .day(let zone):
            """
            SELECT d AT TIME ZONE \(literal(zone))
            FROM generate_series(date_trunc('day', $1::timestamptz AT TIME ZONE \(literal(zone))),
                                 ($2::timestamptz - interval '1 microsecond') AT TIME ZONE \(literal(zone)), interval '1 day') AS d
            """
        }
        var bindings = PostgresBindings()
        bindings.append(filter.from)
        bindings.append(filter.to)
        var starts: [Date] = []
        for try await start in try await connection.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: logger)
            .decode(Date.self) {
            starts.append(start)
        }
        return starts
    }
}
