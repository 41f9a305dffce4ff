public import Foundation
public import Logging
import PostgresNIO
public import SwitchboardCore

/// The ingest transaction: one verified, parsed delivery stored whole or not at all —
/// events deduped, contacts and conversations found or created, messages stored with the
/// raw delivery, reply jobs enqueued — in one statement (`ingest_delivery`).
public struct PostgresIngestStore: IngestStore {
    let database: Database

    public init(database: Database) {
        self.database = database
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }()

    public func ingest(_ route: ChannelRoute, payload: String, events: [IngestEvent]) async throws -> [IngestResult] {
        let json = String(decoding: try Self.encoder.encode(events), as: UTF8.self)
        let logger = database.logger
        return try await database.withConnection { connection in
            let rows = try await connection.query(
                """
                SELECT event_id, created, message_id FROM ingest_delivery(
                    \(route.tenantID.uuid), \(route.channelID.uuid), \(route.kind), \(payload), \(json)::jsonb)
                """,
                logger: logger
            )
            var results: [IngestResult] = []
            for try await (eventID, created, message) in rows.decode((String, Bool, UUID?).self) {
                results.append(IngestResult(eventID: eventID, created: created, messageID: message.map { MessageID($0) }))
            }
            return results
        }
    }

    /// One delivery of a group commit.
    private struct BatchEntry: Encodable {
        var tenant: String
        var channel: String
        var kind: String
        var payload: String
        var events: [IngestEvent]
        var cursor: String?
        var leaseOwner: String?
        enum CodingKeys: String, CodingKey { case tenant, channel, kind, payload, events, cursor, leaseOwner = "lease_owner" }
    }

    /// Ingests several deliveries in one transaction (group commit): all are committed
    /// together, or none. Answers each delivery's results, in order.
    public func ingest(batch: [IngestDelivery]) async throws -> [[IngestResult]] {
        try await ingest(batch: batch, taking: nil).results
    }

    /// Ingests several deliveries in one transaction (group commit), and with `taking`
    /// takes up to its `limit` of the new messages' reply jobs in that same transaction
    /// (migration 0010): a job is then never queued, notified and claimed, and the rest
    /// wake the workers as before.
    public func ingest(batch: [IngestDelivery], taking: JobTaking?) async throws -> Ingested {
        try await ingest(batch: batch, taking: taking, logger: database.logger)
    }

    public func ingest(batch: [IngestDelivery], taking: JobTaking?, logger: Logger) async throws -> Ingested {
        let entries = batch.map {
            BatchEntry(
                tenant: $0.route.tenantID.description, channel: $0.route.channelID.description, kind: $0.route.kind,
                payload: $0.payload, events: $0.events, cursor: $0.cursor, leaseOwner: $0.leaseOwner
            )
        }
        let json = String(decoding: try Self.encoder.encode(entries), as: UTF8.self)
        let count = batch.count
        let database = self.database.logging(logger)
        return try await database.withConnection { connection in
            var ingested = Ingested(results: [[IngestResult]](repeating: [], count: count), taken: [])
            let rows = try await connection.execute(
                IngestDeliveriesStatement(
                    batch: json, take: Int32(taking?.limit ?? 0), now: taking?.now ?? Date(), leaseSeconds: taking?.lease.timeInterval ?? 0,
                    worker: taking?.worker ?? ""
                ),
                logger: logger
            )
            for try await (delivery, eventID, created, message, job, attempts, document) in rows where delivery < count {
                let messageID = message.map { MessageID($0) }
                ingested.results[delivery].append(IngestResult(eventID: eventID, created: created, messageID: messageID))
                if let job, let attempts, let messageID {
                    let claimed = ClaimedJob(
                        id: JobID(job), tenantID: batch[delivery].route.tenantID, kind: .reply, messageID: messageID, attempt: Int(attempts)
                    )
                    ingested.taken.append((claimed, .read(document)))
                }
            }
            return ingested
        }
    }

    /// Keeps a verified delivery that could not be parsed, with the reason.
    public func deadLetter(_ route: ChannelRoute, reason: String, contentType: String?, body: [UInt8], logger: Logger) async throws {
        let database = self.database.logging(logger)
        try await database.withTenant(route.tenantID) { connection in
            _ = try await connection.query(
                """
                INSERT INTO dead_letters (tenant_id, id, channel_id, reason, content_type, body)
                VALUES (\(route.tenantID.uuid), \(UUID()), \(route.channelID.uuid), \(reason), \(contentType), \(Data(body)))
                """,
                logger: logger
            )
        }
    }
}
