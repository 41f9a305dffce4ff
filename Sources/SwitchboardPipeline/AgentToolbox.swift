import Foundation
import SwitchboardCore
import SwitchboardProviders

/// The built-in tools as the model sees them (name, description, JSON Schema of the
/// arguments), and the check of a call's arguments against them: what the agent loop does
/// for a call, or why it refuses it (the model reads the reason and may try again).
enum AgentToolbox {
    static let maximumNameLength = 200
    static let maximumPhoneLength = 32
    static let maximumEmailLength = 254
    static let maximumTags = 50
    static let maximumTagLength = 50
    static let maximumNoteLength = 20_000
    static let maximumReasonLength = 500

    static func definition(_ tool: BuiltinTool) -> ModelTool {
        switch tool {
        case .handoff:
            ModelTool(
                name: tool.rawValue,
                description: "Hand the conversation to a person of the business, when you cannot or should not answer yourself. Say why.",
                parameters: [
                    "type": "object",
                    "properties": ["reason": ["type": "string", "maxLength": .int(maximumReasonLength)]],
                    "required": ["reason"],
                ]
            )
        case .contactUpdate:
            ModelTool(
                name: tool.rawValue,
                description: "Update what the business knows about the person you are talking to: name, phone, email or tags. Give only the fields that change.",
                parameters: [
                    "type": "object",
                    "properties": [
                        "name": ["type": "string", "maxLength": .int(maximumNameLength)],
                        "phone": ["type": "string", "maxLength": .int(maximumPhoneLength)],
                        "email": ["type": "string", "maxLength": .int(maximumEmailLength)],
                        "tags": [
                            "type": "array", "maxItems": .int(maximumTags),
                            "items": ["type": "string", "maxLength": .int(maximumTagLength)],
                        ],
                    ],
                ]
            )
        case .noteAdd:
            ModelTool(
                name: tool.rawValue,
                description: "Add a note about the person you are talking to, for the business's people to read.",
                parameters: [
                    "type": "object",
                    "properties": ["text": ["type": "string", "maxLength": .int(maximumNoteLength)]],
                    "required": ["text"],
                ]
            )
        case .closeConversation:
            ModelTool(
                name: tool.rawValue,
                description: "Close the conversation once the person's request is fully dealt with. Your answer is still sent.",
                // One optional property: Gemini refuses an object schema without properties.
                parameters: [
                    "type": "object",
                    "properties": [
                        "reason": [
                            "type": "string", "maxLength": .int(maximumReasonLength),
                            "description": "Optional: why the conversation is done, for the business's people.",
                        ],
                    ],
                ]
            )
        }
    }

    /// What the call does, or why it is refused.
    static func action(for call: ModelToolCall, tools: [BuiltinTool]) -> Result<AgentAction, Refusal> {
        guard let tool = BuiltinTool(rawValue: call.name), tools.contains(tool) else {
            return .failure(Refusal("there is no tool \(call.name.prefix(64)); the tools are \(tools.map(\.rawValue).joined(separator: ", "))"))
        }
        let text = call.arguments.trimmingCharacters(in: .whitespacesAndNewlines)
        let arguments: [String: ModelJSON]
        if text.isEmpty {
            arguments = [:]
        } else if case .object(let object)? = ModelJSON(parsing: text) {
            arguments = object
        } else {
            return .failure(Refusal("the arguments are not a JSON object"))
        }
        do {
            switch tool {
            case .handoff:
                try known(arguments, ["reason"])
                let reason = try string(arguments, "reason", maximum: maximumReasonLength, required: true) ?? ""
                return .success(.handoff(reason: reason))
            case .contactUpdate:
                try known(arguments, ["name", "phone", "email", "tags"])
                let name = try string(arguments, "name", maximum: maximumNameLength)
                let phone = try string(arguments, "phone", maximum: maximumPhoneLength).map(Self.phone)
                let email = try string(arguments, "email", maximum: maximumEmailLength).map(Self.email)
                var tags: [String]?
                if let value = arguments["tags"] {
                    guard case .array(let items) = value, items.count <= maximumTags else {
                        throw Refusal("tags must be an array of at most \(maximumTags) strings")
                    }
                    tags = try items.map { item in
                        guard let tag = item.string.map(Self.trimmed), !tag.isEmpty, tag.count <= maximumTagLength, !hasControl(tag) else {
                            throw Refusal("each tag must be a string of 1 to \(maximumTagLength) characters")
                        }
                        return tag
                    }
                }
                guard name != nil || phone != nil || email != nil || tags != nil else {
                    throw Refusal("give at least one of name, phone, email, tags")
                }
                return .success(.contactUpdate(name: name, phone: phone, email: email, tags: tags))
            case .noteAdd:
                try known(arguments, ["text"])
                let note = try string(arguments, "text", maximum: maximumNoteLength, required: true, allowNewlines: true) ?? ""
                return .success(.noteAdd(text: note))
            case .closeConversation:
                try known(arguments, ["reason"])
                _ = try string(arguments, "reason", maximum: maximumReasonLength)
                return .success(.closeConversation)
            }
        } catch let refusal as Refusal {
            return .failure(refusal)
        } catch {
            return .failure(Refusal("the arguments do not fit the tool"))
        }
    }

    struct Refusal: Error, Hashable {
        var reason: String
        init(_ reason: String) { self.reason = reason }
    }

    static func known(_ arguments: [String: ModelJSON], _ names: Set<String>) throws(Refusal) {
        if let other = arguments.keys.sorted().first(where: { !names.contains($0) }) {
            throw Refusal("there is no argument \(other.prefix(64))")
        }
    }

    static func string(
        _ arguments: [String: ModelJSON], _ name: String, maximum: Int, required: Bool = false, allowNewlines: Bool = false
    ) throws(Refusal) -> String? {
        guard let value = arguments[name], value != .null else {
            if required { throw Refusal("\(name) is required") }
            return nil
        }
        guard let text = value.string.map(trimmed), !text.isEmpty else { throw Refusal("\(name) must be a non-empty string") }
        guard text.unicodeScalars.count <= maximum else { throw Refusal("\(name) must be at most \(maximum) characters") }
        if !allowNewlines, hasControl(text) { throw Refusal("\(name) must not contain control characters") }
        return text
    }

    static func phone(_ text: String) throws(Refusal) -> String {
        let digits = text.unicodeScalars.filter { ("0"..."9").contains($0) }.count
        let allowed = text.unicodeScalars.allSatisfy { ("0"..."9").contains($0) || " +-().".unicodeScalars.contains($0) }
        guard (5...20).contains(digits), allowed else { throw Refusal("phone must be a phone number such as +77011234567") }
        return text
    }

    static func email(_ text: String) throws(Refusal) -> String {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !text.contains(where: \.isWhitespace) else {
            throw Refusal("email must be an email address")
        }
        return text
    }

    static func trimmed(_ text: String) -> String { text.trimmingCharacters(in: .whitespacesAndNewlines) }

    static func hasControl(_ text: String) -> Bool {
        text.unicodeScalars.contains { $0.properties.generalCategory == .control }
    }
}
