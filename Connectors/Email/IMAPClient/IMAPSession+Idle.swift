import MailTransport
import Synchronization

/// IDLE (RFC 2177): the server pushes EXISTS while we wait; DONE ends it.
extension IMAPSession {
    /// `whenIdling` runs once the server has accepted IDLE (its `+`), before the wait: tests
    /// deliver mail there, so the delivery cannot race the command.
    func idle(wait: Duration, whenIdling: (@Sendable () async -> Void)?) async throws(IMAPError) -> Bool {
        guard supportsIdle else { throw IMAPError(.refused, "the server does not offer IDLE") }
        let tag = try state.withLock { (state) throws(IMAPError) in try state.begin() }
        do {
            let result = try await idleExchange(tag: tag, wait: wait, whenIdling: whenIdling)
            state.withLock { $0.end(failure: nil) }
            return result
        } catch {
            await release(after: error)
            throw error
        }
    }

    private func idleExchange(
        tag: String, wait: Duration, whenIdling: (@Sendable () async -> Void)?
    ) async throws(IMAPError) -> Bool {
        let reader = IMAPResponseReader()
        let limits = IMAPLimits()
        var collected = Collected(limit: limits.responsesPerCommand, byteLimit: limits.keptBytesPerCommand)
        for part in try IMAPCommand.idle.encode(tag: tag, literalPlus: false) { try await send(part.bytes) }
        accepted: while true {
            switch try await nextResponse(reader, collected: &collected) {
            case .continuation:
                break accepted
            case let .tagged(answered, status) where answered == tag:
                throw IMAPError(.refused, "IDLE: \(status.text)")
            case .tagged:
                throw IMAPError(.protocolViolation, "a tagged answer for a command we never sent")
            case let .untagged(untagged):
                try collect(untagged, into: &collected)
            }
        }
        if !collected.newMail, let whenIdling { await whenIdling() }
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: wait)
        waiting: while !collected.newMail {
            let remaining = clock.now.duration(to: deadline)
            guard remaining > .zero else { break }
            let response: IMAPResponse
            do {
                response = try await nextResponse(reader, collected: &collected, firstLineTimeout: remaining)
            } catch where error.isTimeout {
                break waiting
            }
            switch response {
            case let .untagged(untagged):
                try collect(untagged, into: &collected)
            case let .tagged(answered, status) where answered == tag:
                // The server ended IDLE by itself (some do before their own timeout).
                guard status.condition == .ok else { throw IMAPError(.refused, "IDLE: \(status.text)") }
                return collected.newMail
            case .tagged, .continuation:
                throw IMAPError(.protocolViolation, "unexpected response during IDLE")
            }
        }
        try await send(Array("DONE\r\n".utf8))
        while true {
            switch try await nextResponse(reader, collected: &collected) {
            case let .untagged(untagged):
                try collect(untagged, into: &collected)
            case let .tagged(answered, status) where answered == tag:
                guard status.condition == .ok else { throw IMAPError(.refused, "IDLE: \(status.text)") }
                return collected.newMail
            case .tagged, .continuation:
                throw IMAPError(.protocolViolation, "unexpected response after DONE")
            }
        }
    }
}
