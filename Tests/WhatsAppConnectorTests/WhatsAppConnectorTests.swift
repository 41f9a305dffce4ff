import ConnectorKit
import ConnectorKitTesting
import Foundation
import HTTPTypes
import Testing
import WhatsAppConnector

@Suite("WhatsApp credentials, verification and signatures")
struct WhatsAppConnectorTests {
    let connector = WhatsApp.connector

    @Test("the connector passes the shared conformance checks")
    func conformance() throws {
        let body = try WhatsApp.fixture("text")
        let conformance = ConnectorConformance(
            connector: connector, credentials: WhatsApp.credentials,
            validDelivery: WhatsApp.delivery(body, signature: WhatsApp.signature(body)),
            signatureHeaders: [.hubSignature256],
            sign: { [.hubSignature256: WhatsApp.signature($0)] })
        #expect(conformance.run() == [])
        #expect(connector.kind == "whatsapp")
    }

    @Test("the signature of the text fixture matches a known answer computed with openssl")
    func knownAnswer() throws {
        // openssl dgst -sha256 -hmac 'app-secret-7f3a9c0b1d2e3f405162738495a6b' Fixtures/text.json
        let expected = "sha256=b18f17c658ad90e588b5ee1b9a34bba3b94027a3e525e418a100774ed27606c1"
        let body = try WhatsApp.fixture("text")
        #expect(WhatsApp.signature(body) == expected)
        try connector.verify(WhatsApp.delivery(body, signature: expected), credentials: WhatsApp.credentials)

        // openssl dgst -sha256 -hmac 'app-secret-7f3a9c0b1d2e3f405162738495a6b' Fixtures/status_delivered.json
        let status = try WhatsApp.fixture("status_delivered")
        try connector.verify(
            WhatsApp.delivery(status, signature: "sha256=2a200154cfe553fa824275d745db5f94247c9c002b3d867e7b48d41a23d1d9ce"),
            credentials: WhatsApp.credentials)
    }

    @Test("RFC 4231 test case 2 verifies as an X-Hub-Signature-256")
    func rfc4231() throws {
        var credentials = WhatsApp.credentials
        credentials.values["app_secret"] = "Jefe"
        let delivery = WhatsApp.delivery(
            Array("what do ya want for nothing?".utf8),
            signature: "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        try connector.verify(delivery, credentials: credentials)
        #expect(throws: ConnectorError.self) { try connector.verify(delivery, credentials: WhatsApp.credentials) }
    }

    @Test(
        "a missing, malformed or wrong signature is refused",
        arguments: [
            nil, "", "sha256=", "sha1=b18f17c658ad90e588b5ee1b9a34bba3b94027a3",
            "b18f17c658ad90e588b5ee1b9a34bba3b94027a3e525e418a100774ed27606c1",
            "sha256=b18f17c658ad90e588b5ee1b9a34bba3b94027a3e525e418a100774ed27606c2",
            "sha256=b18f17c658ad90e588b5ee1b9a34bba3b94027a3e525e418a100774ed27606c",
            "sha256=zz8f17c658ad90e588b5ee1b9a34bba3b94027a3e525e418a100774ed27606c1",
        ])
    func refusesBadSignatures(signature: String?) throws {
        let body = try WhatsApp.fixture("text")
        do {
            try connector.verify(WhatsApp.delivery(body, signature: signature), credentials: WhatsApp.credentials)
            Issue.record("verified with \(signature ?? "no header")")
        } catch {
            #expect(error.code == .unauthorized)
            #expect(!error.description.contains("b18f17c658ad90e588b5ee1b9a34bba3b94027a3e525e418a100774ed27606c1"))
            #expect(!error.description.contains(WhatsApp.appSecret))
        }
    }

    @Test("Meta's verification GET echoes the challenge when the verify token matches")
    func verificationChallenge() throws {
        let answer = try connector.answerVerification(
            query: ["hub.mode": "subscribe", "hub.verify_token": WhatsApp.verifyToken, "hub.challenge": "1158201444"],
            credentials: WhatsApp.credentials)
        #expect(answer == "1158201444")
    }

    @Test(
        "the verification GET is refused on a wrong mode, token or challenge",
        arguments: [
            ["hub.mode": "subscribe", "hub.verify_token": "verify-me-43", "hub.challenge": "1158201444"],
            ["hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1158201444"],
            ["hub.mode": "subscribe", "hub.challenge": "1158201444"],
            ["hub.mode": "unsubscribe", "hub.verify_token": "verify-me-42-long-enough", "hub.challenge": "1158201444"],
            ["hub.verify_token": "verify-me-42-long-enough", "hub.challenge": "1158201444"],
            ["hub.mode": "subscribe", "hub.verify_token": "verify-me-42-long-enough"],
            ["hub.mode": "subscribe", "hub.verify_token": "verify-me-42-long-enough", "hub.challenge": "<script>alert(1)</script>"],
        ])
    func verificationRefused(query: [String: String]) {
        do {
            _ = try connector.answerVerification(query: query, credentials: WhatsApp.credentials)
            Issue.record("answered \(query)")
        } catch {
            #expect(error.code == .unauthorized)
            #expect(!error.description.contains(WhatsApp.verifyToken))
        }
    }

    @Test("all four credentials are required and stored as given")
    func prepareCredentials() throws {
        let submitted = WhatsApp.credentials.values
        let prepared = try connector.prepareCredentials(submitted)
        #expect(prepared.stored == submitted)
        #expect(prepared.revealOnce.isEmpty)
        for name in ["phone_number_id", "access_token", "app_secret", "verify_token"] {
            for value in [nil, ""] as [String?] {
                var incomplete = submitted
                incomplete[name] = value
                do {
                    _ = try connector.prepareCredentials(incomplete)
                    Issue.record("accepted without \(name)")
                } catch {
                    #expect(error.code == .invalidCredentials)
                    #expect(error.field == name)
                }
            }
        }
    }

    @Test("a non-numeric phone number id, a token with spaces and unknown fields are refused")
    func refusesBadCredentials() {
        let cases: [(String, String)] = [
            ("phone_number_id", "+7 701 000"), ("access_token", "EAAG token"), ("access_token", "EAAG\n"),
            ("webhook_secret", "x"),
            // Guessable secrets: a one-character verify token, an app secret shorter than Meta's 32.
            ("verify_token", "v"), ("verify_token", String(repeating: "v", count: 15)),
            ("app_secret", "s"), ("app_secret", String(repeating: "s", count: 31)),
            // Minimums count characters (as the OpenAPI document's minLength does), not UTF-8
            // bytes: 16 two-byte letters are 32 bytes but 16 characters.
            ("app_secret", String(repeating: "é", count: 16)), ("verify_token", String(repeating: "ж", count: 8)),
        ]
        for (name, value) in cases {
            var submitted = WhatsApp.credentials.values
            submitted[name] = value
            do {
                _ = try connector.prepareCredentials(submitted)
                Issue.record("accepted \(name)")
            } catch {
                #expect(error.code == .invalidCredentials)
                #expect(error.field == name)
                #expect(!error.description.contains(WhatsApp.accessToken))
            }
        }
    }
}
