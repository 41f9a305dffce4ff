import Foundation
import Logging
import PostgresNIO
import SwitchboardCore
import SwitchboardPostgres
import SwitchboardTestSupport
import Testing

@Suite("Reply jobs taken in the ingest transaction for free workers")
struct IngestTakesJobsTests {
    let logger = TestDatabase.logger

    func route(_ database: Database) async throws -> ChannelRoute {
        try await IngestFixtures.webhookRoute(database, tenantName: "Take")
    }

    func delivery(_ route: ChannelRoute, event: String, sender: String) -> IngestDelivery {
        IngestFixtures.message(route, event: event, sender: sender)
    }

    /// Each reply job's status, attempts and worker, by message.
    func jobs(_ database: Database) async throws -> [UUID: (status: String, attempts: Int, worker: String?)] {
        try await database.withWorker { connection in
            var jobs: [UUID: (String, Int, String?)] = [:]
            let rows = try await connection.query("SELECT message_id, status, attempts, locked_by FROM jobs WHERE kind = 'reply'", logger: logger)
            for try await (message, status, attempts, worker) in rows.decode((UUID, String, Int32, String?).self) {
                jobs[message] = (status, Int(attempts), worker)
            }
            return jobs
        }
    }

    @Test("a free worker's job is taken with its context; the one left over is queued and notified; a dead taker's job is claimed again after its lease")
    func takesAsManyAsFree() async throws {
        try await withAppDatabase(ownDatabase: true) { database in
            let route = try await route(database)
            let store = PostgresIngestStore(database: database)
            let now = Date()
            let taking = JobTaking(limit: 1, now: now, lease: .seconds(120), worker: "ingest-worker")
            let (ingested, notified) = try await database.client.withConnection { connection in
                try await connection.listen(on: "switchboard_jobs") { notifications in
                    // Two new messages and a redelivery of the first; room for one job.
                    let ingested = try await store.ingest(
                        batch: [delivery(route, event: "e1", sender: "s1"), delivery(route, event: "e2", sender: "s2"), delivery(route, event: "e1", sender: "s1")],
                        taking: taking
                    )
                    for try await notification in notifications { return (ingested, notification.payload) }
                    return (ingested, "none")
                }
            }
            #expect(notified == "", "the job left queued wakes the workers")
            #expect(ingested.results.map { $0.map(\.created) } == [[true], [true], [false]])
            let first = try #require(ingested.results[0].first?.messageID)
            let second = try #require(ingested.results[1].first?.messageID)

            #expect(ingested.taken.count == 1)
            let taken = try #require(ingested.taken.first)
            #expect(taken.job.messageID == first)
            #expect(taken.job.kind == .reply)
            #expect(taken.job.attempt == 1)
            #expect(taken.job.tenantID == route.tenantID)
            guard case .read(let document?) = taken.document else {
                Issue.record("the taken job carries no context")
                return
            }
            #expect(document.contains("text of e1"), "its reply_context: \(document)")

            var states = try await jobs(database)
            #expect(states[first.uuid]?.status == "running")
            #expect(states[first.uuid]?.attempts == 1)
            #expect(states[first.uuid]?.worker == "ingest-worker")
            #expect(states[second.uuid]?.status == "queued")

            // A claim takes only the job left queued: the taken one is leased.
            let jobStore = PostgresJobStore(database: database)
            // The queued job's time is the database's clock at its insert, which a loaded
            // machine may put seconds after `now`: the claim is made at that very time.
            let queuedAt = try #require(try await database.withWorker { connection -> Date? in
                let rows = try await connection.query("SELECT run_after FROM jobs WHERE message_id = \(second.uuid)", logger: logger)
                for try await runAfter in rows.decode(Date.self) { return runAfter }
                return nil
            }, "the second message has a queued job")
            #expect(queuedAt < now.addingTimeInterval(120), "the claim below must come before the taken job's lease runs out")
            let claimed = try await jobStore.claim(kinds: [.reply], limit: 5, now: queuedAt, lease: .seconds(120), worker: "claimer")
            #expect(claimed.map(\.messageID) == [second])
            // Its taker died: once the lease has run out, the job is claimed again, fenced by
            // a later attempt.
            let again = try await jobStore.claim(kinds: [.reply], limit: 5, now: now.addingTimeInterval(121), lease: .seconds(120), worker: "successor")
            #expect(again.map(\.messageID).contains(first))
            #expect(again.first { $0.messageID == first }?.attempt == 2)
            states = try await jobs(database)
            #expect(states[first.uuid]?.worker == "successor")
        }
    }

    @Test("when every new message's job is taken, the ingest wakes no one; edits and statuses take no job")
    func noNotificationWhenAllTaken() async throws {
        try await withAppDatabase(ownDatabase: true) { database in
            let route = try await route(database)
            let store = PostgresIngestStore(database: database)
            let taking = JobTaking(limit: 8, now: Date(), lease: .seconds(120), worker: "w")
            _ = try await store.ingest(batch: [delivery(route, event: "m1", sender: "s1")], taking: nil)
            let (ingested, first) = try await database.client.withConnection { connection in
                try await connection.listen(on: "switchboard_jobs") { notifications in
                    let ingested = try await store.ingest(
                        batch: [
                            delivery(route, event: "m2", sender: "s1"), delivery(route, event: "m3", sender: "s2"),
                            // An edit of m1, whose own job is still queued: not taken.
                            IngestDelivery(route: route, payload: "{}", events: [
                                IngestEvent(kind: .edit, eventID: "m1-edit", messageID: "m1", text: "edited"),
                            ]),
                        ],
                        taking: taking
                    )
                    // Notifications arrive in commit order: the marker comes first only when
                    // the ingest sent none.
                    try await database.withWorker { other in
                        try await other.query("NOTIFY switchboard_jobs, 'marker'", logger: logger)
                    }
                    for try await notification in notifications { return (ingested, notification.payload) }
                    return (ingested, "none")
                }
            }
            #expect(first == "marker")
            #expect(ingested.taken.count == 2)
            #expect(Set(ingested.taken.map(\.job.messageID)) == Set(ingested.results[0...1].compactMap { $0.first?.messageID }))
            let states = try await jobs(database)
            #expect(states.values.filter { $0.status == "queued" }.count == 1, "m1's job, untouched by its edit")
        }
    }

    @Test("one batch of two tenants takes each tenant's job with its own context, read in its own tenant's scope")
    func eachTenantsContext() async throws {
        try await withAppDatabase(ownDatabase: true) { database in
            let a = try await IngestFixtures.webhookRoute(database, tenantName: "A")
            let b = try await IngestFixtures.webhookRoute(database, tenantName: "B")
            let ingested = try await PostgresIngestStore(database: database).ingest(
                batch: [IngestFixtures.message(a, event: "same", sender: "s", text: "from A"), IngestFixtures.message(b, event: "same", sender: "s", text: "from B")],
                taking: JobTaking(limit: 2, now: Date(), lease: .seconds(120), worker: "w")
            )
            #expect(ingested.taken.count == 2)
            for (route, text, other) in [(a, "from A", "from B"), (b, "from B", "from A")] {
                let taken = try #require(ingested.taken.first { $0.job.tenantID == route.tenantID })
                guard case .read(let document?) = taken.document else {
                    Issue.record("no context for \(route.tenantID)")
                    continue
                }
                #expect(document.contains(text))
                #expect(!document.contains(other), "another tenant's message in the context: \(document)")
            }
        }
    }

    @Test("the batch function of the previous build, which replicas still run during an upgrade, stores and notifies as before")
    func previousSignature() async throws {
        try await withAppDatabase(ownDatabase: true) { database in
            let route = try await route(database)
            let batch = #"[{"tenant":"\#(route.tenantID)","channel":"\#(route.channelID)","kind":"webhook","payload":"{}","events":[{"kind":"message","event_id":"old","message_id":"old","sender":{"external_id":"s"},"text":"hi"}]}]"#
            let (created, notified) = try await database.client.withConnection { connection in
                try await connection.listen(on: "switchboard_jobs") { notifications in
                    let created = try await database.withWorker { other in
                        try await other.query("SELECT created FROM ingest_deliveries(\(batch)::jsonb)", logger: logger).collect().map { try $0.decode(Bool.self) }
                    }
                    for try await notification in notifications { return (created, notification.payload) }
                    return (created, "none")
                }
            }
            #expect(created == [true])
            #expect(notified == "")
            let states = try await jobs(database)
            #expect(states.values.map(\.status) == ["queued"])
        }
    }
}
