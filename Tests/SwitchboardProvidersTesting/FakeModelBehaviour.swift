import Synchronization

/// What the fake does with one request. Scripted behaviours are used one per request, in
/// order, whatever the protocol; then the server's default applies.
public indirect enum FakeModelBehaviour: Sendable, Hashable {
    /// Answers "reply to: <last user text>" (the usual default).
    case echo
    /// Answers `text`, with `usage` (else ``FakeUsage/standard``) and the protocol's own
    /// finish reason (`"length"`, `"max_tokens"`, `"MAX_TOKENS"`; else its normal stop).
    case answer(String, usage: FakeUsage? = nil, finishReason: String? = nil)
    /// Answers with tool calls, in order (and `text` before them when given), in the
    /// protocol's shape: OpenAI `tool_calls` (streamed as interleaved `index` fragments),
    /// Anthropic `tool_use` blocks (streamed as `input_json_delta` pieces), Gemini
    /// `functionCall` parts. The finish reason is the protocol's tool one unless given.
    case toolCalls([FakeToolCall], text: String? = nil, finishReason: String? = nil)
    /// Answers with an HTTP status, an optional `Retry-After` value, and `body` (else the
    /// protocol's error JSON).
    case status(Int, retryAfter: String? = nil, body: String? = nil)
    /// Answers with an HTTP status, these headers as they are (`retry-after-ms: 1e19`), and
    /// the protocol's error JSON.
    case statusHeaders(Int, [String: String])
    /// 200 with a body that is not JSON.
    case malformed
    /// A stream that sends `after` deltas and ends without its terminator (no `[DONE]`, no
    /// `message_stop`); a non-streamed call gets JSON cut in the middle.
    case breakStream(after: Int)
    /// A stream that sends `after` deltas and then the protocol's error event (Anthropic
    /// `event: error` overloaded, an OpenAI `data: {"error": …}` line).
    case streamError(after: Int)
    /// Waits, then echoes (for timeout tests: keep it short).
    case delay(Duration)
    /// Waits, then does `then`.
    case delayed(Duration, then: FakeModelBehaviour)
    /// Waits until the test opens `gate`, then echoes: holds a worker busy for as long as
    /// the test needs, without a clock.
    case held(FakeGate)
}

/// A call the fake answers with: the tool's name and the arguments text exactly as the
/// model would send it (JSON or not).
public struct FakeToolCall: Sendable, Hashable {
    public var name: String
    public var arguments: String

    public init(_ name: String, _ arguments: String) {
        self.name = name
        self.arguments = arguments
    }
}

/// A gate requests wait at until the test opens it; open once, open for good.
public final class FakeGate: Sendable, Hashable {
    private let state = Mutex<(open: Bool, waiting: [CheckedContinuation<Void, Never>])>((false, []))

    public init() {}

    public func open() {
        let waiting = state.withLock { state in
            state.open = true
            defer { state.waiting = [] }
            return state.waiting
        }
        for continuation in waiting { continuation.resume() }
    }

    func pass() async {
        await withCheckedContinuation { continuation in
            let now = state.withLock { state in
                if !state.open { state.waiting.append(continuation) }
                return state.open
            }
            if now { continuation.resume() }
        }
    }

    public static func == (lhs: FakeGate, rhs: FakeGate) -> Bool { lhs === rhs }
    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
}
