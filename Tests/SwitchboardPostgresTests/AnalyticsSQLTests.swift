import Foundation
import PostgresNIO
import SwitchboardCore
import SwitchboardPostgres
import SwitchboardTestSupport
import Testing

@Suite("Analytics SQL: the histogram bounds and the sketch agree with SwitchboardCore")
struct AnalyticsSQLTests {
    @Test("analytics_bounds() is LatencyHistogram.bounds, and analytics_histogram buckets values as width_bucket does")
    func bounds() async throws {
        try await withAppDatabase { database in
            try await database.withoutScope { connection in
                var bounds: [Int32] = []
                for try await value in try await connection.query("SELECT analytics_bounds()", logger: TestDatabase.logger).decode([Int32].self) {
                    bounds = value
                }
                #expect(bounds.map(Int.init) == LatencyHistogram.bounds)
                var counts: [Int32] = []
                for try await value in try await connection.query(
                    "SELECT analytics_histogram(ARRAY[0, 99, 100, 2000, 86400000, NULL])", logger: TestDatabase.logger
                ).decode([Int32].self) {
                    counts = value
                }
                var expected = [Int32](repeating: 0, count: LatencyHistogram.bounds.count + 1)
                expected[0] = 2
                expected[1] = 1
                expected[5] = 1
                expected[LatencyHistogram.bounds.count] = 1
                #expect(counts == expected)
            }
        }
    }

    @Test("a sketch of 20,000 ids, built in SQL in four parts and merged in Swift, estimates within 3 %; one id twice counts once")
    func sketchAccuracy() async throws {
        try await withAppDatabase { database in
            try await database.withoutScope { connection in
                var sketch = ContactSketch()
                for part in 0..<4 {
                    // Ids overlap between parts: 5,000 new ones each, plus 1,000 of the last part's.
                    let rows = try await connection.query(
                        """
                        SELECT analytics_sketch(array_agg(md5(i::text)::uuid))
                        FROM generate_series(\(part * 5000 - (part > 0 ? 1000 : 0)), \(part * 5000 + 4999)) i
                        """,
                        logger: TestDatabase.logger
                    )
                    for try await sparse in rows.decode([Int32].self) { sketch.add(sparse: sparse) }
                }
                let estimate = sketch.estimate
                #expect(abs(estimate - 20_000) < 600, "estimate \(estimate)")
                var twice: [Int32] = []
                for try await value in try await connection.query(
                    "SELECT analytics_sketch(ARRAY['6f1c3f4e-0000-4000-8000-000000000001'::uuid, '6f1c3f4e-0000-4000-8000-000000000001'::uuid])",
                    logger: TestDatabase.logger
                ).decode([Int32].self) {
                    twice = value
                }
                #expect(ContactSketch(sparse: twice).estimate == 1)
            }
        }
    }
}

@Suite("The analytics benchmark's seed, small, on a database of its own")
struct AnalyticsSeedTests {
    /// The package's root, from this file's path.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test("Benchmarks/analytics-seed.sh seeds a year and rolls it up; each ended month is the sum of its days")
    func seed() async throws {
        let database = try await TestDatabase.shared.migratedDatabase(prefix: "seed")
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("analytics-seed-\(UUID().uuidString).log").path
        defer { try? FileManager.default.removeItem(atPath: log) }
        let result = try await SystemCommand(
            executable: "/usr/bin/env",
            arguments: [
                "MESSAGES=6000", "TENANTS=3", "SMALL_MESSAGES=40", "LOG=\(log)", "/bin/bash",
                Self.root.appendingPathComponent("Benchmarks/analytics-seed.sh").path, database.url,
            ]
        ).run()
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("wall time, all phases"), "\(result.output)")
        // Read as the owner, a superuser here as the seed needs: row-level security does
        // not apply.
        let (months, mismatched) = try await PostgresAdministration.withConnection(database, logger: TestDatabase.logger) { connection in
            let months = try await connection.integer("SELECT count(*)::int FROM analytics_months", logger: TestDatabase.logger)
            let mismatched = try await connection.integer(
                """
                SELECT count(*)::int FROM analytics_months r
                WHERE (SELECT coalesce(sum(inbound), 0) FROM analytics_monthly m WHERE m.month = r.month)
                   <> (SELECT coalesce(sum(inbound), 0) FROM analytics_daily d WHERE date_trunc('month', d.day::timestamp)::date = r.month)
                   OR (SELECT coalesce(sum(credits_micros), 0) FROM analytics_model_monthly m WHERE m.month = r.month)
                   <> (SELECT coalesce(sum(credits_micros), 0) FROM analytics_model_daily d WHERE date_trunc('month', d.day::timestamp)::date = r.month)
                """,
                logger: TestDatabase.logger
            )
            return (months, mismatched)
        }
        // A year back from now: twelve or thirteen months have ended, by the day it runs
        // (the open one is not rolled up).
        #expect((12...13).contains(months), "\(months) months")
        #expect(mismatched == 0)
    }
}
