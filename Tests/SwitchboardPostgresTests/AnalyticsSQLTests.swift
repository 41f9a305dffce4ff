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
