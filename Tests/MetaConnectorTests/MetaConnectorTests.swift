import ConnectorKit
import ConnectorKitTesting
import Foundation
import HTTPTypes
import MetaConnector
import Testing

@Suite("Instagram and Messenger: credentials, verification, signatures, descriptions")
struct MetaConnectorTests {
    @Test("the connectors pass the shared conformance checks", arguments: Meta.both)
    func conformance(_ meta: Meta) throws {
        let body = try meta.fixture("text")
        let conformance = ConnectorConformance(
            connector: meta.connector, credentials: meta.credentials,
            validDelivery: Meta.delivery(body, signature: Meta.signature(body)),
            signatureHeaders: [.hubSignature],
            sign: { [.hubSignature: Meta.signature($0)] })
        #expect(conformance.run() == [])
        #expect(meta.connector.kind == meta.kind)
    }

    @Test("RFC 4231 test case 2 verifies as an X-Hub-Signature-256", arguments: Meta.both)
    func rfc4231(_ meta: Meta) throws {
        var credentials = meta.credentials
        credentials.values["app_secret"] = "Jefe"
        let delivery = Meta.delivery(
            Array("what do ya want for nothing?".utf8),
            signature: "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        try meta.connector.verify(delivery, credentials: credentials)
        #expect(throws: ConnectorError.self) { try meta.connector.verify(delivery, credentials: meta.credentials) }
    }

    @Test("no header, a wrong or foreign signature, a body cut after signing are refused", arguments: Meta.both)
    func refusesBadSignatures(_ meta: Meta) throws {
        let body = try meta.fixture("text")
        let good = Meta.signature(body)
        var bad = good
        bad.removeLast()
        bad += good.hasSuffix("0") ? "1" : "0"
        let cases: [(String, [UInt8], String?)] = [
            ("no header", body, nil), ("empty header", body, ""), ("no prefix", body, String(good.dropFirst(7))),
            ("sha1", body, "sha1=" + String(good.dropFirst(7).prefix(40))), ("wrong signature", body, bad),
            ("another secret", body, Meta.signature(body, secret: "another-app-secret-0123456789abcdef")),
            ("body truncated after signing", Array(body.dropLast(3)), good),
            ("body with a byte appended", body + [0x20], good),
            ("uppercase prefix", body, "SHA256=" + good.dropFirst(7)),
            ("not hex", body, "sha256=" + String(repeating: "z", count: 64)),
        ]
        for (what, bytes, signature) in cases {
            do {
                try meta.connector.verify(Meta.delivery(bytes, signature: signature), credentials: meta.credentials)
                Issue.record("verified with \(what)")
            } catch {
                #expect(error.code == .unauthorized, "\(what)")
                #expect(!error.description.contains(good.dropFirst(7)))
                #expect(!error.description.contains(Meta.appSecret))
            }
        }
        var noSecret = meta.credentials
        noSecret.values["app_secret"] = nil
        #expect(throws: ConnectorError.self) { try meta.connector.verify(Meta.delivery(body, signature: good), credentials: noSecret) }
    }

    @Test("Meta's verification GET echoes the challenge when the verify token matches", arguments: Meta.both)
    func verificationChallenge(_ meta: Meta) throws {
        let answer = try meta.connector.answerVerification(
            query: ["hub.mode": "subscribe", "hub.verify_token": Meta.verifyToken, "hub.challenge": "1158201444"],
            credentials: meta.credentials)
        #expect(answer == "1158201444")
    }

    @Test("the verification GET is refused on a wrong mode, token or an odd challenge", arguments: Meta.both)
    func verificationRefused(_ meta: Meta) {
        let queries: [[String: String]] = [
            ["hub.mode": "subscribe", "hub.verify_token": "verify-me-43-long-enough", "hub.challenge": "1158201444"],
            ["hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1158201444"],
            ["hub.mode": "subscribe", "hub.challenge": "1158201444"],
            ["hub.mode": "unsubscribe", "hub.verify_token": Meta.verifyToken, "hub.challenge": "1158201444"],
            ["hub.verify_token": Meta.verifyToken, "hub.challenge": "1158201444"],
            ["hub.mode": "subscribe", "hub.verify_token": Meta.verifyToken],
            ["hub.mode": "subscribe", "hub.verify_token": Meta.verifyToken, "hub.challenge": ""],
            ["hub.mode": "subscribe", "hub.verify_token": Meta.verifyToken, "hub.challenge": "<script>alert(1)</script>"],
            ["hub.mode": "subscribe", "hub.verify_token": Meta.verifyToken, "hub.challenge": "12 34"],
            ["hub.mode": "subscribe", "hub.verify_token": Meta.verifyToken, "hub.challenge": String(repeating: "9", count: 257)],
        ]
        for query in queries {
            do {
                _ = try meta.connector.answerVerification(query: query, credentials: meta.credentials)
                Issue.record("answered \(query)")
            } catch {
                #expect(error.code == .unauthorized)
                #expect(!error.description.contains(Meta.verifyToken))
            }
        }
    }

    @Test("the required credentials are required and stored as given", arguments: Meta.both)
    func prepareCredentials(_ meta: Meta) throws {
        let submitted = meta.credentials.values
        let prepared = try meta.connector.prepareCredentials(submitted)
        #expect(prepared.stored == submitted)
        #expect(prepared.revealOnce.isEmpty)
        let required = meta.kind == "instagram"
            ? ["ig_user_id", "access_token", "app_secret", "verify_token"] : ["page_id", "access_token", "app_secret", "verify_token"]
        for name in required {
            for value in [nil, ""] as [String?] {
                var incomplete = submitted
                incomplete[name] = value
                do {
                    _ = try meta.connector.prepareCredentials(incomplete)
                    Issue.record("accepted without \(name)")
                } catch {
                    #expect(error.code == .invalidCredentials)
                    #expect(error.field == name)
                }
            }
        }
    }

    @Test("Instagram's page_id is optional")
    func instagramPageOptional() throws {
        var submitted = Meta.instagram.credentials.values
        submitted["page_id"] = nil
        #expect(try Meta.instagram.connector.prepareCredentials(submitted).stored == submitted)
    }

    @Test("non-numeric ids, tokens with spaces, short secrets and unknown fields are refused", arguments: Meta.both)
    func refusesBadCredentials(_ meta: Meta) {
        let idField = meta.kind == "instagram" ? "ig_user_id" : "page_id"
        var cases: [(String, String)] = [
            (idField, "17841 405"), (idField, "-1784"), (idField, "１２３"), (idField, String(repeating: "1", count: 65)),
            ("access_token", "EAAG token"), ("access_token", "EAAG\n"), ("app_secret", String(repeating: "s", count: 31) + " x"),
            ("verify_token", "verify me please 42"), ("webhook_secret", "x"), ("phone_number_id", "106540352242922"),
            ("verify_token", "v"), ("verify_token", String(repeating: "v", count: 15)),
            ("app_secret", "s"), ("app_secret", String(repeating: "s", count: 31)),
            ("app_secret", String(repeating: "é", count: 16)), ("verify_token", String(repeating: "ж", count: 8)),
        ]
        if meta.kind == "instagram" { cases.append(("page_id", "page-one")) } else { cases.append(("ig_user_id", "17841405822304914")) }
        for (name, value) in cases {
            var submitted = meta.credentials.values
            submitted[name] = value
            do {
                _ = try meta.connector.prepareCredentials(submitted)
                Issue.record("accepted \(name)=\(value)")
            } catch {
                #expect(error.code == .invalidCredentials, "\(name)")
                #expect(error.field == name, "\(name)")
                #expect(!error.description.contains(meta.accessToken))
            }
        }
    }

    @Test("the descriptions name the kinds, API bases, sub-processors and the Meta window")
    func descriptions() {
        let instagram = InstagramConnector.description
        #expect(instagram.kind == "instagram")
        #expect(instagram.apiBase?.setting == "INSTAGRAM_API_BASE")
        #expect(instagram.apiBase?.defaultURL.absoluteString == "https://graph.instagram.com")
        #expect(instagram.apiBase?.help == "Instagram API (Instagram Login accounts)")
        #expect(instagram.subProcessor.name == "Meta Platforms Ireland Ltd. (Instagram)")
        #expect(instagram.subProcessor.region == "ie")
        let messenger = MessengerConnector.description
        #expect(messenger.kind == "messenger")
        #expect(messenger.apiBase?.setting == "GRAPH_API_BASE")
        #expect(messenger.apiBase?.defaultURL.absoluteString == "https://graph.facebook.com")
        #expect(messenger.apiBase?.help == "Meta Graph API base")
        #expect(messenger.subProcessor.name == "Meta Platforms Ireland Ltd. (Messenger)")
        #expect(messenger.subProcessor.region == "ie")
        for description in [instagram, messenger] {
            guard case .pushed = description.arrival else {
                Issue.record("\(description.kind) is not pushed")
                continue
            }
        }
        for meta in Meta.both {
            #expect(meta.connector.messagingWindow == .metaMessaging)
            #expect(meta.connector.looksUpProfiles)
        }
        #expect(InstagramConnector.make(apiBase: nil, now: Date.init).apiBase.absoluteString == "https://graph.instagram.com")
        #expect(MessengerConnector.make(apiBase: URL(string: "http://10.0.0.1:1")!, now: Date.init).apiBase.absoluteString == "http://10.0.0.1:1")
    }
}
