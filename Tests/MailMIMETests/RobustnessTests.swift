import Testing
@testable import MailMIME

/// Damaged copies of every fixture must parse or throw `MailError`, never trap; and the
/// inputs that would be quadratic in a naive reader must stay fast.
@Suite struct RobustnessTests {
    /// SplitMix64: seeded, so a failure replays.
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { n <= 0 ? 0 : Int(next() % UInt64(n)) }
    }

    static let fixtures = [
        Fixture.gmailAlternative, Fixture.outlookHTML, Fixture.koi8, Fixture.cp1251, Fixture.attachment2231,
        Fixture.autoReply, Fixture.bounce, Fixture.replyWithHistory,
    ]
    static let interesting: [UInt8] = Array("=?\r\n\t <>\"();:,-_&#*%'\\B Q".utf8) + [0, 0x80, 0xFF, 0xD0]

    @Test func mutatedFixturesNeverTrap() {
        var random = Random(state: 17)
        var parsed = 0
        for round in 0..<3_000 {
            var bytes = Self.fixtures[round % Self.fixtures.count]
            for _ in 0..<(1 + random.below(8)) {
                guard !bytes.isEmpty else { break }
                let at = random.below(bytes.count)
                switch random.below(4) {
                case 0: bytes[at] = Self.interesting[random.below(Self.interesting.count)]
                case 1: bytes.insert(Self.interesting[random.below(Self.interesting.count)], at: at)
                case 2: bytes.remove(at: at)
                default: bytes = Array(bytes.prefix(at))
                }
            }
            if (try? MailMessage(parsing: bytes)) != nil { parsed += 1 }
        }
        #expect(parsed > 2_000)
    }

    /// How much longer `work` takes on four times the input: about 4 when it is linear, 16
    /// when quadratic. Both sizes run in the same process one after the other, so a loaded
    /// machine slows both alike; the best of three of each keeps out one stall.
    static func growth(_ work: (Int) throws -> Void, size: Int) rethrows -> Double {
        let clock = ContinuousClock()
        func best(_ n: Int) throws -> Double {
            var fastest = Double.infinity
            for _ in 0..<3 {
                let elapsed = try clock.measure { try work(n) }
                fastest = min(fastest, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
            }
            return fastest
        }
        let small = try best(size)
        return try best(4 * size) / max(small, 1e-6)
    }

    @Test func unterminatedEncodedWordsStayLinear() throws {
        let growth = try Self.growth({ count in
            let subject = String(repeating: "=?utf-8?B?QUFB", count: count)
            let message = try MailMessage(parsing: Array("Subject: \(subject)\r\n\r\nx".utf8))
            #expect(message.subject?.count == subject.count)
        }, size: 2_000)
        #expect(growth < 9, "four times the words took \(growth) times as long: not linear")
    }

    @Test func unclosedScriptAndQuotesStayLinear() {
        let growth = Self.growth({ count in
            let html = "<script>" + String(repeating: "</\"", count: count)
            #expect(HTMLText.plainText(html) == "")
        }, size: 20_000)
        #expect(growth < 9, "four times the text took \(growth) times as long: not linear")
    }

    @Test func manyBoundaryLikeLinesStayFast() throws {
        var raw = "From: a@b.c\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\n"
        raw += String(repeating: "--c not a boundary\n", count: 50_000)
        raw += "--b--\n"
        let clock = ContinuousClock()
        let elapsed = try clock.measure {
            let message = try MailMessage(parsing: Fixture.crlf(raw))
            #expect(message.text.hasPrefix("--c not a boundary"))
        }
        #expect(elapsed < .seconds(5))
    }
}
