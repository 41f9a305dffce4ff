import Foundation
import PostgresNIO
@testable import SwitchboardPostgres
import Testing

@Suite("The message path's prepared statements")
struct MessagePathStatementTests {
    /// The highest `$n` a statement's SQL uses.
    static func parameters(_ sql: String) -> Int {
        let pattern = try! Regex(#"\$(\d+)"#)
        return sql.matches(of: pattern).compactMap { Int(sql[$0.range].dropFirst()) }.max() ?? 0
    }

    @Test("each names a type for every parameter, so a first call with NULLs cannot fix a wrong one for the connection")
    func typesForEveryParameter() {
        let statements: [(sql: String, types: [PostgresDataType], bound: Int)] = [
            (
                IngestDeliveriesStatement.sql, IngestDeliveriesStatement.bindingDataTypes,
                IngestDeliveriesStatement(batch: "[]", take: 0, now: Date(), leaseSeconds: 0, worker: "").makeBindings().count
            ),
            (
                ClaimJobsStatement.sql, ClaimJobsStatement.bindingDataTypes,
                ClaimJobsStatement(documents: true, kinds: ["reply"], limit: 1, now: Date(), leaseSeconds: 1, worker: "w", maximumAttempts: 5).makeBindings().count
            ),
            (
                StoreAnswerStatement.sql, StoreAnswerStatement.bindingDataTypes,
                StoreAnswerStatement(
                    tenant: UUID(), job: UUID(), attempt: 1, inbound: UUID(), agent: nil, provider: nil, model: nil, text: "t", usage: "{}",
                    calls: "[]", worker: "w", now: Date(), leaseSeconds: 1, capture: nil, hold: nil, replyStatus: "answered"
                ).makeBindings().count
            ),
            (
                RecordSendStatement.sql, RecordSendStatement.bindingDataTypes,
                RecordSendStatement(
                    tenant: UUID(), job: UUID(), attempt: 1, message: UUID(), sent: true, externalID: nil, error: nil, retryAt: nil, time: Date()
                ).makeBindings().count
            ),
        ]
        // Each has a name of its own, fixed (not worked out from its type on every call).
        let names = [IngestDeliveriesStatement.name, ClaimJobsStatement.name, StoreAnswerStatement.name, RecordSendStatement.name]
        #expect(Set(names).count == names.count)
        #expect(names.allSatisfy { $0.hasPrefix("switchboard.") })
        for statement in statements {
            #expect(statement.types.count == Self.parameters(statement.sql), "\(statement.sql)")
            #expect(statement.bound == statement.types.count, "\(statement.sql)")
        }
    }
}
