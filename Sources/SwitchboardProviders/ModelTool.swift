/// A function the model may call: its name, what it does, and a JSON Schema of its
/// arguments (an `object` schema).
public struct ModelTool: Sendable, Hashable {
    /// `^[a-zA-Z0-9_-]{1,64}$`, the rule every provider accepts; a request with another
    /// name is refused as ``ModelProviderError/Kind/badRequest`` before anything is sent.
    public var name: String
    public var description: String
    /// The JSON Schema of the arguments, sent as it is.
    public var parameters: ModelJSON

    public init(name: String, description: String, parameters: ModelJSON = ["type": "object", "properties": [:]]) {
        self.name = name
        self.description = description
        self.parameters = parameters
    }

    /// Whether `name` is a tool name every provider accepts.
    public static func isValidName(_ name: String) -> Bool {
        let utf8 = name.utf8
        guard (1...64).contains(utf8.count) else { return false }
        return utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "_")
                || byte == UInt8(ascii: "-")
        }
    }
}

/// Whether and which tool the model must call.
public enum ModelToolChoice: Sendable, Hashable {
    /// The model decides (the default).
    case auto
    /// The model must not call a tool.
    case none
    /// The model must call at least one tool.
    case required
    /// The model must call this tool.
    case tool(String)
}

/// A call the model asked for.
public struct ModelToolCall: Sendable, Hashable {
    /// The provider's id for the call (Gemini gives none: `call_<index>`), quoted back with
    /// the result.
    public var id: String
    public var name: String
    /// The arguments as JSON text, as the model sent them (not necessarily valid JSON:
    /// models make mistakes, and the agent loop tells them).
    public var arguments: String

    public init(id: String, name: String, arguments: String) {
        self.id = id
        self.name = name
        self.arguments = arguments
    }

    /// The arguments parsed, or `nil` when they are not JSON.
    public func parsedArguments() -> ModelJSON? {
        ModelJSON(parsing: arguments)
    }

    /// The most calls one answer may hold.
    public static let maximumCalls = 32
    /// The most bytes (UTF-8) of one call's arguments.
    public static let maximumArgumentBytes = 256 << 10
    /// The most characters of a call's id or name.
    public static let maximumIdentifierLength = 256

    /// Refuses an answer whose calls exceed the bounds (a hostile or broken provider) with a
    /// `.malformedResponse` error that says which bound.
    static func checkBounds(_ calls: [ModelToolCall], provider: String) throws(ModelProviderError) {
        try checkCount(calls.count, provider: provider)
        for call in calls {
            try checkIdentifiers(id: call.id, name: call.name, provider: provider)
            try checkArguments(byteCount: call.arguments.utf8.count, provider: provider)
        }
    }

    static func checkCount(_ count: Int, provider: String) throws(ModelProviderError) {
        guard count <= maximumCalls else {
            throw ModelProviderError(
                .malformedResponse, "\(provider) asked for more than \(maximumCalls) tool calls in one answer")
        }
    }

    static func checkIdentifiers(id: String, name: String, provider: String) throws(ModelProviderError) {
        guard id.count <= maximumIdentifierLength, name.count <= maximumIdentifierLength else {
            throw ModelProviderError(
                .malformedResponse, "\(provider) sent a tool call id or name over \(maximumIdentifierLength) characters")
        }
    }

    static func checkArguments(byteCount: Int, provider: String) throws(ModelProviderError) {
        guard byteCount <= maximumArgumentBytes else {
            throw ModelProviderError(
                .malformedResponse, "\(provider) sent tool call arguments over \(maximumArgumentBytes >> 10) KiB")
        }
    }
}

/// What a tool call produced, sent back to the model on the next request.
public struct ModelToolResult: Sendable, Hashable {
    /// The ``ModelToolCall/id`` this answers.
    public var callID: String
    /// The tool's name (Gemini matches results by name).
    public var name: String
    public var content: String
    /// The call failed; `content` says why.
    public var isError: Bool

    public init(callID: String, name: String, content: String, isError: Bool = false) {
        self.callID = callID
        self.name = name
        self.content = content
        self.isError = isError
    }
}

extension ModelRequest {
    /// Refuses tools whose names a provider would refuse, and a forced tool that is not
    /// declared, before anything is sent.
    func validateTools() throws(ModelProviderError) {
        for tool in tools where !ModelTool.isValidName(tool.name) {
            throw ModelProviderError(
                .badRequest, "the tool name \"\(tool.name.prefix(80))\" is not 1 to 64 letters, digits, _ or -")
        }
        if case .tool(let name) = toolChoice, !tools.contains(where: { $0.name == name }) {
            throw ModelProviderError(.badRequest, "the tool choice names \"\(name.prefix(80))\", which is not among the tools")
        }
    }

    /// Whether the request declares tools (the wire fields are sent only then).
    var hasTools: Bool { !tools.isEmpty }
}

extension FinishReason {
    /// `.toolCalls` when the answer holds calls and the provider said it simply stopped
    /// (OpenAI with a forced tool and Gemini say `stop`/`STOP`); else unchanged.
    func withCalls(_ calls: [ModelToolCall]) -> FinishReason {
        guard !calls.isEmpty, self == .stop || self == .other else { return self }
        return .toolCalls
    }
}
