public import Foundation
public import Logging
import PostgresNIO
public import SwitchboardCore

/// The agent loop's tools on PostgreSQL: each call recorded on its inbound message
/// (`message_tool_calls`) and its action done in the same transaction (`run_agent_tool`),
/// scoped to the tenant.
public struct PostgresAgentToolStore: AgentToolStore {
    let database: Database

    public init(database: Database) {
        self.database = database
    }

    struct Outcome: Decodable {
        var result: String
        var isError: Bool
        var performed: Bool

        enum CodingKeys: String, CodingKey { case result, isError = "is_error", performed }
    }

    public func perform(_ tenant: TenantID, _ call: AgentToolCall, logger: Logger) async throws -> AgentToolOutcome {
        let database = self.database.logging(logger)
        let action = try call.action.map(Self.json)
        let (result, isError): (String, Bool) = switch call.action {
        case nil: (call.refusal ?? "the call was refused", true)
        case .handoff: ("the conversation goes to a person", false)
        case .contactUpdate: ("the contact was updated", false)
        case .noteAdd: ("the note was added", false)
        case .closeConversation: ("the conversation will be closed after this answer", false)
        }
        let text = try await database.withTenant(tenant) { connection -> String? in
            let rows = try await connection.query(
                """
                SELECT run_agent_tool(\(tenant.uuid), \(call.inboundID.uuid), \(call.contactID.uuid), \(Int32(call.round)),
                    \(call.callID), \(call.name), \(call.arguments), \(action)::jsonb, \(result), \(isError))::text
                """,
                logger: logger
            )
            for try await text in rows.decode(String?.self) { return text }
            return nil
        }
        guard let text else { throw SwitchboardError(.internalError, "the tool call was not recorded") }
        let outcome = try JSONDecoder().decode(Outcome.self, from: Data(text.utf8))
        return AgentToolOutcome(result: outcome.result, isError: outcome.isError, performed: outcome.performed)
    }

    public func recordCalls(_ tenant: TenantID, inbound: MessageID, agent: AgentID, _ calls: [ModelCallRecord], logger: Logger) async throws {
        guard !calls.isEmpty else { return }
        let database = self.database.logging(logger)
        let json = try PostgresReplyStore.encode(calls)
        try await database.withTenant(tenant) { connection in
            try await connection.query(
                "SELECT record_model_calls(\(tenant.uuid), \(inbound.uuid), \(agent.uuid), \(json)::jsonb)", logger: logger
            )
        }
    }

    public func closeConversation(_ tenant: TenantID, _ conversation: ConversationID, logger: Logger) async throws {
        let database = self.database.logging(logger)
        try await database.withTenant(tenant) { connection in
            try await connection.query(
                """
                UPDATE conversations SET status = 'closed', closed_at = now()
                WHERE tenant_id = \(tenant.uuid) AND id = \(conversation.uuid) AND status = 'open'
                """,
                logger: logger
            )
        }
    }

    /// The action as `run_agent_tool` reads it.
    static func json(_ action: AgentAction) throws -> String {
        var object: [String: ModelValue] = [:]
        switch action {
        case .handoff(let reason):
            object = ["kind": .string("handoff"), "reason": .string(reason)]
        case .contactUpdate(let name, let phone, let email, let tags):
            object["kind"] = .string("contact_update")
            if let name { object["name"] = .string(name) }
            if let phone { object["phone"] = .string(phone) }
            if let email { object["email"] = .string(email) }
            if let tags { object["tags"] = .strings(tags) }
        case .noteAdd(let text):
            object = ["kind": .string("note_add"), "text": .string(text)]
        case .closeConversation:
            object = ["kind": .string("close_conversation")]
        }
        return String(decoding: try JSONEncoder().encode(object), as: UTF8.self)
    }

    enum ModelValue: Encodable {
        case string(String)
        case strings([String])

        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .string(let value): try container.encode(value)
            case .strings(let values): try container.encode(values)
            }
        }
    }
}
