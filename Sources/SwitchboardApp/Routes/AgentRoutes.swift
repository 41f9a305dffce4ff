import ConnectorKit
import Foundation
import Hummingbird
import Logging
import SwitchboardCore
import SwitchboardPostgres

/// `/v1/agents`: what answers a channel's messages — a provider and model, the system
/// prompt, how much history to send, fallbacks, handoff keywords and FAQ entries.
struct AgentRoutes: Sendable {
    let store: PostgresAgentStore

    struct FallbackBody: Codable, Sendable {
        var providerID: String
        var model: String
        enum CodingKeys: String, CodingKey { case providerID = "provider_id", model }
    }

    /// One entry of `tools` as sent: a built-in by name, or (later) a tenant's tool by id.
    struct ToolBody: Decodable, Sendable {
        var builtin: String?
        var toolID: String?

        enum CodingKeys: String, CodingKey { case builtin, toolID = "tool_id" }

        /// Refuses a key other than `builtin` and `tool_id`, as the document does.
        init(from decoder: any Decoder) throws {
            let keys = try decoder.container(keyedBy: JSONKey.self)
            if let unknown = keys.allKeys.map(\.stringValue).filter({ $0 != "builtin" && $0 != "tool_id" }).sorted().first {
                throw SwitchboardError.invalid("a tool takes builtin (or, later, tool_id), not \(unknown.prefix(64))", field: "tools")
            }
            let container = try decoder.container(keyedBy: CodingKeys.self)
            builtin = try container.decodeIfPresent(String.self, forKey: .builtin)
            toolID = try container.decodeIfPresent(String.self, forKey: .toolID)
        }
    }

    struct Body: RequestBody {
        var name: String?
        var providerID: String?
        var model: String?
        var systemPrompt: String?
        var temperature: Double??
        var maxOutputTokens: Int??
        var historyMessages: Int?
        var fallbacks: [FallbackBody]?
        var handoffKeywords: [String]?
        var faq: [FAQEntry]?
        var outOfCreditsReply: String??
        var speechToTextModel: String??
        var tools: [ToolBody]?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case name, providerID = "provider_id", model, systemPrompt = "system_prompt", temperature
            case maxOutputTokens = "max_output_tokens", historyMessages = "history_messages", fallbacks
            case handoffKeywords = "handoff_keywords", faq, outOfCreditsReply = "out_of_credits_reply"
            case speechToTextModel = "speech_to_text_model", tools
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            name = try container.decodeIfPresent(String.self, forKey: .name)
            providerID = try container.decodeIfPresent(String.self, forKey: .providerID)
            model = try container.decodeIfPresent(String.self, forKey: .model)
            systemPrompt = try container.decodeIfPresent(String.self, forKey: .systemPrompt)
            if container.contains(.temperature) { temperature = .some(try container.decodeIfPresent(Double.self, forKey: .temperature)) }
            if container.contains(.maxOutputTokens) {
                maxOutputTokens = .some(try container.decodeIfPresent(Int.self, forKey: .maxOutputTokens))
            }
            historyMessages = try container.decodeIfPresent(Int.self, forKey: .historyMessages)
            fallbacks = try container.decodeIfPresent([FallbackBody].self, forKey: .fallbacks)
            handoffKeywords = try container.decodeIfPresent([String].self, forKey: .handoffKeywords)
            faq = try container.decodeIfPresent([FAQEntry].self, forKey: .faq)
            if container.contains(.outOfCreditsReply) {
                outOfCreditsReply = .some(try container.decodeIfPresent(String.self, forKey: .outOfCreditsReply))
            }
            if container.contains(.speechToTextModel) {
                speechToTextModel = .some(try container.decodeIfPresent(String.self, forKey: .speechToTextModel))
            }
            tools = try container.decodeIfPresent([ToolBody].self, forKey: .tools)
        }

        /// Applies the fields this body names to `settings`, validating each.
        func apply(to settings: inout AgentSettings) throws {
            if let name { settings.name = try FieldRule.shortName.check(name, field: "name") }
            if let providerID { settings.providerID = try AgentRoutes.providerID(providerID, field: "provider_id") }
            if let model { settings.model = try FieldRule.shortName.check(model, field: "model") }
            if let systemPrompt { settings.systemPrompt = try FieldRule.systemPrompt.check(systemPrompt, field: "system_prompt") }
            if let temperature {
                if let value = temperature, !(0...2).contains(value) {
                    throw SwitchboardError.invalid("temperature must be between 0 and 2", field: "temperature")
                }
                settings.temperature = temperature
            }
            if let maxOutputTokens {
                if let value = maxOutputTokens, !(1...100_000).contains(value) {
                    throw SwitchboardError.invalid("max_output_tokens must be between 1 and 100000", field: "max_output_tokens")
                }
                settings.maxOutputTokens = maxOutputTokens
            }
            if let historyMessages {
                guard (1...200).contains(historyMessages) else {
                    throw SwitchboardError.invalid("history_messages must be between 1 and 200", field: "history_messages")
                }
                settings.historyMessages = historyMessages
            }
            if let fallbacks {
                guard fallbacks.count <= 5 else { throw SwitchboardError.invalid("at most 5 fallbacks", field: "fallbacks") }
                settings.fallbacks = try fallbacks.enumerated().map { index, fallback in
                    AgentFallback(
                        providerID: try AgentRoutes.providerID(fallback.providerID, field: "fallbacks[\(index)].provider_id"),
                        model: try FieldRule.shortName.check(fallback.model, field: "fallbacks[\(index)].model")
                    )
                }
            }
            if let handoffKeywords {
                guard handoffKeywords.count <= 50 else {
                    throw SwitchboardError.invalid("at most 50 handoff_keywords", field: "handoff_keywords")
                }
                settings.handoffKeywords = try handoffKeywords.enumerated().map { index, keyword in
                    try FieldRule.handoffKeyword.check(keyword, field: "handoff_keywords[\(index)]")
                }
            }
            if let faq {
                guard faq.count <= 500 else { throw SwitchboardError.invalid("at most 500 faq entries", field: "faq") }
                settings.faq = try faq.enumerated().map { index, entry in
                    FAQEntry(
                        question: try FieldRule.agentReply.check(entry.question, field: "faq[\(index)].question"),
                        answer: try FieldRule.agentReply.check(entry.answer, field: "faq[\(index)].answer")
                    )
                }
            }
            if let outOfCreditsReply {
                if let text = outOfCreditsReply {
                    settings.outOfCreditsReply = try FieldRule.agentReply.check(text, field: "out_of_credits_reply")
                } else {
                    settings.outOfCreditsReply = nil
                }
            }
            if let speechToTextModel {
                settings.speechToTextModel = try speechToTextModel.map { try FieldRule.shortName.check($0, field: "speech_to_text_model") }
            }
            if let tools { settings.tools = try AgentRoutes.tools(tools) }
        }
    }

    func add(to group: RouterGroup<TenantRequestContext>) {
        group.post("/agents") { request, context in
            let body = try await JSONBody.decode(Body.self, from: request, context: context)
            for (value, field) in [(body.name, "name"), (body.providerID, "provider_id"), (body.model, "model"), (body.systemPrompt, "system_prompt")]
            where value == nil {
                throw SwitchboardError.invalid("\(field) is required", field: field)
            }
            var settings = AgentSettings(name: "", providerID: ProviderID(), model: "", systemPrompt: "")
            try body.apply(to: &settings)
            let agent = try await store.create(context.tenantID, settings)
            context.logger.info("agent created", metadata: ["agent.id": "\(agent.id)"])
            return try JSONBody.response(AgentResponse(agent), status: .created)
        }
        group.get("/agents") { request, context in
            let page = try await store.list(context.tenantID, page: try request.pageRequest())
            return try JSONBody.response(ListResponse(page, AgentResponse.init))
        }
        group.get("/agents/{id}") { _, context in
            try JSONBody.response(AgentResponse(try await store.get(context.tenantID, try Self.agentID(context))))
        }
        group.patch("/agents/{id}") { request, context in
            let id = try Self.agentID(context)
            let body = try await JSONBody.decode(Body.self, from: request, context: context)
            let agent = try await store.update(context.tenantID, id) { settings in try body.apply(to: &settings) }
            return try JSONBody.response(AgentResponse(agent))
        }
        group.delete("/agents/{id}") { request, context in
            let id = try Self.agentID(context)
            try await store.delete(context.tenantID, id, withData: try ChannelRoutes.deletesData(request))
            context.logger.info("agent deleted", metadata: ["agent.id": "\(id)"])
            return try JSONBody.response(DeletedResponse(id))
        }
    }

    static func agentID(_ context: TenantRequestContext) throws -> AgentID {
        guard let id = context.parameters.get("id").flatMap({ AgentID($0) }) else { throw SwitchboardError.notFound("agent") }
        return id
    }

    /// A provider id from a body: one that is not even an id names nothing, so it is
    /// `not_found` like another tenant's.
    static func providerID(_ value: String, field: String) throws -> ProviderID {
        guard let id = ProviderID(value) else {
            throw SwitchboardError(.notFound, "no provider \(value.prefix(64)) exists", field: field)
        }
        return id
    }

    /// The agent's tools: built-ins this build runs, at most 16, none twice; the contract's
    /// others are refused as not available yet.
    static func tools(_ bodies: [ToolBody]) throws -> [AgentToolEntry] {
        guard bodies.count <= AgentToolEntry.maximumCount else {
            throw SwitchboardError.invalid("at most \(AgentToolEntry.maximumCount) tools", field: "tools")
        }
        var entries: [AgentToolEntry] = []
        for body in bodies {
            if let toolID = body.toolID {
                guard body.builtin == nil else {
                    throw SwitchboardError.invalid("a tool is either a builtin or a tool_id, not both", field: "tools")
                }
                let id = try FieldRule.shortName.check(toolID, field: "tools")
                throw SwitchboardError.invalid("the tool \(id.prefix(64)): tools of your own are not available yet", field: "tools")
            }
            guard let name = body.builtin else {
                throw SwitchboardError.invalid("each tool names a builtin", field: "tools")
            }
            if BuiltinTool.notYetAvailable.contains(name) {
                throw SwitchboardError.invalid("the builtin tool \(name) is not available yet", field: "tools")
            }
            guard let builtin = BuiltinTool(rawValue: name) else {
                let known = BuiltinTool.allCases.map(\.rawValue).joined(separator: ", ")
                throw SwitchboardError.invalid("there is no builtin tool \(name.prefix(64)); the builtins are \(known)", field: "tools")
            }
            guard !entries.contains(where: { $0.builtin == builtin }) else {
                throw SwitchboardError.invalid("the builtin tool \(name) is named twice", field: "tools")
            }
            entries.append(AgentToolEntry(builtin: builtin))
        }
        return entries
    }

    /// An agent as the API shows it: its model, prompt, fallbacks and FAQ.
    struct AgentResponse: APIResource {
        var id: String
        var name: String
        var providerID: String
        var model: String
        var systemPrompt: String
        @Nullable var temperature: Double?
        @Nullable var maxOutputTokens: Int?
        var historyMessages: Int
        var fallbacks: [Fallback]
        var handoffKeywords: [String]
        var faq: [FAQ]
        @Nullable var outOfCreditsReply: String?
        @Nullable var speechToTextModel: String?
        var tools: [Tool]
        var createdAt: Date
        var updatedAt: Date

        struct Fallback: Encodable, Sendable {
            var providerID: String
            var model: String

            enum CodingKeys: String, CodingKey { case providerID = "provider_id", model }
        }

        struct Tool: Encodable, Sendable {
            var builtin: String

            enum CodingKeys: String, CodingKey { case builtin }
        }

        struct FAQ: Encodable, Sendable {
            var question: String
            var answer: String

            enum CodingKeys: String, CodingKey { case question, answer }
        }

        init(_ agent: Agent) {
            id = agent.id.description
            name = agent.name
            providerID = agent.providerID.description
            model = agent.model
            systemPrompt = agent.systemPrompt
            temperature = agent.temperature
            maxOutputTokens = agent.maxOutputTokens
            historyMessages = agent.historyMessages
            fallbacks = agent.fallbacks.map { Fallback(providerID: $0.providerID.description, model: $0.model) }
            handoffKeywords = agent.handoffKeywords
            faq = agent.faq.map { FAQ(question: $0.question, answer: $0.answer) }
            outOfCreditsReply = agent.outOfCreditsReply
            speechToTextModel = agent.speechToTextModel
            tools = agent.tools.map { Tool(builtin: $0.builtin.rawValue) }
            createdAt = agent.createdAt
            updatedAt = agent.updatedAt
        }

        enum CodingKeys: String, CodingKey {
            case id, name, providerID = "provider_id", model, systemPrompt = "system_prompt", temperature
            case maxOutputTokens = "max_output_tokens", historyMessages = "history_messages", fallbacks
            case handoffKeywords = "handoff_keywords", faq, outOfCreditsReply = "out_of_credits_reply"
            case speechToTextModel = "speech_to_text_model", tools, createdAt = "created_at", updatedAt = "updated_at"
        }
    }
}
