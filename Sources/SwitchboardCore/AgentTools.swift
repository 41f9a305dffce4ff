public import Foundation

/// A tool the platform itself provides to agents (`{"builtin": "…"}` in an agent's `tools`).
public enum BuiltinTool: String, Sendable, Hashable, Codable, CaseIterable {
    /// Hands the conversation to a person, with the model's reason.
    case handoff
    /// Changes the contact's name, phone, email or tags.
    case contactUpdate = "contact_update"
    /// Adds a note to the contact.
    case noteAdd = "note_add"
    /// Closes the conversation once the answer is stored.
    case closeConversation = "close_conversation"

    /// Built-ins the contract names that this build does not run yet.
    public static let notYetAvailable: Set<String> = ["deal_upsert", "calendar", "search_knowledge"]
}

/// One entry of an agent's `tools`, as stored (`agents.tools`) and shown.
public struct AgentToolEntry: Sendable, Hashable, Codable {
    public var builtin: BuiltinTool

    public init(builtin: BuiltinTool) {
        self.builtin = builtin
    }

    /// The most tools one agent may have.
    public static let maximumCount = 16
}

/// What a tool call does, once its arguments are checked.
public enum AgentAction: Sendable, Hashable {
    case handoff(reason: String)
    /// Fields left `nil` stay as they are.
    case contactUpdate(name: String?, phone: String?, email: String?, tags: [String]?)
    case noteAdd(text: String)
    case closeConversation
}

/// One tool call of the agent loop, keyed by (inbound message, round, call id): a retried
/// reply finds the call already done and gets its stored result instead of acting again.
public struct AgentToolCall: Sendable, Hashable {
    public var inboundID: MessageID
    public var conversationID: ConversationID
    public var contactID: ContactID
    public var round: Int
    public var callID: String
    public var name: String
    public var arguments: String
    /// What to do; `nil` when the call was refused (an unknown tool, arguments that do not
    /// fit): `refusal` says why, and is stored as the call's error result.
    public var action: AgentAction?
    public var refusal: String?

    public init(
        inboundID: MessageID, conversationID: ConversationID, contactID: ContactID, round: Int, callID: String, name: String,
        arguments: String, action: AgentAction?, refusal: String? = nil
    ) {
        self.inboundID = inboundID
        self.conversationID = conversationID
        self.contactID = contactID
        self.round = round
        self.callID = callID
        self.name = name
        self.arguments = arguments
        self.action = action
        self.refusal = refusal
    }

    /// The most characters of a stored call's arguments and result, and of its call id.
    public static let maximumArgumentsLength = 16_384
    public static let maximumResultLength = 4_096
    public static let maximumCallIDLength = 256
}

/// What a tool call produced: the result the model reads, whether it failed, and whether
/// this run did it (`false`: an earlier attempt did, and this is its stored result).
public struct AgentToolOutcome: Sendable, Hashable {
    public var result: String
    public var isError: Bool
    public var performed: Bool

    public init(result: String, isError: Bool, performed: Bool) {
        self.result = result
        self.isError = isError
        self.performed = performed
    }
}

/// A tool call as shown on its inbound message.
public struct MessageToolCall: Sendable, Hashable, Codable {
    public var round: Int
    public var name: String
    public var arguments: String
    public var result: String
    public var isError: Bool

    public init(round: Int, name: String, arguments: String, result: String, isError: Bool) {
        self.round = round
        self.name = name
        self.arguments = arguments
        self.result = result
        self.isError = isError
    }

    enum CodingKeys: String, CodingKey {
        case round, name, arguments, result, isError = "is_error"
    }
}
