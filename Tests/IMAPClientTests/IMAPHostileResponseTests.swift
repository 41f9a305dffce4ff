@testable import IMAPClient
import Testing

/// What a broken or hostile server may send: every case ends in an error of the right
/// kind, never a trap, a wrapped number or an unbounded allocation.
@Suite("Refusing hostile responses")
struct IMAPHostileResponseTests {
    func kind(of text: String, limits: IMAPLimits = IMAPLimits()) async -> IMAPError.Kind? {
        do {
            _ = try await Transcript(text).readAll(limits: limits)
            return nil
        } catch {
            return error.kind
        }
    }

    @Test("numbers over UInt32 are refused as too large, the maximum is accepted")
    func hugeNumbers() async throws {
        #expect(await kind(of: "* 4294967296 EXISTS") == .tooLarge)
        #expect(await kind(of: "* 99999999999999999999999 EXISTS") == .tooLarge)
        #expect(await kind(of: "* OK [UIDVALIDITY 4294967296] x") == .tooLarge)
        #expect(await kind(of: "* 1 FETCH (UID 18446744073709551616)") == .tooLarge)
        #expect(await kind(of: "* SEARCH 1 2 4294967296") == .tooLarge)
        let responses = try await Transcript("* 4294967295 EXISTS").readAll()
        #expect(responses == [.untagged(.exists(UInt32.max))])
    }

    @Test("a literal over the bound is refused before any of it is read")
    func hugeLiteral() async throws {
        #expect(await kind(of: "* 1 FETCH (BODY[] {99999999999}") == .tooLarge)
        #expect(await kind(of: "* 1 FETCH (BODY[] {99999999999999999999999999}") == .tooLarge)
        var limits = IMAPLimits()
        limits.literalBytes = 10
        #expect(await kind(of: "* 1 FETCH (BODY[] {11}\n01234567890)", limits: limits) == .tooLarge)
        #expect(await kind(of: "* 1 FETCH (BODY[] {10}\n0123456789)", limits: limits) == nil)
    }

    @Test("too many literals in one response are refused")
    func manyLiterals() async {
        var limits = IMAPLimits()
        limits.literalsPerResponse = 2
        let text = "* 1 FETCH (A {1}\nx B {1}\nx C {1}\nx)"
        #expect(await kind(of: text, limits: limits) == .tooLarge)
    }

    @Test("a literal cut short by the connection is a transport error")
    func shortLiteral() async {
        #expect(await kind(of: "* 1 FETCH (BODY[] {50}\nonly a few") == .transport)
    }

    @Test("unclosed parentheses and quotes are protocol violations")
    func unclosed() async {
        #expect(await kind(of: "* 1 FETCH (UID 1") == .protocolViolation)
        #expect(await kind(of: "* 1 FETCH (UID 1 X (a b)") == .protocolViolation)
        #expect(await kind(of: "* 1 FETCH (UID 1 X \"abc)") == .protocolViolation)
        #expect(await kind(of: "* 1 FETCH (UID 1 BODY[HEADER (FROM) NIL)") == .protocolViolation)
    }

    @Test("nesting deeper than the bound is refused")
    func deepNesting() async {
        let deep = "* 1 FETCH (X " + String(repeating: "(", count: 100) + String(repeating: ")", count: 100) + ")"
        #expect(await kind(of: deep) == .tooLarge)
        let fine = "* 1 FETCH (X " + String(repeating: "(", count: 5) + String(repeating: ")", count: 5) + ")"
        #expect(await kind(of: fine) == nil)
    }

    @Test("8-bit bytes in atoms, missing tags and garbage are protocol violations")
    func garbage() async {
        #expect(await kind(of: "* 1 FETCH (UID 1 X-FOO h\u{E9}llo)") == .protocolViolation)
        #expect(await kind(of: " OK missing tag") == .protocolViolation)
        #expect(await kind(of: "") == .protocolViolation)
        #expect(await kind(of: "A0001 MAYBE later") == .protocolViolation)
        #expect(await kind(of: "A0001 BYE tagged bye") == .protocolViolation)
        #expect(await kind(of: "*") == .protocolViolation)
        #expect(await kind(of: "* 12") == .protocolViolation)
        #expect(await kind(of: "* 1 FETCH UID 1") == .protocolViolation)
        #expect(await kind(of: "* 1 FETCH (UID 1) trailing") == .protocolViolation)
        #expect(await kind(of: "* 1 FETCH (UID x)") == .protocolViolation)
        #expect(await kind(of: "* 1 FETCH (INTERNALDATE \"31-Foo-2026 99:00:00 +0000\")") == .protocolViolation)
        #expect(await kind(of: "* 1 FETCH (BODY[]<99999999999> NIL)") == .tooLarge)
        #expect(await kind(of: "* OK [UIDVALIDITY] x") == .protocolViolation)
        #expect(await kind(of: "* OK [UIDNEXT 5 x") == .protocolViolation)
    }

    @Test("random bytes never trap the parser")
    func randomBytes() {
        var generator = SeededGenerator(seed: 42)
        let alphabet = Array("* 0123456789(){}[]<>\"\\ +ABODYUIFETCHNLexists\r\n".utf8) + [0x00, 0xFF, 0x80]
        for _ in 0..<5_000 {
            let length = Int.random(in: 0..<80, using: &generator)
            var bytes: [UInt8] = Array("* 1 FETCH (".utf8)
            for _ in 0..<length { bytes.append(alphabet.randomElement(using: &generator) ?? 0) }
            _ = try? IMAPResponseParser.parse(bytes)
            _ = try? IMAPResponseParser.parse(Array(bytes.dropFirst(11)))
        }
    }
}

extension IMAPHostileResponseTests {
    @Test("random transcripts with literals end in responses or errors, never a trap or a hang")
    func randomTranscripts() async {
        var generator = SeededGenerator(seed: 7)
        let pieces = [
            "* ", "A0001 ", "+ ", "OK ", "NO ", "BYE ", "FETCH ", "(", ")", "UID ", "4294967295 ", "99999999999 ",
            "BODY[]<0> ", "{5}\r\n", "{0}\r\n", "{99999999999}\r\n", "{3+}\r\n", "\"q\\\"\" ", "NIL ", "\r\n", "[", "]",
            "UIDVALIDITY ", "SEARCH ", "ESEARCH ", "1:5,", "abc", "\u{FF}",
        ]
        var limits = IMAPLimits()
        limits.literalBytes = 1_000
        for _ in 0..<2_000 {
            var text = ""
            for _ in 0..<Int.random(in: 1..<30, using: &generator) {
                text += pieces.randomElement(using: &generator) ?? ""
            }
            _ = try? await Transcript(text).readAll(limits: limits)
        }
    }
}

/// SplitMix64: the same sequence on every run, so a failure reproduces.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
