import Foundation
import PostgresNIO

// The statements every answered message runs — its ingest (which may take its reply job),
// the claim of its jobs with their contexts, the stored answer and the recorded send — as
// named prepared statements:
// each pooled connection parses, analyzes and plans them once, not on every call
// (pg_stat_statements put that at 0.04–0.05 ms of planning alone per call on the agents
// benchmark). postgres-nio prepares a statement on a connection the first time it runs
// there. What the functions do inside is unchanged; their own plans were kept already
// (PL/pgSQL).
//
// Each names itself: postgres-nio's default name is `String(reflecting:)` of the type, worked
// out again on every call (0.7 % of the server's CPU on the agents benchmark). And each names
// its parameters' types: otherwise the server infers them once, at the first
// call on a connection, from that call's values — and a NULL in `$14::jsonb` makes the
// parameter jsonb, which the next call's text no longer fits.

/// `ingest_deliveries`: a group-commit batch of webhook deliveries, taking up to `take` of
/// the new messages' reply jobs for `worker`, each with its `reply_context` (migration
/// 0010; `PostgresIngestStore`). `take` 0 takes none.
struct IngestDeliveriesStatement: PostgresPreparedStatement {
    static let name = "switchboard.ingest_deliveries"
    static let sql = """
        SELECT delivery, event_id, created, message_id, job_id, job_attempts, document
        FROM ingest_deliveries($1::jsonb, $2, $3, make_interval(secs => $4), $5)
        """
    static let bindingDataTypes: [PostgresDataType] = [.text, .int4, .timestamptz, .float8, .text]
    typealias Row = (Int, String, Bool, UUID?, UUID?, Int32?, String?)

    var batch: String
    var take: Int32
    var now: Date
    var leaseSeconds: Double
    var worker: String

    func makeBindings() -> PostgresBindings {
        var bindings = PostgresBindings()
        bindings.append(batch)
        bindings.append(take)
        bindings.append(now)
        bindings.append(leaseSeconds)
        bindings.append(worker)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
}

/// `claim_jobs` (migration 0012: fair, with an attempt limit), with each claimed job's
/// `reply_context` or `send_context` when `documents`; the dead jobs it buried come back
/// with `dead` set and no document (`PostgresJobStore`).
struct ClaimJobsStatement: PostgresPreparedStatement {
    static let name = "switchboard.claim_jobs.fair"
    static let sql = """
        SELECT c.tenant_id, c.id, c.kind, c.message_id, c.attempts, c.dead,
               CASE WHEN NOT $1 OR c.dead THEN NULL
                    WHEN c.kind = 'reply' THEN reply_context(c.tenant_id, c.message_id)::text
                    WHEN c.kind = 'send' THEN send_context(c.tenant_id, c.message_id)::text END
        FROM claim_jobs($2, $3, $4, make_interval(secs => $5), $6, $7) c
        """
    static let bindingDataTypes: [PostgresDataType] = [.bool, .textArray, .int4, .timestamptz, .float8, .text, .int4]
    typealias Row = (UUID, UUID, String, UUID?, Int32, Bool, String?)

    var documents: Bool
    var kinds: [String]
    var limit: Int32
    var now: Date
    var leaseSeconds: Double
    var worker: String
    var maximumAttempts: Int32

    func makeBindings() -> PostgresBindings {
        var bindings = PostgresBindings()
        bindings.append(documents)
        bindings.append(kinds)
        bindings.append(limit)
        bindings.append(now)
        bindings.append(leaseSeconds)
        bindings.append(worker)
        bindings.append(maximumAttempts)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
}

/// `store_answer_charged`: the answer, its calls, its charge and its send job
/// (`PostgresReplyStore.storeAnswer`).
struct StoreAnswerStatement: PostgresPreparedStatement {
    static let name = "switchboard.store_answer_charged"
    static let sql = """
        SELECT answer, send_job FROM store_answer_charged($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10::jsonb, $11, $12,
            make_interval(secs => $13), $14::jsonb, $15, $16)
        """
    static let bindingDataTypes: [PostgresDataType] = [
        .uuid, .uuid, .int4, .uuid, .uuid, .uuid, .text, .text, .text, .text, .text, .timestamptz, .float8, .text, .uuid, .text,
    ]
    typealias Row = (UUID, UUID)

    var tenant: UUID
    var job: UUID
    var attempt: Int32
    var inbound: UUID
    var agent: UUID?
    var provider: UUID?
    var model: String?
    var text: String
    var usage: String
    var calls: String
    var worker: String
    var now: Date
    var leaseSeconds: Double
    var capture: String?
    var hold: UUID?
    var replyStatus: String

    func makeBindings() -> PostgresBindings {
        var bindings = PostgresBindings()
        bindings.append(tenant)
        bindings.append(job)
        bindings.append(attempt)
        bindings.append(inbound)
        bindings.append(agent)
        bindings.append(provider)
        bindings.append(model)
        bindings.append(text)
        bindings.append(usage)
        bindings.append(calls)
        bindings.append(worker)
        bindings.append(now)
        bindings.append(leaseSeconds)
        bindings.append(capture)
        bindings.append(hold)
        bindings.append(replyStatus)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
}

/// `record_send`: a send's outcome with its job (`PostgresReplyStore.recordSend`).
struct RecordSendStatement: PostgresPreparedStatement {
    static let name = "switchboard.record_send"
    static let sql = "SELECT record_send($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    static let bindingDataTypes: [PostgresDataType] = [.uuid, .uuid, .int4, .uuid, .bool, .text, .text, .timestamptz, .timestamptz, .text]
    typealias Row = PostgresRow

    var tenant: UUID
    var job: UUID
    var attempt: Int32
    var message: UUID
    var sent: Bool
    var externalID: String?
    var error: String?
    var retryAt: Date?
    var time: Date
    var errorCode: String?

    func makeBindings() -> PostgresBindings {
        var bindings = PostgresBindings()
        bindings.append(tenant)
        bindings.append(job)
        bindings.append(attempt)
        bindings.append(message)
        bindings.append(sent)
        bindings.append(externalID)
        bindings.append(error)
        bindings.append(retryAt)
        bindings.append(time)
        bindings.append(errorCode)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { row }
}
