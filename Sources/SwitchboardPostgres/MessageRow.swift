import Foundation
import Logging
import PostgresNIO
import SwitchboardCore

/// Reads `messages` rows into `Message` values: one column list and one decoder for
/// every query that answers messages.
enum MessageRow {
    static let columns = """
        id, conversation_id, contact_id, direction, external_id, text, attachments::text, ai_generated, delivery_status,
        sent_at, created_at, edited_at, seq, delivery_error, in_reply_to, agent_id, provider_id, model, input_tokens,
        cached_input_tokens, output_tokens, reasoning_tokens, latency_ms, reply_status, reply_error, deleted_at, delivery_error_code,
        send_tag, template::text,
        (SELECT jsonb_agg(jsonb_build_object('round', t.round, 'name', t.name, 'arguments', t.arguments, 'result', t.result,
                                             'is_error', t.is_error) ORDER BY t.round, t.created_at, t.id)
         FROM message_tool_calls t WHERE t.tenant_id = messages.tenant_id AND t.message_id = messages.id)::text
        """

    /// A stored value of a typed column: one this build does not know is an error naming
    /// it, never read as nothing.
    static func known<Value: RawRepresentable<String>>(_ type: Value.Type, _ raw: String?, column: String) throws -> Value? {
        guard let raw else { return nil }
        guard let value = Value(rawValue: raw) else { throw DatabaseError.unknown(column, raw) }
        return value
    }

    static func decode(_ row: PostgresRow) throws -> (Message, seq: Int64) {
        let cells = row.makeRandomAccess()
        let attachments = (try? JSONDecoder().decode([IngestEvent.Attachment].self, from: Data(try cells[6].decode(String.self).utf8))) ?? []
        var message = Message(
            id: MessageID(try cells[0].decode(UUID.self)), conversationID: ConversationID(try cells[1].decode(UUID.self)),
            contactID: try cells[2].decode(UUID?.self).map { ContactID($0) }, direction: try cells[3].decode(String.self),
            externalID: try cells[4].decode(String?.self), text: try cells[5].decode(String?.self), attachments: attachments,
            aiGenerated: try cells[7].decode(Bool.self), deliveryStatus: try known(DeliveryStatus.self, cells[8].decode(String?.self), column: "messages.delivery_status"),
            sentAt: try cells[9].decode(Date?.self), createdAt: try cells[10].decode(Date.self),
            editedAt: try cells[11].decode(Date?.self)
        )
        message.deliveryError = try cells[13].decode(String?.self)
        message.inReplyTo = try cells[14].decode(UUID?.self).map { MessageID($0) }
        message.agentID = try cells[15].decode(UUID?.self).map { AgentID($0) }
        message.providerID = try cells[16].decode(UUID?.self).map { ProviderID($0) }
        message.model = try cells[17].decode(String?.self)
        if let input = try cells[18].decode(Int32?.self) {
            message.usage = TokenCounts(
                input: Int(input), cachedInput: Int(try cells[19].decode(Int32?.self) ?? 0),
                output: Int(try cells[20].decode(Int32?.self) ?? 0), reasoning: Int(try cells[21].decode(Int32?.self) ?? 0),
                latencyMilliseconds: Int(try cells[22].decode(Int32?.self) ?? 0)
            )
        }
        message.replyStatus = try known(ReplyStatus.self, cells[23].decode(String?.self), column: "messages.reply_status")
        message.replyError = try cells[24].decode(String?.self)
        message.deletedAt = try cells[25].decode(Date?.self)
        message.deliveryErrorCode = try cells[26].decode(String?.self)
        message.sendTag = try cells[27].decode(String?.self)
        message.template = try cells[28].decode(String?.self).flatMap { try? JSONDecoder().decode(SendTemplate.self, from: Data($0.utf8)) }
        message.toolCalls = try cells[29].decode(String?.self)
            .flatMap { try? JSONDecoder().decode([MessageToolCall].self, from: Data($0.utf8)) } ?? []
        return (message, try cells[12].decode(Int64.self))
    }

    static func fetch(_ connection: PostgresConnection, _ tenant: TenantID, _ id: MessageID, logger: Logger) async throws -> Message {
        let rows = try await connection.query(
            "SELECT \(unescaped: columns) FROM messages WHERE tenant_id = \(tenant.uuid) AND id = \(id.uuid)", logger: logger
        )
        for try await row in rows { return try decode(row).0 }
        throw SwitchboardError.notFound("message")
    }
}
