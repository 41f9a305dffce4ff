import ConnectorKit
import ConnectorKitTesting
import EmailConnector
import Foundation
import MailMIME
import MailServerTesting
import Testing

/// The mail connector against real Dovecot (IMAP, IDLE) and Postfix (SMTP), each test on a
/// mailbox of its own.
@Suite("Email connector against Dovecot and Postfix")
struct EmailConnectorTests {
    let http = RecordingHTTPClient()

    func connector() async throws -> EmailConnector {
        let endpoints = try await TestMailServers.shared.endpoints()
        return EmailConnector(egressProxy: nil, extraTrustRootsFile: endpoints.caFile)
    }

    func settings(_ box: TestMailbox, _ extra: [String: String] = [:]) -> ChannelCredentials {
        ChannelCredentials([
            "address": box.address, "display_name": "Kofe Shop", "password": box.password,
            "imap_host": box.endpoints.host, "imap_port": "\(box.endpoints.imapsPort)",
            "smtp_host": box.endpoints.host, "smtp_port": "\(box.endpoints.submissionPort)", "smtp_security": "starttls",
        ].merging(extra) { $1 })
    }

    func deliver(_ raw: [UInt8], to box: TestMailbox, expecting count: Int) async throws {
        try await TestMailServers.shared.deliver(rawMessage: raw, to: box.address, from: "sender@example.com")
        _ = try await box.waitForMessages(count: count)
    }

    /// Pulls until `count` events came (each pull takes what is there), bounded.
    func pullAll(_ connector: EmailConnector, _ credentials: ChannelCredentials, after cursor: String?, count: Int) async throws -> ([InboundEvent], String?) {
        var events: [InboundEvent] = []
        var cursor = cursor
        for _ in 0..<10 where events.count < count {
            let batch = try await connector.pull(after: cursor, credentials: credentials, http: http, wait: .zero)
            events += batch.events
            cursor = batch.cursor ?? cursor
        }
        return (events, cursor)
    }

    @Test("a new channel answers what arrives after it connected, and reads Gmail, Outlook, KOI8-R, Windows-1251, attachments, auto-replies and bounces")
    func readsTheShapes() async throws {
        let box = try await TestMailServers.shared.makeMailbox(prefix: "shapes")
        let connector = try await connector()
        let credentials = settings(box)
        try await deliver(MailShapes.plain(to: box.address, id: "old@example.com"), to: box, expecting: 1)
        let first = try await connector.pull(after: nil, credentials: credentials, http: http, wait: .zero)
        #expect(first.events.isEmpty, "the mail there before the channel is not answered")
        let start = try #require(first.cursor)
        #expect(start.hasSuffix(":1"))

        let shapes: [[UInt8]] = [
            MailShapes.gmail(to: box.address, id: "gmail-1@mail.gmail.example"),
            MailShapes.outlook(to: box.address, id: "outlook-1@outlook.example", inReplyTo: "first@example.com", references: ["root@example.com", "first@example.com"]),
            MailShapes.koi8(to: box.address, id: "koi8@mail.example"),
            MailShapes.cp1251(to: box.address, id: "cp1251@yandex.example"),
            MailShapes.withAttachment(to: box.address, id: "attached@example.com"),
            MailShapes.autoReply(to: box.address, id: "auto@example.com"),
            MailShapes.bounce(to: box.address, id: "bounce@googlemail.example"),
            MailShapes.replyWithHistory(to: box.address, id: "bob-2@example.org", inReplyTo: "a@example.com", root: "root@example.com"),
        ]
        for (index, shape) in shapes.enumerated() { try await deliver(shape, to: box, expecting: index + 2) }
        let (events, cursor) = try await pullAll(connector, credentials, after: start, count: shapes.count)
        #expect(events.count == shapes.count)
        #expect(cursor?.hasSuffix(":\(shapes.count + 1)") == true)
        let byID = Dictionary(events.map { ($0.eventID, $0) }, uniquingKeysWith: { first, _ in first })

        let gmail = try #require(byID["gmail-1@mail.gmail.example"])
        #expect(gmail.kind == .message)
        #expect(gmail.sender?.externalID == "jane.doe@gmail.example")
        #expect(gmail.sender?.name == "Doe, Jane")
        #expect(gmail.text == "Привет! Where is my order?")
        #expect(gmail.chat?.title == "Отчёт за квартал")
        #expect(gmail.chat?.externalID == "gmail-1@mail.gmail.example", "a new thread's root is its own id")
        #expect(gmail.noReply == nil)
        #expect(gmail.replyLimit != nil)

        let outlook = try #require(byID["outlook-1@outlook.example"])
        #expect(outlook.sender?.name == "Иван Петров")
        #expect(outlook.text?.contains("Hello & thanks,") == true)
        #expect(outlook.chat?.externalID == "root@example.com")
        #expect(outlook.threadKeys == ["first@example.com", "root@example.com"])
        #expect(outlook.chat?.title == "Order 1234")

        #expect(byID["koi8@mail.example"]?.text == "Привет, мир! Ёжик съел щи.")
        #expect(byID["cp1251@yandex.example"]?.text == "Привет, мир! Ёжик съел щи.")
        let attached = try #require(byID["attached@example.com"])
        #expect(attached.attachments.map(\.name) == ["invoice.pdf"])
        #expect(attached.attachments.first?.kind == "document")
        #expect(attached.attachments.first?.details["size"] == "13")
        #expect(byID["auto@example.com"]?.noReply?.hasPrefix("auto_reply") == true)
        #expect(byID["bounce@googlemail.example"]?.noReply?.hasPrefix("auto_reply") == true)
        let bob = try #require(byID["bob-2@example.org"])
        #expect(bob.text == "Thanks, that works.\nCan you also send the invoice?", "history and signature trimmed")
        let original = String(decoding: try #require(bob.raw), as: UTF8.self)
        #expect(original.contains("> Here is your order."), "the original keeps the quoted history")
    }

    @Test("from a committed cursor nothing is fetched twice; a cursor of another UIDVALIDITY fetches again under the same event ids")
    func cursors() async throws {
        let box = try await TestMailServers.shared.makeMailbox(prefix: "cursor")
        let credentials = settings(box, ["import_existing": "true"])
        for index in 1...3 { try await deliver(MailShapes.plain(to: box.address, id: "c\(index)@example.com"), to: box, expecting: index) }
        let (events, cursor) = try await pullAll(try await connector(), credentials, after: nil, count: 3)
        #expect(events.map(\.eventID) == ["c1@example.com", "c2@example.com", "c3@example.com"], "import_existing takes the mail already there")
        // A restarted server (a new connector, no open session) resumes after the cursor.
        let restarted = try await connector()
        let again = try await restarted.pull(after: cursor, credentials: credentials, http: http, wait: .zero)
        #expect(again.events.isEmpty)
        #expect(again.cursor == cursor)
        // The mailbox made anew: UIDs count again, and the same mail carries the same ids.
        let stale = "1:3"
        let (refetched, _) = try await pullAll(restarted, credentials, after: stale, count: 3)
        #expect(refetched.map(\.eventID) == ["c1@example.com", "c2@example.com", "c3@example.com"])
    }

    @Test("a mail larger than a fetch takes is read to the limit: its text and the attachments that begin there, marked truncated")
    func largeMail() async throws {
        let box = try await TestMailServers.shared.makeMailbox(prefix: "large")
        let connector = EmailConnector(
            egressProxy: nil, extraTrustRootsFile: try await TestMailServers.shared.endpoints().caFile, maximumMailBytes: 256 * 1024
        )
        let credentials = settings(box, ["import_existing": "true"])
        // 3 MB of base64 after the text: a scanned contract, say.
        let blob = Data((0..<2_200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }).base64EncodedString(options: .lineLength76Characters)
        let large = MailShapes.crlf("""
            From: Dana <dana@example.com>
            To: \(box.address)
            Subject: Contract
            Message-ID: <large@example.com>
            Content-Type: multipart/mixed; boundary=b

            --b
            Content-Type: text/plain; charset=utf-8

            The signed contract is attached.
            --b
            Content-Type: application/pdf; name=contract.pdf
            Content-Disposition: attachment; filename=contract.pdf
            Content-Transfer-Encoding: base64

            \(blob)
            --b--
            """)
        try await deliver(large, to: box, expecting: 1)
        let (events, _) = try await pullAll(connector, credentials, after: nil, count: 1)
        let event = try #require(events.first)
        #expect(event.kind == .message)
        #expect(event.text == "The signed contract is attached.")
        #expect(event.attachments.map(\.name) == ["contract.pdf"])
        let original = try JSONSerialization.jsonObject(with: Data(try #require(event.raw))) as? [String: Any]
        #expect(original?["truncated"] as? Bool == true)
        #expect((original?["size"] as? Int ?? 0) > 2_900_000)
        #expect((event.raw?.count ?? .max) < 300 * 1024, "the kept original is bounded")
    }

    @Test("a pull waiting on IDLE comes back with mail that arrives meanwhile")
    func idle() async throws {
        let box = try await TestMailServers.shared.makeMailbox(prefix: "idle")
        let connector = try await connector()
        let credentials = settings(box)
        let start = try await connector.pull(after: nil, credentials: credentials, http: http, wait: .zero).cursor
        let waiting = Task { try await connector.pull(after: start, credentials: credentials, http: http, wait: .seconds(30)) }
        // Delivered while the pull waits (had IDLE not reported it, the pull would come
        // back empty after 30 s and the expectation below fail).
        try await Task.sleep(for: .milliseconds(500))
        try await deliver(MailShapes.plain(to: box.address, id: "idle@example.com"), to: box, expecting: 1)
        let batch = try await waiting.value
        #expect(batch.events.map(\.eventID) == ["idle@example.com"])
    }

    @Test("a channel's logins are tried at creation, and a wrong IMAP or SMTP password is named as such")
    func register() async throws {
        let box = try await TestMailServers.shared.makeMailbox(prefix: "register")
        let connector = try await connector()
        try await connector.register(webhookURL: "", credentials: settings(box), http: http)
        await #expect(throws: ConnectorError.self) {
            try await connector.register(webhookURL: "", credentials: settings(box, ["password": "wrong"]), http: http)
        }
        do {
            try await connector.register(webhookURL: "", credentials: settings(box, ["password": "wrong"]), http: http)
        } catch {
            #expect(error.code == .credentialsRejected)
            #expect(error.message.hasPrefix("IMAP"))
            #expect(error.field == "password")
            #expect(!error.message.contains("wrong"), "the password is not repeated")
        }
        do {
            try await connector.register(webhookURL: "", credentials: settings(box, ["smtp_password": "wrong-smtp"]), http: http)
            Issue.record("a wrong SMTP password was accepted")
        } catch {
            #expect(error.code == .credentialsRejected)
            #expect(error.message.hasPrefix("SMTP"))
            #expect(error.field == "smtp_password")
        }
        do {
            try await connector.register(webhookURL: "", credentials: settings(box, ["mailbox": "Nowhere"]), http: http)
            Issue.record("a missing mailbox was accepted")
        } catch {
            #expect(error.field == "mailbox")
        }
    }

    @Test("a reply goes out by SMTP with Message-ID, In-Reply-To, References and Re:, and the customer's mailbox has it threaded")
    func sends() async throws {
        let shop = try await TestMailServers.shared.makeMailbox(prefix: "shop")
        let customer = try await TestMailServers.shared.makeMailbox(prefix: "customer")
        let connector = try await connector()
        let message = OutboundMessage(
            chatExternalID: "root@example.com", text: "Здравствуйте! Да, доставляем.\n.точка", idempotencyKey: "0d6e0c8e-msg",
            context: [
                "contact_external_id": customer.address, "reply_to_external_id": "m2@example.com", "chat_title": "Доставка",
                "ai_generated": "true",
            ]
        )
        let receipt = try await connector.send(message, credentials: settings(shop), http: http)
        #expect(receipt.externalIDs == ["0d6e0c8e-msg@switchboard.test"])
        let received = try await customer.waitForMessages(count: 1)
        let mail = try MailMessage(parsing: try #require(received.first))
        #expect(mail.messageID == "0d6e0c8e-msg@switchboard.test")
        #expect(mail.inReplyTo == ["m2@example.com"])
        #expect(mail.references == ["root@example.com", "m2@example.com"])
        #expect(mail.subject == "Re: Доставка")
        #expect(mail.from.first?.address == shop.address)
        #expect(mail.from.first?.name == "Kofe Shop")
        #expect(mail.text.hasPrefix("Здравствуйте! Да, доставляем.\n.точка"))
        #expect(mail.headers.first("Auto-Submitted") == "auto-replied")
    }

    @Test("settings are checked before anything is stored: fields, ports, security, one kind of secret")
    func checksSettings() async throws {
        let connector = EmailConnector(egressProxy: nil)
        let good = ["address": "a@b.kz", "imap_host": "imap.b.kz", "smtp_host": "smtp.b.kz", "password": "p"]
        _ = try connector.prepareCredentials(good)
        let refused: [([String: String], String)] = [
            (good.merging(["imap_port": "99999"]) { $1 }, "imap_port"),
            (good.merging(["smtp_security": "none"]) { $1 }, "smtp_security"),
            (good.merging(["smtp_hots": "x"]) { $1 }, "smtp_hots"),
            (good.merging(["address": "not an address"]) { $1 }, "address"),
            (good.merging(["oauth_refresh_token": "r", "oauth_token_url": "https://t", "oauth_client_id": "c"]) { $1 }, "password"),
            (good.filter { $0.key != "password" }, "password"),
            (good.merging(["imap_host": "evil\r\nhost"]) { $1 }, "imap_host"),
        ]
        for (submitted, field) in refused {
            #expect(throws: ConnectorError.self) { try connector.prepareCredentials(submitted) }
            do { _ = try connector.prepareCredentials(submitted) } catch { #expect(error.field == field, "\(submitted)") }
        }
    }

    @Test("an OAuth refresh token is exchanged once for an access token, and a refused one names the field")
    func oauthTokens() async throws {
        let connector = EmailConnector(egressProxy: nil)
        let client = RecordingHTTPClient()
        client.enqueue(.json(400, #"{"error":"invalid_grant"}"#), forPathSuffix: "/token")
        let credentials = ChannelCredentials([
            "address": "shop@gmail.example", "imap_host": "127.0.0.1", "imap_port": "1", "smtp_host": "127.0.0.1",
            "oauth_token_url": "https://oauth2.example/token", "oauth_client_id": "client", "oauth_refresh_token": "refresh-1",
        ])
        do {
            _ = try await connector.pull(after: nil, credentials: credentials, http: client, wait: .zero)
            Issue.record("a refused refresh token was not reported")
        } catch {
            #expect(error.code == .credentialsRejected)
            #expect(error.field == "oauth_refresh_token")
            #expect(!error.message.contains("refresh-1"))
        }
        let sent = try #require(client.requests.first)
        #expect(sent.text.contains("grant_type=refresh_token"))
        #expect(sent.text.contains("refresh_token=refresh-1"))
    }
}
