public import Foundation
import Logging
import PostgresNIO
public import SwitchboardCore

/// Agents in PostgreSQL.
public struct PostgresAgentStore: Sendable {
    let database: Database

    public init(database: Database) {
        self.database = database
    }

    static let columns = """
        id, name, provider_id, model, system_prompt, temperature, max_output_tokens, history_messages, fallbacks::text,
        handoff_keywords, faq::text, out_of_credits_reply, created_at, updated_at, \(Keyset.micros()), speech_to_text_model,
        tools::text
        """
    typealias Row = (UUID, String, UUID, String, String, Double?, Int32?, Int32, String, [String], String, String?, Date, Date, Int64, String?, String)

    static func agent(_ row: Row) -> Agent {
        let decoder = JSONDecoder()
        let settings = AgentSettings(
            name: row.1, providerID: ProviderID(row.2), model: row.3, systemPrompt: row.4, temperature: row.5,
            maxOutputTokens: row.6.map(Int.init), historyMessages: Int(row.7),
            fallbacks: (try? decoder.decode([AgentFallback].self, from: Data(row.8.utf8))) ?? [], handoffKeywords: row.9,
            faq: (try? decoder.decode([FAQEntry].self, from: Data(row.10.utf8))) ?? [], outOfCreditsReply: row.11,
            speechToTextModel: row.15, tools: (try? decoder.decode([AgentToolEntry].self, from: Data(row.16.utf8))) ?? []
        )
        return Agent(id: AgentID(row.0), settings: settings, createdAt: row.12, updatedAt: row.13)
    }

    static func json<Value: Encodable>(_ value: Value) throws -> String {
        String(decoding: try JSONEncoder().encode(value), as: UTF8.self)
    }

    /// Every provider the settings name must be the tenant's: another tenant's id is
    /// `not_found`, naming the field.
    static func requireProviders(_ connection: PostgresConnection, _ tenant: TenantID, _ settings: AgentSettings, logger: Logger) async throws {
        let named = [settings.providerID] + settings.fallbacks.map(\.providerID)
        let rows = try await connection.query(
            "SELECT id FROM providers WHERE tenant_id = \(tenant.uuid) AND id = ANY(\(named.map(\.uuid)))", logger: logger
        )
        var found: Set<UUID> = []
        for try await id in rows.decode(UUID.self) { found.insert(id) }
        if !found.contains(settings.providerID.uuid) {
            throw SwitchboardError(.notFound, "no provider \(settings.providerID) exists", field: "provider_id")
        }
        if let index = settings.fallbacks.firstIndex(where: { !found.contains($0.providerID.uuid) }) {
            throw SwitchboardError(.notFound, "no provider \(settings.fallbacks[index].providerID) exists", field: "fallbacks[\(index)].provider_id")
        }
    }

    public func create(_ tenant: TenantID, _ settings: AgentSettings) async throws -> Agent {
        let logger = database.logger
        let fallbacks = try Self.json(settings.fallbacks)
        let faq = try Self.json(settings.faq)
        let tools = try Self.json(settings.tools)
        return try await database.withTenant(tenant) { connection in
            try await Self.requireProviders(connection, tenant, settings, logger: logger)
            let rows = try await connection.query(
                """
                INSERT INTO agents (tenant_id, id, name, provider_id, model, system_prompt, temperature, max_output_tokens,
                                    history_messages, fallbacks, handoff_keywords, faq, out_of_credits_reply, speech_to_text_model,
                                    tools)
                VALUES (\(tenant.uuid), \(UUID()), \(settings.name), \(settings.providerID.uuid), \(settings.model),
                        \(settings.systemPrompt), \(settings.temperature), \(settings.maxOutputTokens.map(Int32.init)),
                        \(Int32(settings.historyMessages)), \(fallbacks)::jsonb, \(settings.handoffKeywords), \(faq)::jsonb,
                        \(settings.outOfCreditsReply), \(settings.speechToTextModel), \(tools)::jsonb)
                RETURNING \(unescaped: Self.columns)
                """,
                logger: logger
            )
            for try await row in rows.decode(Row.self) { return Self.agent(row) }
            throw SwitchboardError(.internalError, "the agent was not stored")
        }
    }

    public func list(_ tenant: TenantID, page: PageRequest) async throws -> Page<Agent> {
        let after = try Keyset.after(page.cursor)
        let logger = database.logger
        return try await database.withTenant(tenant) { connection in
            let rows = try await connection.query(
                """
                SELECT \(unescaped: Self.columns) FROM agents
                WHERE tenant_id = \(tenant.uuid) AND \(after: after) ORDER BY created_at, id LIMIT \(page.limit + 1)
                """,
                logger: logger
            )
            var agents: [(Agent, Int64, UUID)] = []
            for try await row in rows.decode(Row.self) { agents.append((Self.agent(row), row.14, row.0)) }
            return Keyset.page(agents, limit: page.limit)
        }
    }

    public func get(_ tenant: TenantID, _ id: AgentID) async throws -> Agent {
        let logger = database.logger
        return try await database.withTenant(tenant) { connection in
            try await Self.fetch(connection, tenant, id, logger: logger)
        }
    }

    static func fetch(_ connection: PostgresConnection, _ tenant: TenantID, _ id: AgentID, logger: Logger) async throws -> Agent {
        let rows = try await connection.query(
            "SELECT \(unescaped: columns) FROM agents WHERE tenant_id = \(tenant.uuid) AND id = \(id.uuid)", logger: logger
        )
        for try await row in rows.decode(Row.self) { return agent(row) }
        throw SwitchboardError.notFound("agent")
    }

    /// Applies `change` to the stored settings and writes them back, under a row lock so
    /// two updates do not lose each other's fields.
    public func update(
        _ tenant: TenantID, _ id: AgentID, _ change: @escaping @Sendable (inout AgentSettings) throws -> Void
    ) async throws -> Agent {
        let logger = database.logger
        return try await database.withTenant(tenant) { connection in
            let rows = try await connection.query(
                "SELECT \(unescaped: Self.columns) FROM agents WHERE tenant_id = \(tenant.uuid) AND id = \(id.uuid) FOR UPDATE",
                logger: logger
            )
            var current: Agent?
            for try await row in rows.decode(Row.self) { current = Self.agent(row) }
            guard let current else { throw SwitchboardError.notFound("agent") }
            var settings = current.settings
            try change(&settings)
            try await Self.requireProviders(connection, tenant, settings, logger: logger)
            let fallbacks = try Self.json(settings.fallbacks)
            let faq = try Self.json(settings.faq)
            let tools = try Self.json(settings.tools)
            let updated = try await connection.query(
                """
                UPDATE agents SET name = \(settings.name), provider_id = \(settings.providerID.uuid), model = \(settings.model),
                    system_prompt = \(settings.systemPrompt), temperature = \(settings.temperature),
                    max_output_tokens = \(settings.maxOutputTokens.map(Int32.init)),
                    history_messages = \(Int32(settings.historyMessages)), fallbacks = \(fallbacks)::jsonb,
                    handoff_keywords = \(settings.handoffKeywords), faq = \(faq)::jsonb,
                    out_of_credits_reply = \(settings.outOfCreditsReply), speech_to_text_model = \(settings.speechToTextModel),
                    tools = \(tools)::jsonb, updated_at = now()
                WHERE tenant_id = \(tenant.uuid) AND id = \(id.uuid)
                RETURNING \(unescaped: Self.columns)
                """,
                logger: logger
            )
            for try await row in updated.decode(Row.self) { return Self.agent(row) }
            throw SwitchboardError.notFound("agent")
        }
    }

    /// Deletes an agent no live channel points at; one in use is a conflict.
    /// Deletes an agent no channel uses; `withData` also deletes its answers and the record
    /// of its model calls (the ledger keeps its amounts).
    public func delete(_ tenant: TenantID, _ id: AgentID, withData: Bool = false) async throws {
        let logger = database.logger
        try await database.withTenant(tenant) { connection in
            _ = try await Self.fetch(connection, tenant, id, logger: logger)
            let users = try await connection.integer(
                "SELECT count(*)::int FROM channels WHERE tenant_id = \(tenant.uuid) AND agent_id = \(id.uuid) AND deleted_at IS NULL",
                logger: logger
            )
            guard users == 0 else {
                throw SwitchboardError(.conflict, "the agent answers \(users) channel(s); point them elsewhere first")
            }
            if withData {
                try await connection.perform("SELECT delete_agent_data(\(tenant.uuid), \(id.uuid))", logger: logger)
            }
            try await connection.query("DELETE FROM agents WHERE tenant_id = \(tenant.uuid) AND id = \(id.uuid)", logger: logger)
        }
    }

    /// Whether the tenant has this agent (for a channel to point at it).
    public func exists(_ tenant: TenantID, _ id: AgentID) async throws -> Bool {
        let logger = database.logger
        return try await database.withTenant(tenant) { connection in
            try await connection.integer(
                "SELECT count(*)::int FROM agents WHERE tenant_id = \(tenant.uuid) AND id = \(id.uuid)", logger: logger
            ) == 1
        }
    }
}
