import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import SwitchboardApp
import SwitchboardCore
import SwitchboardPostgres
import SwitchboardProvidersTesting
import SwitchboardTestSupport
import Testing

/// A day of one tenant's history, written as the app writes it (rows with their real
/// times), then rolled up by `analytics_refresh_window`. The figures the tests expect are
/// worked out by hand in the comments of `seed`.
struct SeededHistory: Sendable {
    var tenant: (id: String, key: String)
    let providerOpenAI = UUID().uuidString.lowercased()
    let providerAnthropic = UUID().uuidString.lowercased()
    let agent = UUID().uuidString.lowercased()
    /// Answered by the agent.
    let channelX = UUID().uuidString.lowercased()
    /// No agent.
    let channelY = UUID().uuidString.lowercased()

    /// Every day of history gets its own date, so tests that roll up their own days never
    /// touch each other's hours.
    var day: String

    init(tenant: (id: String, key: String), day: String) {
        self.tenant = tenant
        self.day = day
    }

    func at(_ time: String) -> String { "'\(day)T\(time)Z'::timestamptz" }

    /// The day (all times UTC):
    /// - conversation 1 (contact A, channel X), opened 09:05:00. Inbound m1 at 09:05:00; its
    ///   first try fails (server error, 500 ms), the retried job answers (1,200 ms, 100 in /
    ///   20 cached / 30 out, 1,500 µ captured) at 09:05:02: first response 2,000 ms. Inbound m2
    ///   at 09:20:00; OpenAI times out (400 ms), Anthropic is cooling down (skipped, no call),
    ///   then answers as the fallback (800 ms, 50 in / 10 out, 2,500 µ) at 09:20:01, and its
    ///   delivery fails. Closed 11:00: resolved by the AI alone.
    /// - conversation 2 (B, X), opened 09:10:00. Inbound m3 hands off by keyword at 09:10:30;
    ///   a person answers at 09:15:00 (first response 300,000 ms). Closed 12:00.
    /// - conversation 3 (C, Y), opened 10:20:00. Inbound m4: the provider fails (300 ms) and
    ///   the reply fails for good. Inbound m5 at 10:21 waits.
    /// - conversation 4 (D, X), opened 23:30:00 with inbound m6 (08:30 the next day in Tokyo).
    func seed() async throws {
        let t = "'\(tenant.id)'::uuid"
        let ids = (0..<20).map { _ in "'\(UUID().uuidString.lowercased())'::uuid" }
        // Contacts' ids are fixed by the day, not random: the distinct-contact sketch counts
        // small sets exactly only while their ids fall in different registers (of 2,048), and
        // random ids collide now and then (eight of them about one run in seventy).
        let contact = { (name: String) in "md5('\(day):\(name)')::uuid" }
        let (a, b, c, d) = (contact("A"), contact("B"), contact("C"), contact("D"))
        let (c1, c2, c3, c4) = (ids[4], ids[5], ids[6], ids[7])
        let (m1, m2, m3, m4, m5, m6) = (ids[8], ids[9], ids[10], ids[11], ids[12], ids[13])
        let (a1, a2, h1) = (ids[14], ids[15], ids[16])
        let (p1, p2, g, x, y) = ("'\(providerOpenAI)'::uuid", "'\(providerAnthropic)'::uuid", "'\(agent)'::uuid", "'\(channelX)'::uuid", "'\(channelY)'::uuid")
        let sql = """
            DO $$ BEGIN
            INSERT INTO providers (tenant_id, id, name, kind, region) VALUES
                (\(t), \(p1), 'OpenAI', 'openai', 'us'), (\(t), \(p2), 'Anthropic', 'anthropic', 'us');
            INSERT INTO agents (tenant_id, id, name, provider_id, model) VALUES (\(t), \(g), 'ShopBot', \(p1), 'gpt-4o-mini');
            INSERT INTO channels (tenant_id, id, kind, name, agent_id) VALUES
                (\(t), \(x), 'webhook', 'Site', \(g)), (\(t), \(y), 'webhook', 'Shop', NULL);
            INSERT INTO contacts (tenant_id, id, display_name, created_at) VALUES
                (\(t), \(a), 'A', \(at("09:05:00"))), (\(t), \(b), 'B', \(at("09:10:00"))),
                (\(t), \(c), 'C', \(at("10:20:00"))), (\(t), \(d), 'D', \(at("23:30:00")));
            INSERT INTO conversations (tenant_id, id, channel_id, contact_id, chat_external_id, status, created_at, closed_at, mode, handoff_at) VALUES
                (\(t), \(c1), \(x), \(a), 'a', 'closed', \(at("09:05:00")), \(at("11:00:00")), 'ai', NULL),
                (\(t), \(c2), \(x), \(b), 'b', 'closed', \(at("09:10:00")), \(at("12:00:00")), 'human', \(at("09:10:30"))),
                (\(t), \(c3), \(y), \(c), 'c', 'open', \(at("10:20:00")), NULL, 'ai', NULL),
                (\(t), \(c4), \(x), \(d), 'd', 'open', \(at("23:30:00")), NULL, 'ai', NULL);
            INSERT INTO messages (tenant_id, id, conversation_id, channel_id, contact_id, direction, text, ai_generated, delivery_status,
                                  created_at, reply_status, in_reply_to, agent_id, provider_id, model) VALUES
                (\(t), \(m1), \(c1), \(x), \(a), 'inbound', 'hi', false, NULL, \(at("09:05:00")), 'answered', NULL, NULL, NULL, NULL),
                (\(t), \(a1), \(c1), \(x), NULL, 'outbound', 'hello', true, 'sent', \(at("09:05:02")), NULL, \(m1), \(g), \(p1), 'gpt-4o-mini'),
                (\(t), \(m3), \(c2), \(x), \(b), 'inbound', 'operator please', false, NULL, \(at("09:10:00")), 'handed_off', NULL, NULL, NULL, NULL),
                (\(t), \(h1), \(c2), \(x), NULL, 'outbound', 'Aigerim here', false, 'sent', \(at("09:15:00")), NULL, NULL, NULL, NULL, NULL),
                (\(t), \(m2), \(c1), \(x), \(a), 'inbound', 'price?', false, NULL, \(at("09:20:00")), 'answered', NULL, NULL, NULL, NULL),
                (\(t), \(a2), \(c1), \(x), NULL, 'outbound', '42', true, 'failed', \(at("09:20:01")), NULL, \(m2), \(g), \(p2), 'claude-haiku'),
                (\(t), \(m4), \(c3), \(y), \(c), 'inbound', 'hello?', false, NULL, \(at("10:20:00")), 'failed', NULL, NULL, NULL, NULL),
                (\(t), \(m5), \(c3), \(y), \(c), 'inbound', 'anyone?', false, NULL, \(at("10:21:00")), NULL, NULL, NULL, NULL, NULL),
                (\(t), \(m6), \(c4), \(x), \(d), 'inbound', 'late', false, NULL, \(at("23:30:00")), NULL, NULL, NULL, NULL, NULL);
            INSERT INTO model_calls (tenant_id, id, message_id, agent_id, provider_id, provider_kind, model, attempt, outcome, error_code,
                                     input_tokens, cached_input_tokens, output_tokens, latency_ms, created_at) VALUES
                (\(t), gen_random_uuid(), \(m1), \(g), \(p1), 'openai', 'gpt-4o-mini', 1, 'error', 'server', 0, 0, 0, 500, \(at("09:05:01"))),
                (\(t), gen_random_uuid(), \(m1), \(g), \(p1), 'openai', 'gpt-4o-mini', 1, 'ok', NULL, 100, 20, 30, 1200, \(at("09:05:02"))),
                (\(t), gen_random_uuid(), \(m2), \(g), \(p1), 'openai', 'gpt-4o-mini', 1, 'error', 'timeout', 0, 0, 0, 400, \(at("09:20:00"))),
                (\(t), gen_random_uuid(), \(m2), \(g), \(p2), 'anthropic', 'claude-haiku', 2, 'error', 'cooldown', 0, 0, 0, 0, \(at("09:20:00"))),
                (\(t), gen_random_uuid(), \(m2), \(g), \(p2), 'anthropic', 'claude-haiku', 3, 'ok', NULL, 50, 0, 10, 800, \(at("09:20:01"))),
                (\(t), gen_random_uuid(), \(m4), NULL, \(p1), 'openai', 'gpt-4o-mini', 1, 'error', 'server', 0, 0, 0, 300, \(at("10:20:05")));
            INSERT INTO credit_entries (tenant_id, kind, amount_micros, balance_after_micros, held_after_micros, reason, agent_id, channel_id,
                                        message_id, provider_kind, model, created_at) VALUES
                (\(t), 'capture', -1500, 1000000, 0, 'answer', \(g), \(x), \(a1), 'openai', 'gpt-4o-mini', \(at("09:05:02"))),
                (\(t), 'capture', -2500, 997500, 0, 'answer', \(g), \(x), \(a2), 'anthropic', 'claude-haiku', \(at("09:20:01")));
            INSERT INTO conversation_events (tenant_id, conversation_id, channel_id, kind, reason, at) VALUES
                (\(t), \(c2), \(x), 'handoff', 'keyword', \(at("09:10:30"))),
                (\(t), \(c1), \(x), 'closed', NULL, \(at("11:00:00"))),
                (\(t), \(c2), \(x), 'closed', NULL, \(at("12:00:00")));
            END $$
            """
        _ = try await ownerCount(sql)
    }
}

/// Rolls up the hours from the day before `day` to the day after it (every tenant's: the
/// function is the refresh job's).
func rollUp(_ day: String) async throws {
    let start = try #require(ISO8601DateFormatter().date(from: "\(day)T00:00:00Z"))
    let formatter = ISO8601DateFormatter()
    _ = try await ownerCount(
        "SELECT analytics_refresh_window('\(formatter.string(from: start.addingTimeInterval(-86_400)))', '\(formatter.string(from: start.addingTimeInterval(2 * 86_400)))')::int"
    )
}

@Suite("Analytics: the figures of a seeded history, over the API, as JSON and CSV")
struct AnalyticsTests {
    func get(_ client: any TestClientProtocol, _ uri: String, key: String, accept: String? = nil) async throws -> TestResponse {
        var fields = headers(bearer: key, json: false)
        if let accept { fields[.accept] = accept }
        return try await client.execute(uri: uri, method: .get, headers: fields) { $0 }
    }

    func summary(_ client: any TestClientProtocol, _ history: SeededHistory, _ extra: String = "") async throws -> [String: Any] {
        let response = try await get(
            client, "/v1/analytics/summary?from=\(history.day)T00:00:00Z&to=\(history.day)T23:59:59Z\(extra)", key: history.tenant.key
        )
        #expect(response.status == .ok, "\(String(buffer: response.body))")
        return try object(response)
    }

    func metrics(_ body: [String: Any]) throws -> [String: Double?] {
        let metrics = try #require(body["metrics"] as? [String: Any])
        return metrics.mapValues { $0 as? Double }
    }

    @Test("the summary of a day matches the figures worked out by hand, retries and the skipped target counted once")
    func summaryOfADay() async throws {
        try await withApp { client in
            let history = SeededHistory(tenant: try await createTenant(client), day: "2025-03-10")
            try await history.seed()
            try await rollUp(history.day)
            let body = try await summary(client, history)
            let figures = try metrics(body)
            let expected: [String: Double?] = [
                "inbound_messages": 6, "outbound_messages": 3, "ai_answers": 2, "human_replies": 1, "send_failures": 1,
                "reply_failures": 1, "new_contacts": 4, "active_contacts": 4, "conversations_opened": 4, "conversations_closed": 2,
                "handoffs": 1, "handoff_rate": 0.25, "ai_resolved": 1, "ai_resolution_rate": 0.5,
                // 2,000 ms and 300,000 ms: buckets [2 s, 3 s) and [300 s, 600 s), interpolated.
                "first_response_p50_ms": 3000, "first_response_p90_ms": 540_000,
                // 1,200 ms and 800 ms: buckets [1 s, 2 s) and [500 ms, 1 s).
                "answer_latency_p50_ms": 1000, "answer_latency_p90_ms": 1800,
                // Two attempts for m1, two calls for m2 (the skipped target is no call), one for m4.
                "provider_calls": 5, "provider_errors": 3, "fallbacks": 1,
                "input_tokens": 150, "cached_input_tokens": 20, "output_tokens": 40, "reasoning_tokens": 0,
                "credits_spent_micros": 4000,
            ]
            #expect(Set(figures.keys) == Set(expected.keys))
            for (name, value) in expected { #expect(figures[name] == value, "\(name)") }
            let byModel = try #require(body["by_model"] as? [[String: Any]])
            #expect(byModel.map { $0["key"] as? String } == ["anthropic/claude-haiku", "openai/gpt-4o-mini"])
            #expect(byModel.map { $0["credits_spent_micros"] as? Int } == [2500, 1500])
            #expect(byModel.map { $0["calls"] as? Int } == [1, 4])
            #expect(byModel.map { $0["errors"] as? Int } == [0, 3])
            #expect(byModel.map { $0["fallbacks"] as? Int } == [1, 0])
            #expect(byModel.map { $0["latency_p50_ms"] as? Double } == [750, 1500])
            let byChannel = try #require(body["by_channel"] as? [[String: Any]])
            #expect(byChannel.map { $0["key"] as? String } == [history.channelX, history.channelY])
            #expect(byChannel.map { $0["calls"] as? Int } == [4, 1])
            let byAgent = try #require(body["by_agent"] as? [[String: Any]])
            #expect(byAgent.map { $0["key"] as? String } == [history.agent, nil])
            #expect(body["from"] as? String == "\(history.day)T00:00:00Z")
        }
    }

    @Test("a summary over whole months reads the monthly rollups and agrees with the same rows read as days and hours")
    func wholeMonths() async throws {
        try await withApp { client in
            let tenant = try await createTenant(client)
            // The same day twice, in May and in June, with new contacts, channels and agent.
            let may = SeededHistory(tenant: tenant, day: "2025-05-20")
            let june = SeededHistory(tenant: tenant, day: "2025-06-17")
            for history in [may, june] {
                try await history.seed()
                try await rollUp(history.day)
            }
            // Both months have ended, so the roll-ups of their days rolled them up too.
            // The rollups are read under the refresh's policy (the lateral query runs after
            // the setting is made).
            #expect(try await ownerCount(
                """
                SELECT m.n FROM (SELECT set_config('app.analytics', 'on', false) AS on) s, LATERAL (
                    SELECT count(*)::int AS n FROM (
                        SELECT month FROM analytics_monthly
                        WHERE s.on = 'on' AND tenant_id = '\(tenant.id)' AND month IN ('2025-05-01', '2025-06-01')
                        GROUP BY month HAVING sum(inbound) = 6) months) m
                """
            ) == 2)
            func summary(_ from: String, _ to: String) async throws -> [String: Any] {
                let response = try await get(client, "/v1/analytics/summary?from=\(from)&to=\(to)", key: tenant.key)
                #expect(response.status == .ok, "\(String(buffer: response.body))")
                return try object(response)
            }
            // May and June whole: two months. From 01:00 on the first to 23:00 on the last:
            // no whole month, so 59 days and 46 hours.
            let months = try await summary("2025-05-01T00:00:00Z", "2025-07-01T00:00:00Z")
            let days = try await summary("2025-05-01T01:00:00Z", "2025-06-30T23:00:00Z")
            let figures = try metrics(months)
            #expect(figures == (try metrics(days)))
            #expect(figures["inbound_messages"] == 12)
            #expect(figures["active_contacts"] == 8)
            #expect(figures["provider_calls"] == 10)
            #expect(figures["credits_spent_micros"] == 8000)
            #expect(figures["first_response_p50_ms"] == 3000)
            for breakdown in ["by_model", "by_agent", "by_channel"] {
                let lines = try #require(months[breakdown] as? [[String: Any]])
                let again = try #require(days[breakdown] as? [[String: Any]])
                #expect(lines.map { $0["key"] as? String } == again.map { $0["key"] as? String }, "\(breakdown)")
                #expect(lines.map { $0["credits_spent_micros"] as? Int } == again.map { $0["credits_spent_micros"] as? Int }, "\(breakdown)")
                #expect(lines.map { $0["latency_p90_ms"] as? Double } == again.map { $0["latency_p90_ms"] as? Double }, "\(breakdown)")
            }
            let byModel = try #require(months["by_model"] as? [[String: Any]])
            #expect(byModel.map { $0["calls"] as? Int } == [2, 8])

            // Another tenant's months read as its own: nothing.
            let other = try await createTenant(client)
            let response = try await get(client, "/v1/analytics/summary?from=2025-05-01T00:00:00Z&to=2025-07-01T00:00:00Z", key: other.key)
            #expect(response.status == .ok)
            let theirs = try metrics(try object(response))
            #expect(theirs["inbound_messages"] == 0)
            #expect(theirs["active_contacts"] == 0)
            #expect(theirs["credits_spent_micros"] == 0)
            let theirModels = try #require(try object(response)["by_model"] as? [[String: Any]])
            #expect(theirModels.isEmpty)
        }
    }

    @Test("a channel or agent filter keeps that channel's or agent's rows only")
    func filters() async throws {
        try await withApp { client in
            let history = SeededHistory(tenant: try await createTenant(client), day: "2025-03-11")
            try await history.seed()
            try await rollUp(history.day)
            let shop = try metrics(try await summary(client, history, "&channel_id=\(history.channelY)"))
            #expect(shop["inbound_messages"] == 2)
            #expect(shop["outbound_messages"] == 0)
            #expect(shop["new_contacts"] == 1)
            #expect(shop["active_contacts"] == 1)
            #expect(shop["reply_failures"] == 1)
            #expect(shop["provider_calls"] == 1)
            #expect(shop["provider_errors"] == 1)
            #expect(shop["handoff_rate"] == .some(0))
            #expect(shop["ai_resolution_rate"] == .some(nil))
            #expect(shop["first_response_p50_ms"] == .some(nil))
            // Whole UTC days read the day's merged sketch, the hours around them the hourly ones.
            for (range, active) in [
                ("from=2025-03-11T00:00:00Z&to=2025-03-12T00:00:00Z", 4.0), ("from=2025-03-11T10:00:00Z&to=2025-03-13T00:00:00Z", 2),
                ("from=2025-03-10T12:00:00Z&to=2025-03-12T00:00:00Z", 4), ("from=2025-03-11T09:00:00Z&to=2025-03-11T10:00:00Z", 2),
            ] {
                let response = try await get(client, "/v1/analytics/summary?\(range)", key: history.tenant.key)
                #expect(try metrics(try object(response))["active_contacts"] == active, "\(range)")
            }
            let daily = try object(try await get(
                client, "/v1/analytics/timeseries?metric=active_contacts&from=2025-03-10&to=2025-03-12T12:00:00Z", key: history.tenant.key
            ))
            #expect((daily["points"] as? [[String: Any]])?.map { $0["value"] as? Double } == [0, 4, 0])
            let bot = try metrics(try await summary(client, history, "&agent_id=\(history.agent)"))
            #expect(bot["inbound_messages"] == 4)
            #expect(bot["outbound_messages"] == 3)
            #expect(bot["conversations_opened"] == 3)
            #expect(bot["credits_spent_micros"] == 4000)
        }
    }

    @Test("a timeseries has every bucket, zero where nothing happened, in the time zone asked for")
    func timeseries() async throws {
        try await withApp { client in
            let history = SeededHistory(tenant: try await createTenant(client), day: "2025-03-12")
            try await history.seed()
            try await rollUp(history.day)
            let hourly = try object(try await get(
                client, "/v1/analytics/timeseries?metric=inbound_messages&interval=hour&from=2025-03-12T00:00:00Z&to=2025-03-13T00:00:00Z",
                key: history.tenant.key
            ))
            let points = try #require(hourly["points"] as? [[String: Any]])
            #expect(points.count == 24)
            #expect(points.first?["start"] as? String == "2025-03-12T00:00:00Z")
            var expected = [Double](repeating: 0, count: 24)
            expected[9] = 3
            expected[10] = 2
            expected[23] = 1
            #expect(points.map { $0["value"] as? Double } == expected)
            #expect(hourly["meaning"] as? String == "Messages received from contacts (each platform message once; edits and redeliveries are not counted again).")

            // Tokyo is nine hours ahead: the 23:30 message falls on the next day there.
            let tokyo = try object(try await get(
                client, "/v1/analytics/timeseries?metric=inbound_messages&interval=day&tz=Asia/Tokyo&from=2025-03-12&to=2025-03-14",
                key: history.tenant.key
            ))
            let days = try #require(tokyo["points"] as? [[String: Any]])
            #expect(days.map { $0["start"] as? String } == ["2025-03-12T00:00:00+09:00", "2025-03-13T00:00:00+09:00"])
            #expect(days.map { $0["value"] as? Double } == [5, 1])
            #expect(tokyo["tz"] as? String == "Asia/Tokyo")

            let utc = try object(try await get(
                client, "/v1/analytics/timeseries?metric=ai_resolution_rate&from=2025-03-12&to=2025-03-14", key: history.tenant.key
            ))
            let rates = try #require(utc["points"] as? [[String: Any]])
            #expect(rates.map { $0["start"] as? String } == ["2025-03-12T00:00:00Z", "2025-03-13T00:00:00Z"])
            #expect(rates.first?["value"] as? Double == 0.5)
            #expect(rates.last?["value"] is NSNull)

            let active = try object(try await get(
                client, "/v1/analytics/timeseries?metric=active_contacts&interval=hour&from=2025-03-12T09:00:00Z&to=2025-03-12T11:00:00Z",
                key: history.tenant.key
            ))
            #expect((active["points"] as? [[String: Any]])?.map { $0["value"] as? Double } == [2, 1])
            let frt = try object(try await get(
                client, "/v1/analytics/timeseries?metric=first_response_p90_ms&interval=hour&from=2025-03-12T09:00:00Z&to=2025-03-12T11:00:00Z",
                key: history.tenant.key
            ))
            let frtPoints = try #require(frt["points"] as? [[String: Any]])
            #expect(frtPoints.first?["value"] as? Double == 540_000)
            #expect(frtPoints.last?["value"] is NSNull)
            let spend = try object(try await get(
                client, "/v1/analytics/timeseries?metric=credits_spent_micros&interval=hour&from=2025-03-12T09:00:00Z&to=2025-03-12T11:00:00Z",
                key: history.tenant.key
            ))
            #expect((spend["points"] as? [[String: Any]])?.map { $0["value"] as? Double } == [4000, 0])
        }
    }

    @Test("CSV export of the summary and of a timeseries, with Accept: text/csv or format=csv")
    func csvExport() async throws {
        try await withApp { client in
            let history = SeededHistory(tenant: try await createTenant(client), day: "2025-03-13")
            try await history.seed()
            try await rollUp(history.day)
            let series = try await get(
                client, "/v1/analytics/timeseries?metric=inbound_messages&interval=hour&from=2025-03-13T09:00:00Z&to=2025-03-13T11:00:00Z",
                key: history.tenant.key, accept: "text/csv"
            )
            #expect(series.status == .ok)
            #expect(series.headers[.contentType] == "text/csv; charset=utf-8")
            #expect(String(buffer: series.body) == "start,inbound_messages\r\n2025-03-13T09:00:00Z,3\r\n2025-03-13T10:00:00Z,2\r\n")
            let summary = try await get(
                client, "/v1/analytics/summary?from=2025-03-13T00:00:00Z&to=2025-03-14T00:00:00Z&format=csv", key: history.tenant.key
            )
            #expect(summary.status == .ok)
            let lines = String(buffer: summary.body).components(separatedBy: "\r\n")
            #expect(lines.first == "metric,breakdown,key,value")
            #expect(lines.contains("inbound_messages,,,6"))
            #expect(lines.contains("handoff_rate,,,0.25"))
            #expect(lines.contains("ai_resolution_rate,,,0.5"))
            #expect(lines.contains("credits_spent_micros,model,anthropic/claude-haiku,2500"))
            #expect(lines.contains("provider_calls,channel,\(history.channelY),1"))
            #expect(summary.headers[.contentDisposition] == "attachment; filename=\"analytics-summary.csv\"")
        }
    }

    @Test("another tenant sees none of it, and its channel and agent ids are 404")
    func isolation() async throws {
        try await withApp { client in
            let history = SeededHistory(tenant: try await createTenant(client), day: "2025-03-14")
            try await history.seed()
            try await rollUp(history.day)
            let other = try await createTenant(client)
            let range = "from=2025-03-14T00:00:00Z&to=2025-03-15T00:00:00Z"
            let body = try object(try await get(client, "/v1/analytics/summary?\(range)", key: other.key))
            let figures = try metrics(body)
            #expect(figures["inbound_messages"] == 0)
            #expect(figures["credits_spent_micros"] == 0)
            #expect((body["by_model"] as? [Any])?.isEmpty == true)
            for query in ["channel_id=\(history.channelX)", "agent_id=\(history.agent)", "channel_id=\(UUID().uuidString)", "channel_id=nope"] {
                try expectError(try await get(client, "/v1/analytics/summary?\(range)&\(query)", key: other.key), .notFound, "not_found")
                try expectError(
                    try await get(client, "/v1/analytics/timeseries?metric=handoffs&\(range)&\(query)", key: other.key), .notFound, "not_found"
                )
            }
            try expectError(try await get(client, "/v1/analytics/summary", key: "sb_live_nope"), .unauthorized, "unauthorized")
        }
    }

    @Test("reversed and absurd ranges, unknown metrics and intervals, bad time zones: invalid_request naming the parameter")
    func badInput() async throws {
        try await withApp { client in
            let tenant = try await createTenant(client)
            let cases: [(String, String)] = [
                ("summary?from=2025-03-02T00:00:00Z&to=2025-03-01T00:00:00Z", "from"),
                ("summary?from=2025-03-01T00:00:00Z&to=2025-03-01T00:00:00Z", "from"),
                ("summary?from=2024-01-01T00:00:00Z&to=2025-03-01T00:00:00Z", "from"),
                ("timeseries?metric=inbound_messages&interval=hour&from=2024-01-01T00:00:00Z&to=2025-03-01T00:00:00Z", "from"),
                ("summary?from=yesterday", "from"),
                ("summary?to=2025-13-45", "to"),
                ("summary?from=1900-01-01T00:00:00Z&to=1900-02-01T00:00:00Z", "from"),
                ("summary?tz=Mars/Olympus", "tz"),
                ("timeseries?metric=inbound_messages&tz=Europe/Nowhere", "tz"),
                ("timeseries?metric=inbound_messages&tz=UTC';DROP%20TABLE%20messages;--", "tz"),
                ("timeseries?metric=revenue", "metric"),
                ("timeseries", "metric"),
                ("timeseries?metric=inbound_messages&interval=week", "interval"),
            ]
            for (query, field) in cases {
                try expectError(try await get(client, "/v1/analytics/\(query)", key: tenant.key), .badRequest, "invalid_request", field: field)
            }
            // A whole 400 days at an hourly interval is allowed, and every hour is there.
            let year = try object(try await get(
                client, "/v1/analytics/timeseries?metric=handoffs&interval=hour&from=2024-01-01T00:00:00Z&to=2025-02-04T00:00:00Z",
                key: tenant.key
            ))
            #expect((year["points"] as? [Any])?.count == 400 * 24)
        }
    }

    @Test("the OpenAPI document names every metric with its meaning, on both routes")
    func documented() async throws {
        try await withApp { client in
            let document = try await client.execute(uri: "/openapi.json", method: .get) { try object($0) }
            let paths = try #require(document["paths"] as? [String: Any])
            for path in ["/v1/analytics/summary", "/v1/analytics/timeseries"] {
                let get = try #require((paths[path] as? [String: Any])?["get"] as? [String: Any], "\(path)")
                let description = try #require(get["description"] as? String)
                for metric in AnalyticsMetric.allCases {
                    #expect(description.contains("`\(metric.rawValue)`: \(metric.meaning)"), "\(path) \(metric.rawValue)")
                }
            }
        }
    }

    @Test("closing, reopening, handing off and resuming a conversation are recorded as events for the figures")
    func conversationEvents() async throws {
        try await withApp { client in
            let tenant = try await createTenant(client)
            let channel = try await createChannel(client, key: tenant.key, kind: "webhook", credentials: [:])
            let contact = UUID().uuidString.lowercased()
            let conversation = UUID().uuidString.lowercased()
            _ = try await ownerCount(
                """
                WITH c AS (INSERT INTO contacts (tenant_id, id) VALUES ('\(tenant.id)', '\(contact)') RETURNING 1)
                INSERT INTO conversations (tenant_id, id, channel_id, contact_id, chat_external_id)
                SELECT '\(tenant.id)', '\(conversation)', '\(channel.id)', '\(contact)', 'chat' FROM c RETURNING 1
                """
            )
            for action in ["handoff", "resume", "close", "reopen", "close"] {
                let response = try await client.execute(
                    uri: "/v1/conversations/\(conversation)/\(action)", method: .post, headers: headers(bearer: tenant.key)
                ) { $0 }
                #expect(response.status == .ok, "\(action): \(String(buffer: response.body))")
            }
            let kinds = try await ownerCount(
                """
                SELECT count(*) FROM (SELECT string_agg(kind, ',' ORDER BY id) AS k FROM conversation_events
                                      WHERE conversation_id = '\(conversation)') e
                WHERE k = 'handoff,resumed,closed,reopened,closed'
                """
            )
            #expect(kinds == 1)
        }
    }
}

@Suite("Analytics from the real pipeline: a delivery answered after retries and a fallback, rolled up by the refresh job")
struct AnalyticsPipelineTests {
    @Test("a redelivered message answered after three 5xx and a fallback counts once, with every call and the credits captured")
    func pipeline() async throws {
        try await withAgentWorld { model, _, client, harness in
            let setup = try await setUpAgent(client, model: model)
            try await addAnthropicFallback(client, setup, model: model)
            await model.enqueue(.status(500), .status(502), .status(503), .answer("Из запасного провайдера"))
            for _ in 0..<2 {
                let response = try await deliver(
                    client, channel: setup.channel.id, body: try fixture("text_private"), headers: telegramHeaders(setup.secret)
                )
                #expect(response.status == .ok)
            }
            #expect(try await harness.drain() == 1)

            let analytics = PostgresAnalyticsStore(database: harness.bootstrap.database)
            // Far behind (the history starts three days ago), the refresh moves a day per
            // transaction until it has caught up.
            _ = try await harness.count(
                "WITH m AS (UPDATE messages SET created_at = now() - interval '3 days' WHERE direction = 'inbound' RETURNING 1) SELECT count(*)::int FROM m"
            )
            let first = try #require(try await analytics.refresh(now: Date()))
            #expect(first.rows > 0)
            #expect(Date().timeIntervalSince(first.from) > 3 * 86_400 - 3600)
            _ = try await harness.count(
                "WITH m AS (UPDATE messages SET created_at = now() WHERE direction = 'inbound' RETURNING 1) SELECT count(*)::int FROM m"
            )
            _ = try await harness.count("UPDATE analytics_state SET refreshed_at = NULL RETURNING 1")
            try #require(try await analytics.refresh(now: Date()) != nil)
            // A second refresh recomputes the same hours: the figures do not move.
            try #require(try await analytics.refresh(now: Date()) != nil)
            #expect(try await harness.count("SELECT count(*)::int FROM analytics_state WHERE refreshed_at IS NOT NULL") == 1)
            // The open month is never rolled up: its days are read instead.
            #expect(try await harness.count("SELECT count(*)::int FROM analytics_months WHERE month >= date_trunc('month', now())") == 0)

            let formatter = ISO8601DateFormatter()
            let range = "from=\(formatter.string(from: Date().addingTimeInterval(-3600)))&to=\(formatter.string(from: Date().addingTimeInterval(3600)))"
            let response = try await client.execute(
                uri: "/v1/analytics/summary?\(range)", method: .get, headers: headers(bearer: setup.tenant.key)
            ) { $0 }
            let body = try object(response)
            let figures = try #require(body["metrics"] as? [String: Any])
            let captured = try await harness.count("SELECT (-sum(amount_micros))::int FROM credit_entries WHERE kind = 'capture'")
            #expect(captured > 0)
            let expected: [String: Double] = [
                "inbound_messages": 1, "outbound_messages": 1, "ai_answers": 1, "new_contacts": 1, "active_contacts": 1,
                "conversations_opened": 1, "provider_calls": 4, "provider_errors": 3, "fallbacks": 1, "handoffs": 0,
                "credits_spent_micros": Double(captured),
            ]
            for (name, value) in expected { #expect(figures[name] as? Double == value, "\(name)") }
            #expect(body["refreshed_at"] is String)
            await harness.gauges.refresh()
            let exposition = try await client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
            let staleness = exposition.split(separator: "\n").first { $0.hasPrefix("switchboard_analytics_staleness_seconds ") }
            let seconds = try #require(staleness.flatMap { Double($0.split(separator: " ").last ?? "") }, "\(exposition)")
            #expect(seconds >= 0 && seconds < 600)
            #expect(exposition.contains("switchboard_analytics_refresh_duration_seconds "))
        }
    }
}
