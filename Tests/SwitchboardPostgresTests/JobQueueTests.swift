import Foundation
import Logging
import PostgresNIO
import SwitchboardCore
import SwitchboardPostgres
import SwitchboardTestSupport
import Testing

@Suite("The job queue: leases, fencing, the worker scope, wake-ups")
struct JobQueueTests {
    let logger = TestDatabase.logger

    /// Enqueues a job as ingest does, in the tenant's scope.
    func enqueue(_ database: Database, _ tenant: TenantID, kind: String = "reply") async throws -> MessageID {
        let message = MessageID()
        try await database.withTenant(tenant) { connection in
            try await connection.query(
                "INSERT INTO jobs (tenant_id, id, kind, message_id) VALUES (\(tenant.uuid), gen_random_uuid(), \(kind), \(message.uuid))",
                logger: logger
            )
        }
        return message
    }

    @Test("a job is taken by exactly one of many racing workers")
    func claimIsExclusive() async throws {
        try await withAppDatabase(ownDatabase: true) { database in
            let store = PostgresTenantStore(database: database)
            let (tenant, _) = try await store.createTenant(name: "Queue", trialCredits: .zero, firstKey: newKey().key)
            let message = try await enqueue(database, tenant.id)
            let jobs = PostgresJobStore(database: database)
            let now = Date()
            let taken = try await withThrowingTaskGroup(of: [ClaimedJob].self) { group in
                for worker in 0..<4 {
                    group.addTask { try await jobs.claim(kinds: [.reply], limit: 1, now: now, lease: .seconds(60), worker: "w\(worker)") }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(taken.map(\.messageID) == [message])
            #expect(taken.first?.attempt == 1)
            #expect(taken.first?.tenantID == tenant.id)
        }
    }

    @Test("a lease that ran out lets the next worker take the job, and fences out the first")
    func leaseExpiryAndFencing() async throws {
        try await withAppDatabase(ownDatabase: true) { database in
            let store = PostgresTenantStore(database: database)
            let (tenant, _) = try await store.createTenant(name: "Lease", trialCredits: .zero, firstKey: newKey().key)
            _ = try await enqueue(database, tenant.id, kind: "send")
            let jobs = PostgresJobStore(database: database)
            let start = Date()
            let first = try #require(try await jobs.claim(kinds: [.send], limit: 5, now: start, lease: .seconds(60), worker: "dies").first)
            let during = try await jobs.claim(kinds: [.send], limit: 5, now: start.addingTimeInterval(59), lease: .seconds(60), worker: "b")
            #expect(during.isEmpty)
            let second = try #require(
                try await jobs.claim(kinds: [.send], limit: 5, now: start.addingTimeInterval(61), lease: .seconds(60), worker: "b").first
            )
            #expect(second.id == first.id)
            #expect(second.attempt == 2)
            // The first worker comes back: its attempt is no longer the latest.
            await #expect(throws: JobLeaseLost.self) {
                try await jobs.retry(first, runAfter: start, error: "late")
            }
            #expect(try await jobs.extendLease(first, until: start.addingTimeInterval(600)) == false)
            #expect(try await jobs.extendLease(second, until: start.addingTimeInterval(600)) == true)
        }
    }

    @Test("a job for later is not taken before its time; kinds are taken only when asked for")
    func runAfterAndKinds() async throws {
        try await withAppDatabase(ownDatabase: true) { database in
            let store = PostgresTenantStore(database: database)
            let (tenant, _) = try await store.createTenant(name: "Later", trialCredits: .zero, firstKey: newKey().key)
            _ = try await enqueue(database, tenant.id, kind: "reply")
            let jobs = PostgresJobStore(database: database)
            let now = Date()
            #expect(try await jobs.claim(kinds: [.send], limit: 5, now: now, lease: .seconds(60), worker: "w").isEmpty)
            let job = try #require(try await jobs.claim(kinds: [.reply], limit: 5, now: now, lease: .seconds(60), worker: "w").first)
            try await jobs.retry(job, runAfter: now.addingTimeInterval(30), error: "busy")
            #expect(try await jobs.claim(kinds: [.reply], limit: 5, now: now.addingTimeInterval(29), lease: .seconds(60), worker: "w").isEmpty)
            let again = try await jobs.claim(kinds: [.reply], limit: 5, now: now.addingTimeInterval(31), lease: .seconds(60), worker: "w")
            #expect(again.map(\.attempt) == [2])
        }
    }

    @Test("the worker scope sees every tenant's jobs and none of their messages")
    func workerScope() async throws {
        try await withAppDatabase(ownDatabase: true) { database in
            let store = PostgresTenantStore(database: database)
            let (a, _) = try await store.createTenant(name: "A", trialCredits: .zero, firstKey: newKey().key)
            let (b, _) = try await store.createTenant(name: "B", trialCredits: .zero, firstKey: newKey().key)
            _ = try await enqueue(database, a.id)
            _ = try await enqueue(database, b.id)
            let counts = try await database.withWorker { connection in
                (
                    try await connection.integer("SELECT count(DISTINCT tenant_id)::int FROM jobs", logger: logger),
                    try await connection.integer("SELECT count(*)::int FROM tenants", logger: logger),
                    try await connection.integer("SELECT count(*)::int FROM messages", logger: logger)
                )
            }
            #expect(counts.0 == 2)
            #expect(counts.1 == 0)
            #expect(counts.2 == 0)
            // And a tenant's own scope still sees only its own jobs.
            let own = try await database.withTenant(a.id) { connection in
                try await connection.integer("SELECT count(*)::int FROM jobs", logger: logger)
            }
            #expect(own == 1)
        }
    }

    @Test("a new job notifies the listeners on switchboard_jobs when its transaction commits")
    func enqueueNotifies() async throws {
        try await withAppDatabase(ownDatabase: true) { database in
            let store = PostgresTenantStore(database: database)
            let (tenant, _) = try await store.createTenant(name: "Notify", trialCredits: .zero, firstKey: newKey().key)
            let received = try await database.client.withConnection { connection in
                try await connection.listen(on: "switchboard_jobs") { notifications in
                    _ = try await enqueue(database, tenant.id)
                    for try await notification in notifications { return notification.payload }
                    return "none"
                }
            }
            #expect(received == "")
        }
    }
}
