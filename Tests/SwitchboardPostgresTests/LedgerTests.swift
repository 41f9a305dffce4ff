import Foundation
import Logging
import PostgresNIO
import SwitchboardCore
import SwitchboardPipeline
import SwitchboardPostgres
import SwitchboardTestSupport
import Testing

@Suite("The credit ledger: exact, append-only, never below zero, never charged twice")
struct LedgerTests {
    let logger = TestDatabase.logger

    func tenant(_ database: Database, trial: Int64) async throws -> TenantID {
        let store = PostgresTenantStore(database: database)
        return try await store.createTenant(name: "Ledger", trialCredits: Credits(micros: trial), firstKey: newKey().key).0.id
    }

    /// balance = the sum of the entries; held = the sum of their held deltas = the open
    /// holds; balance ≥ held ≥ 0. Answers the account.
    @discardableResult
    func expectInvariants(_ database: Database, _ tenant: TenantID, sourceLocation: SourceLocation = #_sourceLocation) async throws
        -> CreditAccount
    {
        let account = try await PostgresCreditStore(database: database).account(tenant)
        let logger = self.logger
        let (sum, heldSum, open) = try await database.withTenant(tenant) { connection in
            let rows = try await connection.query(
                """
                SELECT COALESCE(sum(amount_micros), 0)::int8, COALESCE(sum(held_delta_micros), 0)::int8,
                       (SELECT COALESCE(sum(amount_micros), 0)::int8 FROM credit_holds WHERE tenant_id = \(tenant.uuid) AND status = 'open')
                FROM credit_entries WHERE tenant_id = \(tenant.uuid)
                """,
                logger: logger
            )
            for try await row in rows.decode((Int64, Int64, Int64).self) { return row }
            return (Int64(-1), Int64(-1), Int64(-1))
        }
        #expect(account.balance.micros == sum, "balance is the sum of the entries", sourceLocation: sourceLocation)
        #expect(account.held.micros == heldSum, "held is the sum of the held deltas", sourceLocation: sourceLocation)
        #expect(account.held.micros == open, "held is the open holds", sourceLocation: sourceLocation)
        #expect(account.balance >= account.held && account.held >= .zero, sourceLocation: sourceLocation)
        return account
    }

    @Test("the trial is posted once, at creation, as an entry; the account starts from it")
    func trial() async throws {
        try await withAppDatabase { database in
            let id = try await tenant(database, trial: 5_000_000)
            let account = try await expectInvariants(database, id)
            #expect(account.balance == Credits(micros: 5_000_000))
            let entries = try await PostgresCreditStore(database: database).entries(id, page: PageRequest())
            #expect(entries.data.map(\.kind) == [.trial])
            #expect(entries.data.first?.balanceAfter == Credits(micros: 5_000_000))
            // A second trial is refused by the database itself.
            await #expect(throws: SwitchboardError.self) {
                try await PostgresCreditStore(database: database)
                    .apply(id, [.credit(kind: .trial, amount: Credits(micros: 1), reason: "again", key: "trial-2")])
            }
            #expect(try await expectInvariants(database, id).balance == Credits(micros: 5_000_000))
        }
    }

    @Test("a storm of 1,000 concurrent charges from many connections: exactly floor(balance / cost) are charged, duplicates once")
    func storm() async throws {
        try await withAppDatabase(ownDatabase: true, connections: 24) { database in
            let cost: Int64 = 1_000
            let id = try await tenant(database, trial: 250 * cost + 500)
            let ledger = PostgresCreditStore(database: database)
            // 900 distinct keys; the first 100 of them are sent twice.
            let keys = (0..<900).map { "charge-\($0)" } + (0..<100).map { "charge-\($0)" }
            // 64 in flight at a time keep all 24 connections racing without a charge waiting
            // out the pool's acquire timeout on a loaded machine.
            let results = try await withThrowingTaskGroup(of: (String, LedgerResult).self) { group in
                var results: [(String, LedgerResult)] = []
                for (index, key) in keys.shuffled().enumerated() {
                    if index >= 64, let done = try await group.next() { results.append(done) }
                    group.addTask {
                        let result = try await ledger.apply(id, [.charge(key: key, amount: Credits(micros: cost), reason: "storm")])
                        return (key, result[0])
                    }
                }
                for try await done in group { results.append(done) }
                return results
            }
            #expect(results.count == 1_000)
            let charged = Set(results.filter { $0.1.outcome == .charged }.map(\.0))
            let chargedTwice = results.filter { $0.1.outcome == .charged }.count
            #expect(charged.count == 250)
            #expect(chargedTwice == 250, "no key was charged twice")
            #expect(results.filter { $0.1.outcome == .refused }.count + results.filter { $0.1.outcome == .duplicate }.count == 750)
            let account = try await expectInvariants(database, id)
            #expect(account.balance == Credits(micros: 500))
            let captures = try await database.withTenant(id) { connection in
                try await connection.integer("SELECT count(*)::int FROM credit_entries WHERE kind = 'capture'", logger: logger)
            }
            #expect(captures == 250)

            // A refused key, retried after a top-up, is charged; a charged key stays charged once.
            let refusedKey = try #require(Set(keys).subtracting(charged).first)
            let chargedKey = try #require(charged.first)
            #expect(try await ledger.apply(id, [.charge(key: refusedKey, amount: Credits(micros: cost), reason: "retry")])[0].outcome == .refused)
            _ = try await ledger.apply(id, [.credit(kind: .topUp, amount: Credits(micros: 10 * cost), reason: "top-up", key: "top-up-1")])
            #expect(try await ledger.apply(id, [.charge(key: refusedKey, amount: Credits(micros: cost), reason: "retry")])[0].outcome == .charged)
            #expect(try await ledger.apply(id, [.charge(key: chargedKey, amount: Credits(micros: cost), reason: "retry")])[0].outcome == .duplicate)
            // The same key with another amount is not a retry: nothing is done.
            #expect(try await ledger.apply(id, [.charge(key: chargedKey, amount: Credits(micros: 7), reason: "retry")])[0].outcome == .keyReused)
            let after = try await expectInvariants(database, id)
            #expect(after.balance == Credits(micros: 500 + 10 * cost - cost))
        }
    }

    @Test("the same storm through the batcher: batches applied in order under the lock give the same exact outcome")
    func batchedStorm() async throws {
        try await withAppDatabase(ownDatabase: true, connections: 8) { database in
            let cost: Int64 = 1_000
            let id = try await tenant(database, trial: 250 * cost + 500)
            let other = try await tenant(database, trial: 10 * cost)
            let batcher = LedgerBatcher(store: PostgresCreditStore(database: database), maximumBatch: 64)
            let keys = (0..<900).map { "charge-\($0)" } + (0..<100).map { "charge-\($0)" }
            let results = try await withThrowingTaskGroup(of: (String, LedgerResult).self) { group in
                for key in keys.shuffled() {
                    group.addTask {
                        (key, try await batcher.apply(id, .charge(key: key, amount: Credits(micros: cost), reason: "storm"), logger: logger))
                    }
                }
                // A bad operation in the same batches fails alone; another tenant's charges go on.
                group.addTask {
                    do {
                        _ = try await batcher.apply(id, .charge(key: "bad", amount: Credits(micros: -1), reason: "bad"), logger: logger)
                        return ("bad", LedgerResult(outcome: .charged, balance: .zero, held: .zero))
                    } catch {
                        return ("bad", LedgerResult(outcome: .refused, balance: .zero, held: .zero))
                    }
                }
                group.addTask {
                    ("other", try await batcher.apply(other, .charge(key: "o", amount: Credits(micros: cost), reason: "other"), logger: logger))
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let charged = results.filter { $0.1.outcome == .charged && $0.0.hasPrefix("charge-") }
            #expect(Set(charged.map(\.0)).count == 250)
            #expect(charged.count == 250)
            #expect(results.first { $0.0 == "bad" }?.1.outcome == .refused)
            #expect(results.first { $0.0 == "other" }?.1.outcome == .charged)
            #expect(try await expectInvariants(database, id).balance == Credits(micros: 500))
            #expect(try await expectInvariants(database, other).balance == Credits(micros: 9 * cost))
        }
    }

    @Test("a hold reserves, its capture takes the real cost and releases the rest; beyond the balance nothing goes below zero")
    func holds() async throws {
        try await withAppDatabase { database in
            let id = try await tenant(database, trial: 10_000)
            let ledger = PostgresCreditStore(database: database)
            let later = Date().addingTimeInterval(600)
            let hold = try await ledger.apply(id, [.hold(reference: "reply:1", amount: Credits(micros: 4_000), expiresAt: later, reason: "worst case")])[0]
            #expect(hold.outcome == .held)
            #expect(hold.held == Credits(micros: 4_000))
            // The same reference again is the same hold, not a second one.
            let again = try await ledger.apply(id, [.hold(reference: "reply:1", amount: Credits(micros: 4_000), expiresAt: later, reason: "again")])[0]
            #expect(again.outcome == .duplicate)
            #expect(again.holdID == hold.holdID)
            // What is held cannot be held again or charged.
            let short = try await ledger.apply(id, [.hold(reference: "reply:2", amount: Credits(micros: 6_001), expiresAt: later, reason: "too much")])[0]
            #expect(short.outcome == .refused)
            #expect(try await ledger.apply(id, [.charge(key: "c", amount: Credits(micros: 6_001), reason: "too much")])[0].outcome == .refused)

            let holdID = try #require(hold.holdID)
            let capture = try await ledger.apply(id, [.capture(holdID: holdID, amount: Credits(micros: 1_234), reason: "reply")])[0]
            #expect(capture.outcome == .captured)
            #expect(capture.balance == Credits(micros: 10_000 - 1_234))
            #expect(capture.held == .zero)
            #expect(try await ledger.apply(id, [.capture(holdID: holdID, amount: Credits(micros: 1_234), reason: "twice")])[0].outcome == .duplicate)
            #expect(try await ledger.apply(id, [.release(holdID: holdID, reason: "late")])[0].outcome == .duplicate)

            // A call that cost more than its hold and all that is left: what is left is taken,
            // the rest recorded as uncollected, and the balance stops at zero.
            let second = try await ledger.apply(id, [.hold(reference: "reply:3", amount: Credits(micros: 1_000), expiresAt: later, reason: "worst")])[0]
            let over = try await ledger.apply(id, [.capture(holdID: try #require(second.holdID), amount: Credits(micros: 50_000), reason: "dear")])[0]
            #expect(over.captured == Credits(micros: 10_000 - 1_234))
            #expect(over.uncollected == Credits(micros: 50_000 - (10_000 - 1_234)))
            #expect(over.balance == .zero)
            let kinds = try await ledger.entries(id, page: PageRequest()).data.map(\.kind)
            #expect(kinds == [.capture, .hold, .release, .capture, .hold, .trial], "newest first; the first capture released the rest of its hold")
            try await expectInvariants(database, id)
        }
    }

    @Test("a worker that died between hold and capture leaves a hold the sweeper releases; no credit is lost or created")
    func sweeper() async throws {
        try await withAppDatabase(ownDatabase: true) { database in
            let id = try await tenant(database, trial: 10_000)
            let ledger = PostgresCreditStore(database: database)
            let start = Date()
            let dead = try await ledger.apply(id, [.hold(reference: "reply:dead", amount: Credits(micros: 3_000), expiresAt: start.addingTimeInterval(60), reason: "w")])[0]
            let alive = try await ledger.apply(id, [.hold(reference: "reply:alive", amount: Credits(micros: 2_000), expiresAt: start.addingTimeInterval(600), reason: "w")])[0]
            #expect(try await ledger.expireHolds(now: start.addingTimeInterval(59)) == 0)
            #expect(try await ledger.expireHolds(now: start.addingTimeInterval(61)) == 1)
            #expect(try await ledger.expireHolds(now: start.addingTimeInterval(62)) == 0)
            var account = try await expectInvariants(database, id)
            #expect(account.balance == Credits(micros: 10_000))
            #expect(account.held == Credits(micros: 2_000))
            // The dead worker's late capture no longer has a hold: it takes only what is available.
            let late = try await ledger.apply(id, [.capture(holdID: try #require(dead.holdID), amount: Credits(micros: 500), reason: "late")])[0]
            #expect(late.outcome == .captured)
            _ = try await ledger.apply(id, [.release(holdID: try #require(alive.holdID), reason: "done")])
            account = try await expectInvariants(database, id)
            #expect(account.balance == Credits(micros: 9_500))
            #expect(account.held == .zero)
        }
    }

    @Test("granted credits expire by an expiry entry; spending draws on the soonest-expiring credits first; held credits wait")
    func grantExpiry() async throws {
        try await withAppDatabase(ownDatabase: true) { database in
            let id = try await tenant(database, trial: 0)
            let ledger = PostgresCreditStore(database: database)
            let start = Date()
            func grant(_ amount: Int64, expiresIn seconds: TimeInterval, _ key: String) async throws {
                let result = try await ledger.apply(id, [.credit(
                    kind: .grant, amount: Credits(micros: amount), reason: "promotion", key: key, expiresAt: start.addingTimeInterval(seconds)
                )])
                #expect(result[0].outcome == .credited)
            }
            // Two grants, the later-expiring one first; a permanent top-up; a charge of 1,500.
            try await grant(1_000, expiresIn: 200, "late")
            try await grant(1_000, expiresIn: 100, "soon")
            _ = try await ledger.apply(id, [.credit(kind: .topUp, amount: Credits(micros: 500), reason: "top-up")])
            _ = try await ledger.apply(id, [.charge(key: "spend", amount: Credits(micros: 1_500), reason: "spend")])
            #expect(try await ledger.expireGrants(now: start.addingTimeInterval(50)) == 0)
            // The soon grant was spent first, in full: nothing of it is left to expire.
            #expect(try await ledger.expireGrants(now: start.addingTimeInterval(101)) == 0)
            #expect(try await expectInvariants(database, id).balance == Credits(micros: 1_000))
            // A hold on what is left keeps the held part from expiring until it is released.
            let hold = try await ledger.apply(id, [.hold(
                reference: "h", amount: Credits(micros: 800), expiresAt: start.addingTimeInterval(3_600), reason: "call"
            )])[0]
            // Of the late grant 500 are left (1,500 spent: 1,000 of soon, 500 of late); the
            // 800 held leave 200 available, which expire now.
            #expect(try await ledger.expireGrants(now: start.addingTimeInterval(201)) == 0)
            var account = try await expectInvariants(database, id)
            #expect(account.balance == Credits(micros: 800))
            #expect(account.held == Credits(micros: 800))
            _ = try await ledger.apply(id, [.release(holdID: try #require(hold.holdID), reason: "done")])
            #expect(try await ledger.expireGrants(now: start.addingTimeInterval(202)) == 1)
            account = try await expectInvariants(database, id)
            // What remains is the permanent top-up.
            #expect(account.balance == Credits(micros: 500))
            let expiries = try await ledger.entries(id, page: PageRequest(), kinds: [.expiry]).data
            #expect(expiries.map(\.amount.micros) == [-300, -200])
            #expect(try await ledger.expireGrants(now: start.addingTimeInterval(10_000)) == 0)
            #expect(try await expectInvariants(database, id).balance == Credits(micros: 500))
        }
    }

    @Test("the app role cannot write the ledger, and nobody can rewrite or delete an entry; the tenant's deletion takes them")
    func appendOnly() async throws {
        try await withAppDatabase { database, owner in
            let id = try await tenant(database, trial: 1_000)
            let logger = self.logger
            for statement in [
                "UPDATE credit_entries SET amount_micros = 1000000",
                "DELETE FROM credit_entries",
                "INSERT INTO credit_entries (tenant_id, kind, amount_micros, balance_after_micros, held_after_micros, reason) VALUES ('\(id)', 'grant', 1, 1, 0, 'x')",
                "UPDATE credit_accounts SET balance_micros = 1000000",
                "INSERT INTO credit_holds (tenant_id, id, reference, amount_micros, status, expires_at) VALUES ('\(id)', gen_random_uuid(), 'x', 1, 'open', now())",
            ] {
                let app = owner.with(username: Migrator.appRole, password: TestDatabase.appRolePassword)
                try await PostgresAdministration.withConnection(app, logger: logger) { connection in
                    try await connection.query("SELECT set_config('app.tenant_id', \(id.description), false)", logger: logger)
                    do {
                        try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                        Issue.record("the app role could run: \(statement)")
                    } catch let error as PSQLError {
                        #expect(error.serverInfo?[.sqlState] == "42501", "permission denied: \(statement)")
                    }
                }
            }
            try await PostgresAdministration.withConnection(owner, logger: logger) { connection in
                for statement in [
                    "UPDATE credit_entries SET amount_micros = 1000000 WHERE tenant_id = '\(id)'",
                    "DELETE FROM credit_entries WHERE tenant_id = '\(id)'",
                ] {
                    do {
                        try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                        Issue.record("the owner could run: \(statement)")
                    } catch let error as PSQLError {
                        #expect(error.serverInfo?[.sqlState] == "SBC02")
                    }
                }
                try await connection.query("DELETE FROM tenants WHERE id = \(id.uuid)", logger: logger)
                var left = -1
                for try await count in try await connection.query(
                    "SELECT count(*)::int FROM credit_entries WHERE tenant_id = \(id.uuid)", logger: logger
                ).decode(Int.self) { left = count }
                #expect(left == 0)
            }
        }
    }

    @Test("amounts the ledger cannot take are refused by the database, and change nothing")
    func hostileAmounts() async throws {
        try await withAppDatabase { database in
            let id = try await tenant(database, trial: 1_000)
            let ledger = PostgresCreditStore(database: database)
            for operation: LedgerOperation in [
                .charge(key: "zero", amount: .zero, reason: "x"),
                .charge(key: "negative", amount: Credits(micros: -5), reason: "x"),
                .credit(kind: .topUp, amount: .zero, reason: "x"),
                .credit(kind: .topUp, amount: Credits(micros: -5), reason: "x"),
                .hold(reference: "h", amount: .zero, expiresAt: Date(), reason: "x"),
            ] {
                await #expect(throws: (any Error).self, "\(operation)") { try await ledger.apply(id, [operation]) }
            }
            // A negative adjustment is allowed, but not below what is available.
            #expect(try await ledger.apply(id, [.credit(kind: .adjustment, amount: Credits(micros: -1_001), reason: "x")])[0].outcome == .refused)
            #expect(try await ledger.apply(id, [.credit(kind: .adjustment, amount: Credits(micros: -1_000), reason: "x")])[0].outcome == .credited)
            let account = try await expectInvariants(database, id)
            #expect(account.balance == .zero)
        }
    }

    @Test("the low-balance mark follows the balance across the threshold")
    func lowBalance() async throws {
        try await withAppDatabase { database in
            let id = try await tenant(database, trial: 1_000)
            let ledger = PostgresCreditStore(database: database)
            #expect(try await ledger.account(id).isLow == false)
            try await ledger.setLowBalanceThreshold(id, Credits(micros: 1_500))
            #expect(try await ledger.account(id).isLow)
            _ = try await ledger.apply(id, [.credit(kind: .topUp, amount: Credits(micros: 1_000), reason: "top-up")])
            #expect(try await ledger.account(id).isLow == false)
            _ = try await ledger.apply(id, [.charge(key: "k", amount: Credits(micros: 600), reason: "spend")])
            #expect(try await ledger.account(id).isLow)
        }
    }

    @Test("another tenant's ledger is invisible: its account, entries and holds")
    func isolation() async throws {
        try await withAppDatabase { database in
            let a = try await tenant(database, trial: 1_000)
            let b = try await tenant(database, trial: 2_000)
            let logger = self.logger
            let seen = try await database.withTenant(a) { connection in
                try await connection.integer(
                    "SELECT (SELECT count(*) FROM credit_entries WHERE tenant_id = \(b.uuid)) + (SELECT count(*) FROM credit_accounts WHERE tenant_id = \(b.uuid))",
                    logger: logger
                )
            }
            #expect(seen == 0)
        }
    }
}
