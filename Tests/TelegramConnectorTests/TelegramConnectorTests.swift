import ConnectorKit
import ConnectorKitTesting
import Foundation
import HTTPTypes
import TelegramConnector
import Testing

@Suite("Telegram credentials and verification")
struct TelegramConnectorTests {
    let connector = Telegram.connector

    @Test("the connector passes the shared conformance checks")
    func conformance() throws {
        let conformance = ConnectorConformance(
            connector: connector, credentials: Telegram.credentials,
            validDelivery: Telegram.delivery(try Telegram.fixture("text_private")),
            signatureHeaders: [.telegramSecretToken], authentication: .secretHeader,
            sign: { _ in [.telegramSecretToken: Telegram.secret] })
        #expect(conformance.run() == [])
        #expect(connector.kind == "telegram")
    }

    @Test("a missing secret token is generated, stored, and revealed once")
    func generatesSecretToken() throws {
        let prepared = try connector.prepareCredentials(["bot_token": Telegram.token])
        let secret = try #require(prepared.stored["secret_token"])
        #expect(prepared.stored["bot_token"] == Telegram.token)
        #expect(prepared.revealOnce == ["secret_token": secret])
        #expect(secret.count == 64)
        #expect(secret.allSatisfy { $0.isHexDigit })
        let again = try connector.prepareCredentials(["bot_token": Telegram.token])
        #expect(again.stored["secret_token"] != secret)
    }

    @Test("a given secret token is kept and not revealed again")
    func keepsGivenSecretToken() throws {
        let prepared = try connector.prepareCredentials(["bot_token": Telegram.token, "secret_token": "my_Secret-1_long-enough"])
        #expect(prepared.stored == ["bot_token": Telegram.token, "secret_token": "my_Secret-1_long-enough"])
        #expect(prepared.revealOnce.isEmpty)
    }

    @Test(
        "malformed bot tokens are refused without repeating them",
        arguments: [
            "", "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1", ":AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1",
            "12a45:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1", "123456789:short", "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
            "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1!", "123456789:AAHdqTcvCH1vGWJxfSeof SAs0K5PALDsaw1",
        ])
    func refusesBadTokens(token: String) {
        do {
            _ = try connector.prepareCredentials(["bot_token": token])
            Issue.record("accepted \(token)")
        } catch {
            #expect(error.code == .invalidCredentials)
            #expect(error.field == "bot_token")
            #expect(token.isEmpty || !error.description.contains(token))
        }
    }

    @Test("a missing bot token is refused by name")
    func requiresToken() {
        #expect(throws: ConnectorError(.invalidCredentials, "bot_token is required", field: "bot_token")) {
            try connector.prepareCredentials(["secret_token": "abc"])
        }
    }

    @Test(
        "secret tokens outside 16–256 of A-Za-z0-9_- are refused: a guessable one as much as a malformed one",
        arguments: [
            "", "a", "my_Secret-1", String(repeating: "x", count: 15), "has space", "ünïcode", "semi;colon",
            String(repeating: "a", count: 257),
        ])
    func refusesBadSecretTokens(secret: String) {
        do {
            _ = try connector.prepareCredentials(["bot_token": Telegram.token, "secret_token": secret])
            Issue.record("accepted a bad secret token")
        } catch {
            #expect(error.code == .invalidCredentials)
            #expect(error.field == "secret_token")
        }
    }

    @Test("a secret token of exactly 256 characters is accepted")
    func acceptsLongestSecret() throws {
        let secret = String(repeating: "a_-9", count: 64)
        let prepared = try connector.prepareCredentials(["bot_token": Telegram.token, "secret_token": secret])
        #expect(prepared.stored["secret_token"] == secret)
    }

    @Test("an unknown credential field is refused by name")
    func refusesUnknownField() {
        do {
            _ = try connector.prepareCredentials(["bot_token": Telegram.token, "webhook_url": "https://x"])
            Issue.record("accepted an unknown field")
        } catch {
            #expect(error.code == .invalidCredentials)
            #expect(error.field == "webhook_url")
        }
    }

    @Test("the secret token header must equal the channel's secret")
    func verifiesSecretHeader() throws {
        let body = try Telegram.fixture("text_private")
        try connector.verify(Telegram.delivery(body), credentials: Telegram.credentials)
        for presented in [nil, "", "tg-secret_Abc12", "tg-secret_Abc1234", "TG-SECRET_ABC123", Telegram.token] {
            do {
                try connector.verify(Telegram.delivery(body, secretHeader: presented), credentials: Telegram.credentials)
                Issue.record("verified with \(presented ?? "no header")")
            } catch {
                #expect(error.code == .unauthorized)
                #expect(!error.description.contains(Telegram.secret))
            }
        }
    }

    @Test("a channel without a secret token verifies nothing")
    func noSecretNoEntry() throws {
        let body = try Telegram.fixture("text_private")
        let credentials = ChannelCredentials(["bot_token": Telegram.token])
        #expect(throws: ConnectorError.self) {
            try connector.verify(Telegram.delivery(body, secretHeader: ""), credentials: credentials)
        }
        #expect(throws: ConnectorError.self) {
            try connector.verify(Telegram.delivery(body), credentials: credentials)
        }
    }
}
