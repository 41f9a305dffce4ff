@testable import IMAPClient
import Testing

@Suite("Session bookkeeping")
struct IMAPSessionStateTests {
    /// The error `begin` throws, or nil when it gave a tag.
    func begin(_ state: inout IMAPSessionState) -> IMAPError? {
        do {
            _ = try state.begin()
            return nil
        } catch {
            return error
        }
    }

    @Test("tags count up from A0001 and wrap after A9999")
    func tags() throws {
        var state = IMAPSessionState()
        #expect(try state.begin() == "A0001")
        state.end(failure: nil)
        #expect(try state.begin() == "A0002")
        state.end(failure: nil)
        for _ in 3...9_999 {
            _ = try state.begin()
            state.end(failure: nil)
        }
        #expect(try state.begin() == "A0001")
    }

    @Test("a second command while one runs is refused, not interleaved")
    func busy() throws {
        var state = IMAPSessionState()
        _ = try state.begin()
        #expect(begin(&state)?.kind == .refused)
        state.end(failure: nil)
        #expect(try state.begin() == "A0002")
    }

    @Test("transport failures, violations and oversized responses break the session; NO does not")
    func breaking() throws {
        for kind in [IMAPError.Kind.refused, .mailboxMissing, .authenticationFailed] {
            var state = IMAPSessionState()
            _ = try state.begin()
            state.end(failure: IMAPError(kind, "x"))
            #expect(state.brokenReason == nil)
            _ = try state.begin()
        }
        for kind in [IMAPError.Kind.transport, .protocolViolation, .tooLarge] {
            var state = IMAPSessionState()
            _ = try state.begin()
            state.end(failure: IMAPError(kind, "broken because"))
            let error = begin(&state)
            #expect(error?.kind == .transport)
            #expect(error?.description.contains("broken because") == true)
        }
    }

    @Test("EXISTS counts new mail only when it grows; EXPUNGE lowers the count")
    func exists() {
        var state = IMAPSessionState()
        var seen: [Bool] = []
        for untagged: IMAPUntagged in [.exists(3), .exists(3), .expunge(1), .exists(2), .exists(4), .recent(1)] {
            seen.append(state.apply(untagged))
        }
        #expect(seen == [true, false, false, false, true, false])
        state.resetMailbox()
        let afterReset = state.apply(.exists(1))
        #expect(afterReset)
    }
}

@Suite("Bounds")
struct IMAPLimitsTests {
    @Test("fetch bounds grow with the batch and saturate instead of overflowing")
    func fetchBounds() {
        let one = IMAPLimits(maximumBodyBytes: 1 << 20)
        #expect(one.literalBytes == (1 << 20) + IMAPLimits.literalSlack)
        let ten = IMAPLimits(maximumBodyBytes: 1 << 20, messages: 10)
        #expect(ten.keptBytesPerCommand == 10 * ((1 << 20) + IMAPLimits.literalSlack) + (32 << 20))
        let huge = IMAPLimits(maximumBodyBytes: Int.max, messages: Int.max)
        #expect(huge.literalBytes == Int.max)
        #expect(huge.keptBytesPerCommand == Int.max)
        let negative = IMAPLimits(maximumBodyBytes: -5, messages: -5)
        #expect(negative.literalBytes == IMAPLimits.literalSlack)
    }
}
