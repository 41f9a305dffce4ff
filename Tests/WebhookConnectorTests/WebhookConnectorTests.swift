import ConnectorKit
import ConnectorKitTesting
import Foundation
import HTTPTypes
import Testing
import WebhookConnector

@Suite("Generic webhook credentials and signatures")
struct WebhookConnectorTests {
    let connector = Webhook.connector

    @Test("the connector passes the shared conformance checks")
    func conformance() throws {
        let body = try Webhook.fixture("generic")
        let conformance = ConnectorConformance(
            connector: connector, credentials: Webhook.credentials,
            validDelivery: Webhook.delivery(body, header: Webhook.header(body)),
            signatureHeaders: [.switchboardSignature],
            sign: { [.switchboardSignature: Webhook.header($0)] })
        #expect(conformance.run() == [])
        #expect(connector.kind == "webhook")
    }

    @Test("the signature header matches known answers computed with openssl")
    func knownAnswers() throws {
        // (printf '1763900000.'; cat Fixtures/generic.json) | openssl dgst -sha256 -hmac 'whsec-3d1f0e'
        let generic = try Webhook.fixture("generic")
        let expected = "t=1763900000,v1=5d177d3e82e4b7f81be34128ff6d80f5f3a0befaf876f77b06589d6bfb92ad5d"
        #expect(
            WebhookConnector.signatureHeader(secret: Webhook.secret, timestamp: Webhook.date(1_763_900_000), body: generic)
                == expected)
        try connector.verify(Webhook.delivery(generic, header: expected), credentials: Webhook.credentials)

        // printf '1763900000.what do ya want for nothing?' | openssl dgst -sha256 -hmac Jefe
        #expect(
            WebhookConnector.signatureHeader(
                secret: "Jefe", timestamp: Date(timeIntervalSince1970: 1_763_900_000.9),
                body: Array("what do ya want for nothing?".utf8))
                == "t=1763900000,v1=f3a335622552a1696b529c3e69ba56baad6f9334ba620604d33a295866f3c309")
    }

    @Test("RFC 4231 test case 2 holds for the HMAC under the header")
    func rfc4231() {
        #expect(
            Signature.hmacSHA256Hex(message: Array("what do ya want for nothing?".utf8), key: Array("Jefe".utf8))
                == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    @Test(
        "a delivery is accepted up to 300 seconds either side of its timestamp, and not beyond",
        arguments: [(300, true), (-300, true), (0, true), (299, true), (301, false), (-301, false), (86_400, false)])
    func replayWindow(offset: Int64, accepted: Bool) throws {
        let body = try Webhook.fixture("generic")
        let delivery = Webhook.delivery(body, header: Webhook.header(body), receivedAt: Webhook.date(Webhook.timestamp + offset))
        let error = Webhook.verifyError(delivery)
        if accepted {
            #expect(error == nil)
        } else {
            #expect(error?.code == .unauthorized)
            #expect(error?.message.contains("replay window") == true)
        }
    }

    @Test("a fraction of a second past the window is refused")
    func windowIsExact() throws {
        let body = try Webhook.fixture("generic")
        let late = Date(timeIntervalSince1970: TimeInterval(Webhook.timestamp) + 300.001)
        #expect(Webhook.verifyError(Webhook.delivery(body, header: Webhook.header(body), receivedAt: late))?.code == .unauthorized)
        let narrow = WebhookConnector(maximumSkew: 5)
        let delivery = Webhook.delivery(body, header: Webhook.header(body), receivedAt: Webhook.date(Webhook.timestamp + 6))
        #expect(throws: ConnectorError.self) { try narrow.verify(delivery, credentials: Webhook.credentials) }
    }

    @Test("any of several v1 signatures may match (secret rotation)")
    func severalSignatures() throws {
        let body = try Webhook.fixture("generic")
        let good = String(Webhook.header(body).split(separator: "v1=")[1])
        let old = String(Webhook.header(body, secret: "old-secret").split(separator: "v1=")[1])
        let rotating = "t=\(Webhook.timestamp),v1=\(old), v1=\(good)"
        #expect(Webhook.verifyError(Webhook.delivery(body, header: rotating)) == nil)
        #expect(Webhook.verifyError(Webhook.delivery(body, header: "t=\(Webhook.timestamp),v1=\(old)"))?.code == .unauthorized)
        #expect(Webhook.verifyError(Webhook.delivery(body, header: "v0=abc,t=\(Webhook.timestamp),v1=\(good)")) == nil)
    }

    @Test("a header may carry up to three v1 signatures; more are refused before any is checked")
    func candidateCap() throws {
        let body = try Webhook.fixture("generic")
        let good = String(Webhook.header(body).split(separator: "v1=")[1])
        let wrong = String(repeating: "0", count: 64)
        let three = "t=\(Webhook.timestamp),v1=\(wrong),v1=\(wrong),v1=\(good)"
        #expect(Webhook.verifyError(Webhook.delivery(body, header: three)) == nil)
        // A thousand candidates cost a thousand HMACs of the body before; the right one among
        // them no longer gets a look.
        let many = "t=\(Webhook.timestamp)," + Array(repeating: "v1=\(wrong)", count: 999).joined(separator: ",") + ",v1=\(good)"
        let error = Webhook.verifyError(Webhook.delivery(body, header: many))
        #expect(error?.code == .unauthorized)
        #expect(error?.message.contains("more than 3 v1 signatures") == true)
        let four = "t=\(Webhook.timestamp),v1=\(good),v1=\(wrong),v1=\(wrong),v1=\(wrong)"
        #expect(Webhook.verifyError(Webhook.delivery(body, header: four))?.code == .unauthorized)
    }

    @Test("a candidate is compared with the one HMAC byte by byte: hex in either case, nothing else")
    func constantTimeComparison() {
        let mac = Signature.hmacSHA256(message: Array("what do ya want for nothing?".utf8), key: Array("Jefe".utf8))
        #expect(Signature.constantTimeEquals(hex: "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", mac))
        #expect(Signature.constantTimeEquals(hex: "5BDCC146BF60754E6A042426089575C75A003F089D2739839DEC58B964EC3843", mac))
        #expect(!Signature.constantTimeEquals(hex: "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3842", mac))
        #expect(!Signature.constantTimeEquals(hex: "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec38", mac))
        #expect(!Signature.constantTimeEquals(hex: "zz", mac))
        #expect(!Signature.constantTimeEquals(hex: "", mac))
    }

    @Test(
        "missing or malformed signature headers are refused",
        arguments: [
            nil, "", "garbage", "t=1763900000", "v1=5d177d3e82e4b7f81be34128ff6d80f5f3a0befaf876f77b06589d6bfb92ad5d",
            "t=1763900000,t=1763900000,v1=5d177d3e82e4b7f81be34128ff6d80f5f3a0befaf876f77b06589d6bfb92ad5d",
            "t=17639e5,v1=5d177d3e82e4b7f81be34128ff6d80f5f3a0befaf876f77b06589d6bfb92ad5d",
            "t=-1763900000,v1=5d177d3e82e4b7f81be34128ff6d80f5f3a0befaf876f77b06589d6bfb92ad5d",
            "t=1763900001,v1=5d177d3e82e4b7f81be34128ff6d80f5f3a0befaf876f77b06589d6bfb92ad5d",
            "t=1763900000,v1=",
        ])
    func refusesBadHeaders(header: String?) throws {
        let body = try Webhook.fixture("generic")
        let error = Webhook.verifyError(Webhook.delivery(body, header: header))
        #expect(error?.code == .unauthorized)
        #expect(error.map { !$0.description.contains(Webhook.secret) } == true)
        #expect(error.map { !$0.description.contains("5d177d3e82e4b7f81be34128ff6d80f5f3a0befaf876f77b06589d6bfb92ad5d") } == true)
    }

    @Test("the signing secret is generated, stored and revealed once; the callback URL is kept")
    func prepareCredentials() throws {
        let prepared = try connector.prepareCredentials(["callback_url": Webhook.callbackURL])
        let secret = try #require(prepared.stored["signing_secret"])
        #expect(secret.count == 64)
        #expect(prepared.stored == ["signing_secret": secret, "callback_url": Webhook.callbackURL])
        #expect(prepared.revealOnce == ["signing_secret": secret])
        let bare = try connector.prepareCredentials([:])
        #expect(bare.stored.keys.sorted() == ["signing_secret"])
        #expect(bare.stored["signing_secret"] != secret)
    }

    @Test(
        "a chosen signing secret, an unknown field or a bad callback URL is refused by name",
        arguments: [
            (["signing_secret": "mine"], "signing_secret"), (["secret": "x"], "secret"),
            (["callback_url": "ftp://crm.example.kz/in"], "callback_url"), (["callback_url": "/replies"], "callback_url"),
            (["callback_url": "not a url"], "callback_url"), (["callback_url": ""], "callback_url"),
            (["callback_url": "https://"], "callback_url"),
        ])
    func refusesBadCredentials(submitted: [String: String], field: String) {
        do {
            _ = try connector.prepareCredentials(submitted)
            Issue.record("accepted \(submitted)")
        } catch {
            #expect(error.code == .invalidCredentials)
            #expect(error.field == field)
        }
    }
}
