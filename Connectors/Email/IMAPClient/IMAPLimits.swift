/// The bounds on what a server may make the client read. Everything from the server is
/// counted against one of these before it is kept, so a hostile or broken server costs
/// bounded memory and time, and an error rather than a trap.
struct IMAPLimits: Sendable {
    /// The largest literal accepted: BODY[] partial fetches come back at most the caller's
    /// `maximumBytes`, so anything much larger is not an answer to our command.
    var literalBytes = 1 << 20
    /// Literals in one response: a FETCH of ours carries one; vendor data a few.
    var literalsPerResponse = 16
    /// Parenthesized nesting: BODYSTRUCTURE goes deep, but we never ask for it.
    var depth = 16
    /// Items in one parenthesized list (flags, labels, fetch attributes).
    var listItems = 10_000
    /// Numbers in one SEARCH response (the line length bounds it too).
    var searchResults = 1_000_000
    /// Responses read while waiting for one command to end: untagged data is legal at any
    /// time, but a server that never sends the tagged end must not keep us reading forever.
    var responsesPerCommand = 200_000

    /// Bytes of untagged data kept while one command runs (bodies, SEARCH numbers): with
    /// `responsesPerCommand` alone, a server could stream that many long lines into memory.
    var keptBytesPerCommand = 32 << 20

    /// Slack above the caller's `maximumBytes` for a literal: servers may return a few bytes
    /// more than asked on a partial fetch (none do by the RFC, but tolerance is cheap).
    static let literalSlack = 64 * 1024

    init() {}

    /// The bounds for fetching `messages` bodies of at most `maximumBodyBytes` each.
    init(maximumBodyBytes: Int, messages: Int = 1) {
        let (sum, overflow) = max(0, maximumBodyBytes).addingReportingOverflow(IMAPLimits.literalSlack)
        literalBytes = overflow ? Int.max : sum
        let (all, allOverflow) = literalBytes.multipliedReportingOverflow(by: max(1, messages))
        let (kept, keptOverflow) = all.addingReportingOverflow(keptBytesPerCommand)
        keptBytesPerCommand = allOverflow || keptOverflow ? Int.max : kept
    }
}
