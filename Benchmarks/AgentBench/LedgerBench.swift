// switchboard-bench ledger [--connections 32] [--duration 10] [--tenants 100]
//     Charges per second on one hot tenant and across `tenants` tenants, with `connections`
//     concurrent callers on a pool of as many connections, against a durable PostgreSQL
//     (the embedded cluster under $SWITCHBOARD_HOME, or DATABASE_URL): each charge a
//     keyed `credit_apply` call of its own, then the same through the LedgerBatcher; next
//     to the ceiling of a plain single-row `UPDATE … SET n = n + 1` measured the same way
//     (one hot row, and spread over `tenants` rows). Checks the ledger's sums at the end.
import Foundation
import Logging
import PostgresNIO
import SwitchboardApp
import SwitchboardCore
import SwitchboardPipeline
import SwitchboardPostgres
import Synchronization

struct LedgerBench {
    let connections: Int
    let duration: Duration
    let tenantCount: Int

    func run() async throws {
        let logger = {
            var logger = Logger(label: "bench")
            logger.logLevel = .error
            return logger
        }()
        var configuration = try AppConfiguration.fromEnvironment()
        configuration.databasePoolSize = connections
        configuration.databaseAcquireTimeout = .seconds(60)
        let bootstrap = try await Bootstrap.prepare(configuration, logger: logger)
        let owner = PostgresClient(
            configuration: bootstrap.ownerConfiguration.clientConfiguration(maximumConnections: connections), backgroundLogger: logger
        )
        try await bootstrap.run { bootstrap in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await owner.run() }
                defer { group.cancelAll() }
                try await measure(bootstrap.database, owner: owner, logger: logger)
            }
        }
    }

    func measure(_ database: Database, owner: PostgresClient, logger: Logger) async throws {
        let tenants = PostgresTenantStore(database: database)
        let ledger = PostgresCreditStore(database: database)
        let plenty = Credits(micros: 1_000_000_000_000_000)
        var ids: [TenantID] = []
        for index in 0...tenantCount {
            let key = NewAPIKey(name: "bench", prefix: "sb_live_bench", hash: (0..<32).map { _ in UInt8.random(in: 0...255) })
            ids.append(try await tenants.createTenant(name: "bench \(index)", trialCredits: plenty, firstKey: key).0.id)
        }
        let hot = ids[0]
        let spread = Array(ids.dropFirst())
        try await owner.query("DROP TABLE IF EXISTS bench_counters", logger: logger)
        try await owner.query("CREATE TABLE bench_counters (id int PRIMARY KEY, n bigint NOT NULL)", logger: logger)
        try await owner.query("INSERT INTO bench_counters SELECT g, 0 FROM generate_series(0, \(tenantCount)) g", logger: logger)
        let rows = tenantCount

        print("| what (\(connections) connections, \(duration)) | per second | p50 ms | p99 ms |")
        print("|---|---:|---:|---:|")
        try await report("ceiling: plain UPDATE of one row") { _ in
            try await owner.query("UPDATE bench_counters SET n = n + 1 WHERE id = 0", logger: logger)
        }
        try await report("ceiling: plain UPDATE spread over \(rows) rows") { _ in
            try await owner.query("UPDATE bench_counters SET n = n + 1 WHERE id = \(Int.random(in: 1...rows))", logger: logger)
        }
        try await report("charges, one hot tenant, a call each") { _ in
            _ = try await ledger.apply(hot, [.charge(key: UUID().uuidString, amount: Credits(micros: 1), reason: "bench")])
        }
        try await report("charges over \(tenantCount) tenants, a call each") { _ in
            _ = try await ledger.apply(spread.randomElement()!, [.charge(key: UUID().uuidString, amount: Credits(micros: 1), reason: "bench")])
        }
        let batcher = LedgerBatcher(store: ledger)
        try await report("charges, one hot tenant, batched") { _ in
            _ = try await batcher.apply(hot, .charge(key: UUID().uuidString, amount: Credits(micros: 1), reason: "bench"), logger: logger)
        }
        try await report("charges over \(tenantCount) tenants, batched") { _ in
            _ = try await batcher.apply(spread.randomElement()!, .charge(key: UUID().uuidString, amount: Credits(micros: 1), reason: "bench"), logger: logger)
        }
        try await report("hold + capture, one hot tenant, batched holds") { _ in
            let held = try await batcher.apply(hot, .hold(reference: UUID().uuidString, amount: Credits(micros: 10), expiresAt: Date().addingTimeInterval(600), reason: "bench"), logger: logger)
            _ = try await batcher.apply(hot, .capture(holdID: held.holdID!, amount: Credits(micros: 3), reason: "bench"), logger: logger)
        }

        // The sums still hold after everything above.
        let account = try await ledger.account(hot)
        let sums = try await database.withTenant(hot) { connection in
            var result: (Int64, Int64) = (-1, -1)
            for try await row in try await connection.query(
                "SELECT sum(amount_micros)::int8, sum(held_delta_micros)::int8 FROM credit_entries WHERE tenant_id = \(hot.uuid)",
                logger: logger
            ).decode((Int64, Int64).self) { result = row }
            return result
        }
        let holds = sums.0 == account.balance.micros && sums.1 == account.held.micros
        print("\nhot tenant: balance \(account.balance.micros) = sum of entries \(sums.0): \(holds ? "yes" : "NO"); held \(account.held.micros)")
        try await owner.query("DROP TABLE bench_counters", logger: logger)
    }

    /// Runs `operation` from `connections` concurrent callers for the duration; prints a row.
    func report(_ name: String, _ operation: @escaping @Sendable (Int) async throws -> Void) async throws {
        let clock = ContinuousClock()
        let end = clock.now + duration
        let latencies = try await withThrowingTaskGroup(of: [Duration].self) { group in
            for caller in 0..<connections {
                group.addTask {
                    var own: [Duration] = []
                    while clock.now < end {
                        let started = clock.now
                        try await operation(caller)
                        own.append(clock.now - started)
                    }
                    return own
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }.sorted()
        func ms(_ quantile: Double) -> String {
            let value = latencies[min(latencies.count - 1, Int(Double(latencies.count) * quantile))]
            return String(format: "%.2f", Double(value.components.attoseconds) / 1e15 + Double(value.components.seconds) * 1000)
        }
        let seconds = Double(duration.components.seconds)
        print("| \(name) | \(Int(Double(latencies.count) / seconds)) | \(ms(0.5)) | \(ms(0.99)) |")
    }
}
