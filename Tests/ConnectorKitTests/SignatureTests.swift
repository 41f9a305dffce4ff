import ConnectorKit
import Testing

@Suite("Signature helpers")
struct SignatureTests {
    // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
    let rfcKey = Array("Jefe".utf8)
    let rfcMessage = Array("what do ya want for nothing?".utf8)
    let rfcMAC = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"

    @Test("HMAC-SHA256 matches the RFC 4231 vector")
    func hmacVector() {
        #expect(Signature.hmacSHA256Hex(message: rfcMessage, key: rfcKey) == rfcMAC)
        #expect(Signature.isValidHMACSHA256(hex: rfcMAC, message: rfcMessage, key: rfcKey))
        #expect(Signature.isValidHMACSHA256(hex: rfcMAC.uppercased(), message: rfcMessage, key: rfcKey))
    }

    @Test("a wrong, short or non-hex signature is refused", arguments: [
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3844",
        "5bdcc146", "", "zz", String(repeating: "g", count: 64),
    ])
    func refusesBadSignatures(hex: String) {
        #expect(!Signature.isValidHMACSHA256(hex: hex, message: rfcMessage, key: rfcKey))
    }

    @Test("secrets compare equal only when equal")
    func constantTimeEquals() {
        #expect(Signature.constantTimeEquals("s3cret", "s3cret"))
        #expect(!Signature.constantTimeEquals("s3cret", "s3creT"))
        #expect(!Signature.constantTimeEquals("s3cret", ""))
    }
}
