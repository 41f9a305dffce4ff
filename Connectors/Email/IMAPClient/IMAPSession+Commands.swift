import MailTransport
import Synchronization

/// Running one command: tag, send, read to the tagged end, with every untagged response
/// in between kept, counted and applied to the session's state.
extension IMAPSession {
    struct Completion {
        var untagged: [IMAPUntagged]
        var status: IMAPStatus
        /// EXISTS grew while the command ran.
        var newMail: Bool
    }

    /// Runs `command` to its tagged end. `continuationReplies` answer `+` after the whole
    /// command went out (SASL steps), in order; past them a `*` cancels the exchange.
    func execute(
        _ command: IMAPCommand, limits: IMAPLimits = IMAPLimits(), continuationReplies: [[UInt8]] = []
    ) async throws(IMAPError) -> Completion {
        let tag = try state.withLock { (state) throws(IMAPError) in try state.begin() }
        do {
            let completion = try await exchange(command, tag: tag, limits: limits, continuationReplies: continuationReplies)
            state.withLock { $0.end(failure: nil) }
            return completion
        } catch {
            await release(after: error)
            throw error
        }
    }

    /// Ends the command in error; closes the connection when the stream is out of step.
    func release(after error: IMAPError) async {
        state.withLock { $0.end(failure: error) }
        switch error.kind {
        case .transport, .protocolViolation, .tooLarge: await connection.close()
        case .authenticationFailed, .mailboxMissing, .refused: break
        }
    }

    private func exchange(
        _ command: IMAPCommand, tag: String, limits: IMAPLimits, continuationReplies: [[UInt8]]
    ) async throws(IMAPError) -> Completion {
        let literalPlus = state.withLock { $0.capabilities.contains("LITERAL+") }
        let parts = try command.encode(tag: tag, literalPlus: literalPlus)
        let reader = IMAPResponseReader(limits: limits)
        var collected = Collected(limit: limits.responsesPerCommand, byteLimit: limits.keptBytesPerCommand)
        for part in parts {
            try await send(part.bytes)
            guard part.awaitsContinuation else { continue }
            // A synchronising literal: the server says "+" to go on, or ends the command.
            waiting: while true {
                switch try await nextResponse(reader, collected: &collected) {
                case .continuation:
                    break waiting
                case let .tagged(answered, status):
                    guard answered == tag else { throw unexpectedTag(answered) }
                    return Completion(untagged: collected.untagged, status: status, newMail: collected.newMail)
                case let .untagged(untagged):
                    try collect(untagged, into: &collected)
                }
            }
        }
        var replies = continuationReplies[...]
        var cancelled = false
        while true {
            switch try await nextResponse(reader, collected: &collected) {
            case .continuation:
                if let reply = replies.popFirst() {
                    try await send(reply)
                } else if !cancelled {
                    cancelled = true
                    try await send(Array("*\r\n".utf8))
                } else {
                    throw IMAPError(.protocolViolation, "the server asked for more than the command has")
                }
            case let .tagged(answered, status):
                guard answered == tag else { throw unexpectedTag(answered) }
                return Completion(untagged: collected.untagged, status: status, newMail: collected.newMail)
            case let .untagged(untagged):
                try collect(untagged, into: &collected)
            }
        }
    }

    /// Untagged data seen during one command.
    struct Collected {
        var limit: Int
        var byteLimit: Int
        var untagged: [IMAPUntagged] = []
        var count = 0
        var keptBytes = 0
        var newMail = false
        var bye: String?
    }

    /// The next response, counted against the per-command bound. A read that fails after
    /// the server said BYE reports the BYE's text, which says why better than "closed".
    func nextResponse(
        _ reader: IMAPResponseReader, collected: inout Collected, firstLineTimeout: Duration? = nil
    ) async throws(IMAPError) -> IMAPResponse {
        collected.count += 1
        guard collected.count <= collected.limit else {
            throw IMAPError(.tooLarge, "more than \(collected.limit) responses to one command")
        }
        do {
            return try await reader.read(from: source, firstLineTimeout: firstLineTimeout)
        } catch {
            if let bye = collected.bye, !error.isTimeout {
                throw IMAPError(.transport, "the server closed the connection: \(bye)")
            }
            throw error
        }
    }

    /// Applies untagged data to the session and keeps it for the command's caller; data no
    /// caller reads (FLAGS, LIST, vendor responses) is not kept.
    func collect(_ untagged: IMAPUntagged, into collected: inout Collected) throws(IMAPError) {
        if case let .status(status) = untagged, status.condition == .bye { collected.bye = status.text }
        if state.withLock({ $0.apply(untagged) }) { collected.newMail = true }
        if case .other = untagged { return }
        collected.keptBytes += untagged.approximateBytes
        guard collected.keptBytes <= collected.byteLimit else {
            throw IMAPError(.tooLarge, "more than \(collected.byteLimit) bytes of answers to one command")
        }
        collected.untagged.append(untagged)
    }

    func send(_ bytes: [UInt8]) async throws(IMAPError) {
        do {
            try await connection.send(bytes)
        } catch {
            throw IMAPConnectionSource.translate(error)
        }
    }

    private func unexpectedTag(_ tag: String) -> IMAPError {
        IMAPError(.protocolViolation, "a tagged answer for '\(IMAPError.clip(tag))', which we never sent")
    }
}
