public import Foundation

/// A model provider a tenant configured: its kind, endpoint and region. The API key is
/// never part of this value; it is sealed at rest and opened only for a call.
public struct Provider: Sendable, Hashable {
    public var id: ProviderID
    public var name: String
    public var kind: ProviderKind
    /// `nil`: the kind's public endpoint.
    public var baseURL: String?
    /// Where the provider processes data (for the sub-processor register).
    public var region: String
    public var hasAPIKey: Bool
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: ProviderID, name: String, kind: ProviderKind, baseURL: String?, region: String, hasAPIKey: Bool,
        createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.name = name
        self.kind = kind
        self.baseURL = baseURL
        self.region = region
        self.hasAPIKey = hasAPIKey
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// Changes to a provider; `nil` leaves a field, `.some(nil)` clears it.
public struct ProviderChanges: Sendable {
    public var name: String?
    public var baseURL: String??
    public var region: String?
    /// A new sealed API key, or `.some(nil)` to remove the key.
    public var sealedAPIKey: [UInt8]??

    public init(name: String? = nil, baseURL: String?? = nil, region: String? = nil, sealedAPIKey: [UInt8]?? = nil) {
        self.name = name
        self.baseURL = baseURL
        self.region = region
        self.sealedAPIKey = sealedAPIKey
    }
}

/// Another provider and model an agent turns to when its own fails.
public struct AgentFallback: Sendable, Hashable, Codable {
    public var providerID: ProviderID
    public var model: String

    public init(providerID: ProviderID, model: String) {
        self.providerID = providerID
        self.model = model
    }

    enum CodingKeys: String, CodingKey {
        case providerID = "provider_id"
        case model
    }
}

/// What answers a channel's messages: a model behind a provider, its instructions, and
/// the rules for handing a conversation to a person. Its settings are read through it
/// (`agent.model`).
@dynamicMemberLookup
public struct Agent: Sendable, Hashable {
    public static let defaultHistoryMessages = 20
    /// The output limit of an agent that sets none: every call carries a limit, so that
    /// its worst-case cost — what the ledger holds before the call — is bounded.
    public static let defaultMaxOutputTokens = 1024

    public var id: AgentID
    public var settings: AgentSettings
    public var createdAt: Date
    public var updatedAt: Date

    public init(id: AgentID, settings: AgentSettings, createdAt: Date, updatedAt: Date) {
        self.id = id
        self.settings = settings
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    public subscript<Value>(dynamicMember keyPath: KeyPath<AgentSettings, Value>) -> Value {
        settings[keyPath: keyPath]
    }
}

/// The settable fields of an agent, as one value: creation takes all of them, an update
/// the ones it names.
public struct AgentSettings: Sendable, Hashable, Decodable {
    public var name: String
    public var providerID: ProviderID
    public var model: String
    public var systemPrompt: String
    public var temperature: Double?
    public var maxOutputTokens: Int?
    public var historyMessages: Int
    public var fallbacks: [AgentFallback]
    public var handoffKeywords: [String]
    public var faq: [FAQEntry]
    /// Sent instead of an answer when the tenant's credits have run out.
    public var outOfCreditsReply: String?
    /// The speech-to-text model of the agent's provider (OpenAI or compatible) that
    /// transcribes voice notes; nil leaves them untranscribed.
    public var speechToTextModel: String?
    /// The tools the model may call; none: a single call, as before tools.
    public var tools: [AgentToolEntry]

    public init(
        name: String, providerID: ProviderID, model: String, systemPrompt: String, temperature: Double? = nil,
        maxOutputTokens: Int? = nil, historyMessages: Int = Agent.defaultHistoryMessages, fallbacks: [AgentFallback] = [],
        handoffKeywords: [String] = [], faq: [FAQEntry] = [], outOfCreditsReply: String? = nil, speechToTextModel: String? = nil,
        tools: [AgentToolEntry] = []
    ) {
        self.tools = tools
        self.name = name
        self.providerID = providerID
        self.model = model
        self.systemPrompt = systemPrompt
        self.temperature = temperature
        self.maxOutputTokens = maxOutputTokens
        self.historyMessages = historyMessages
        self.fallbacks = fallbacks
        self.handoffKeywords = handoffKeywords
        self.faq = faq
        self.outOfCreditsReply = outOfCreditsReply
        self.speechToTextModel = speechToTextModel
    }

    /// The agents table's column names, for reading an agent row as JSON.
    enum CodingKeys: String, CodingKey {
        case name, providerID = "provider_id", model, systemPrompt = "system_prompt", temperature
        case maxOutputTokens = "max_output_tokens", historyMessages = "history_messages", fallbacks
        case handoffKeywords = "handoff_keywords", faq, outOfCreditsReply = "out_of_credits_reply"
        case speechToTextModel = "speech_to_text_model", tools
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        providerID = try container.decode(ProviderID.self, forKey: .providerID)
        model = try container.decode(String.self, forKey: .model)
        systemPrompt = try container.decode(String.self, forKey: .systemPrompt)
        temperature = try container.decodeIfPresent(Double.self, forKey: .temperature)
        maxOutputTokens = try container.decodeIfPresent(Int.self, forKey: .maxOutputTokens)
        historyMessages = try container.decode(Int.self, forKey: .historyMessages)
        fallbacks = try container.decode([AgentFallback].self, forKey: .fallbacks)
        handoffKeywords = try container.decode([String].self, forKey: .handoffKeywords)
        faq = try container.decode([FAQEntry].self, forKey: .faq)
        outOfCreditsReply = try container.decodeIfPresent(String.self, forKey: .outOfCreditsReply)
        speechToTextModel = try container.decodeIfPresent(String.self, forKey: .speechToTextModel)
        // A row of a build before tools (or a tool this build does not know) runs without them.
        tools = (try? container.decodeIfPresent([AgentToolEntry].self, forKey: .tools)) ?? []
    }

    /// Whether `text` asks for a person: it contains a handoff keyword, compared without
    /// case and as a whole word or phrase.
    public func asksForPerson(_ text: String?) -> Bool {
        guard let text, !handoffKeywords.isEmpty else { return false }
        let words = " " + Self.words(text).joined(separator: " ") + " "
        return handoffKeywords.contains { keyword in
            let phrase = Self.words(keyword).joined(separator: " ")
            return !phrase.isEmpty && words.contains(" \(phrase) ")
        }
    }

    static func words(_ text: String) -> [String] {
        text.lowercased().split { !($0.isLetter || $0.isNumber) }.map(String.init)
    }
}
