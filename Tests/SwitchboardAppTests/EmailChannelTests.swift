import Foundation
import HTTPTypes
import HummingbirdTesting
import MailMIME
import MailServerTesting
import NIOCore
import PostgresNIO
import SwitchboardApp
import ConnectorKit
import SwitchboardCore
import SwitchboardPipeline
import SwitchboardPostgres
import SwitchboardProvidersTesting
import SwitchboardTestSupport
import Testing

/// A mailbox as a channel, end to end on the real servers: mail sent to the shop over SMTP
/// (Postfix) is fetched over IMAP (Dovecot, IDLE) by the live server, answered by the agent,
/// and the answers land in the customer's mailbox, threaded.
@Suite("Email channels, end to end")
struct EmailChannelTests {
    static func credentials(_ box: TestMailbox, password: String? = nil) -> [String: String] {
        [
            "address": box.address, "display_name": "Kofe Shop", "password": password ?? box.password,
            "imap_host": box.endpoints.host, "imap_port": "\(box.endpoints.imapsPort)",
            "smtp_host": box.endpoints.host, "smtp_port": "\(box.endpoints.submissionPort)", "smtp_security": "starttls",
        ]
    }

    static func send(_ raw: [UInt8], to box: TestMailbox) async throws {
        try await TestMailServers.shared.deliver(rawMessage: raw, to: box.address, from: "aigerim@example.kz")
    }

    static func mail(
        to: String, id: String, subject: String, text: String, from: String = "aigerim@example.kz", inReplyTo: String? = nil,
        references: [String] = [], extra: String = ""
    ) -> [UInt8] {
        var lines = ["From: Aigerim <\(from)>", "To: \(to)", "Subject: \(subject)", "Message-ID: <\(id)>"]
        if let inReplyTo { lines.append("In-Reply-To: <\(inReplyTo)>") }
        if !references.isEmpty { lines.append("References: " + references.map { "<\($0)>" }.joined(separator: " ")) }
        if !extra.isEmpty { lines.append(extra) }
        lines += ["Content-Type: text/plain; charset=utf-8", "", text, ""]
        return Array(lines.joined(separator: "\r\n").utf8)
    }

    /// What the database holds of the channel, messages and jobs: recorded when a wait
    /// runs out, so a failure says where the mail stopped.
    static func diagnosing<Result: Sendable>(_ harness: AgentHarness, _ body: () async throws -> Result) async throws -> Result {
        do {
            return try await body()
        } catch {
            let owner = harness.bootstrap.ownerConfiguration
            let queries = [
                "SELECT coalesce(pull_state, '-') || ' ' || coalesce(pull_error, '-') || ' ' || coalesce(pull_cursor, '-') FROM channels",
                "SELECT direction || ' ' || coalesce(external_id, '-') || ' ' || coalesce(reply_status, '-') || ' ' || coalesce(delivery_status, '-') || ' ' || coalesce(delivery_error, '-') FROM messages ORDER BY seq",
                "SELECT kind || ' ' || status || ' ' || attempts || ' ' || coalesce(last_error, '-') FROM jobs",
            ]
            var report = ""
            for query in queries {
                report += try await PostgresAdministration.withConnection(owner, logger: TestDatabase.logger) { connection -> String in
                    var text = ""
                    for try await row in try await connection.query(PostgresQuery(unsafeSQL: query), logger: TestDatabase.logger).decode(String.self) {
                        text += row + "\n"
                    }
                    return text
                } + "--\n"
            }
            Issue.record("state when the wait ran out:\n\(report)")
            throw error
        }
    }

    @Test("a thread of three mails is one conversation, each answered once with the threading headers; an auto-reply is kept unanswered")
    func thread() async throws {
        let endpoints = try await TestMailServers.shared.endpoints()
        let shop = try await TestMailServers.shared.makeMailbox(prefix: "shop")
        let customer = try await TestMailServers.shared.makeMailbox(prefix: "aigerim")
        try await withAgentWorld(workers: 2, adjust: { $0.mailTrustFile = endpoints.caFile }, .ahc(.http)) { model, _, client, harness in
          try await Self.diagnosing(harness) {
            let setup = try await setUpAgent(client, model: model)
            let created = try await client.execute(
                uri: "/v1/channels", method: .post, headers: headers(bearer: setup.tenant.key),
                body: json(["kind": "email", "name": "Mailbox", "agent_id": setup.agentID, "credentials": Self.credentials(shop)])
            ) { $0 }
            #expect(created.status == .created, "body: \(String(buffer: created.body))")
            let channel = try object(created)
            let channelID = try #require(channel["id"] as? String)
            #expect((channel["pull"] as? [String: Any])?["state"] as? String == "connecting")
            #expect(channel["credentials"] == nil, "nothing generated, nothing shown")

            // The channel's loop starts at once (the creation rang it) and fetches from now on.
            do {
                try await within(.seconds(20)) {
                    while try await harness.count("SELECT count(*)::int FROM channels WHERE pull_state = 'connected'") == 0 {
                        try await Task.sleep(for: .milliseconds(50))
                    }
                }
            } catch {
                let owner = harness.bootstrap.ownerConfiguration
                let shown = try await PostgresAdministration.withConnection(owner, logger: TestDatabase.logger) { connection -> String in
                    var text = ""
                    for try await row in try await connection.query(
                        "SELECT coalesce(pull_state, '-') || ' ' || coalesce(pull_error, '-') || ' ' || coalesce(pull_owner, '-') FROM channels",
                        logger: TestDatabase.logger
                    ).decode(String.self) { text += row + "; " }
                    return text
                }
                Issue.record("the channel did not connect: \(shown)")
                throw error
            }
            try await Self.send(Self.mail(to: shop.address, id: "m1@example.kz", subject: "Order 17", text: "Где мой заказ?", from: customer.address), to: shop)
            let first = try await customer.waitForMessages(count: 1, timeout: .seconds(30))
            let answer1 = try MailMessage(parsing: try #require(first.first))
            #expect(answer1.subject == "Re: Order 17")
            #expect(answer1.inReplyTo == ["m1@example.kz"])
            #expect(answer1.references == ["m1@example.kz"])
            #expect(answer1.text.hasPrefix("reply to: Где мой заказ?"))
            let answerID = try #require(answer1.messageID)

            // The customer answers the answer (Outlook-like: In-Reply-To only, the quote below).
            try await Self.send(
                Self.mail(
                    to: shop.address, id: "m2@example.kz", subject: "RE: Order 17", text: "Спасибо! А когда?\n\n> reply to: Где мой заказ?",
                    from: customer.address, inReplyTo: answerID
                ),
                to: shop
            )
            let second = try await customer.waitForMessages(count: 2, timeout: .seconds(30))
            let answer2 = try #require(second.map { try MailMessage(parsing: $0) }.first { $0.inReplyTo == ["m2@example.kz"] })
            #expect(answer2.references == ["m1@example.kz", "m2@example.kz"])
            #expect(answer2.text.hasPrefix("reply to: Спасибо! А когда?"), "the quote is trimmed from what the agent sees")

            // No references at all, the same subject: the same thread. And an auto-reply.
            try await Self.send(Self.mail(to: shop.address, id: "m3@example.kz", subject: "Re: Order 17", text: "И ещё вопрос", from: customer.address), to: shop)
            try await Self.send(
                Self.mail(
                    to: shop.address, id: "auto@example.kz", subject: "Out of office", text: "Back Monday", from: customer.address,
                    extra: "Auto-Submitted: auto-replied"
                ),
                to: shop
            )
            let third = try await customer.waitForMessages(count: 3, timeout: .seconds(30))
            #expect(third.count == 3)
            try await within(.seconds(20)) {
                while try await harness.count("SELECT count(*)::int FROM messages WHERE external_id = 'auto@example.kz'") == 0 {
                    try await Task.sleep(for: .milliseconds(50))
                }
            }
            let conversations = try await listData(client, "/v1/conversations", key: setup.tenant.key)
            #expect(conversations.count == 2, "the thread, and the auto-reply's own")
            let thread = try #require(conversations.first { ($0["chat"] as? [String: Any])?["title"] as? String == "Order 17" })
            let messages = try await listData(client, "/v1/conversations/\(try #require(thread["id"] as? String))/messages", key: setup.tenant.key)
            #expect(messages.count == 6, "three questions, three answers")
            let auto = try #require(conversations.first { ($0["chat"] as? [String: Any])?["title"] as? String == "Out of office" })
            let autoMessages = try await listData(client, "/v1/conversations/\(try #require(auto["id"] as? String))/messages", key: setup.tenant.key)
            #expect(autoMessages.count == 1)
            #expect(autoMessages.first?["reply_status"] as? String == "skipped")
            #expect(await model.requests.count == 3)

            let shown = try await client.execute(uri: "/v1/channels/\(channelID)", method: .get, headers: headers(bearer: setup.tenant.key)) { try object($0) }
            let pull = try #require(shown["pull"] as? [String: Any])
            #expect(pull["state"] as? String == "connected")
            #expect((pull["cursor"] as? String)?.hasSuffix(":4") == true, "four mails fetched: \(pull)")
            #expect(pull["last_error"] is NSNull)
          }
        }
    }

    @Test("creation tries both logins and says which one failed; nothing is stored then")
    func refusedLogins() async throws {
        let endpoints = try await TestMailServers.shared.endpoints()
        let shop = try await TestMailServers.shared.makeMailbox(prefix: "refused")
        try await withAgentApp(telegramBase: "http://127.0.0.1:9", adjust: { $0.mailTrustFile = endpoints.caFile }) { client, _ in
            let tenant = try await createTenant(client)
            var wrongSMTP = Self.credentials(shop)
            wrongSMTP["smtp_password"] = "not-the-password"
            for (credentials, field, side) in [
                (Self.credentials(shop, password: "not-the-password"), "credentials.password", "IMAP"),
                (wrongSMTP, "credentials.smtp_password", "SMTP"),
            ] {
                let response = try await client.execute(
                    uri: "/v1/channels", method: .post, headers: headers(bearer: tenant.key),
                    body: json(["kind": "email", "name": "Mailbox", "credentials": credentials])
                ) { $0 }
                #expect(response.status == .badRequest)
                let error = try #require(try object(response)["error"] as? [String: Any])
                #expect(error["field"] as? String == field)
                #expect((error["message"] as? String)?.hasPrefix(side) == true, "\(error)")
                #expect(!String(buffer: response.body).contains("not-the-password"))
            }
            #expect(try await listData(client, "/v1/channels", key: tenant.key).isEmpty)
        }
    }

    @Test("a replica that dies after fetching and before storing loses nothing: the next one fetches the same mail again, stores it once, and goes on")
    func restartMidBatch() async throws {
        let endpoints = try await TestMailServers.shared.endpoints()
        let shop = try await TestMailServers.shared.makeMailbox(prefix: "restart")
        try await withAgentApp(telegramBase: "http://127.0.0.1:9", adjust: { $0.mailTrustFile = endpoints.caFile }) { client, harness in
          try await Self.diagnosing(harness) {
            let tenant = try await createTenant(client)
            var credentials = Self.credentials(shop)
            credentials["import_existing"] = "true"
            let created = try await client.execute(
                uri: "/v1/channels", method: .post, headers: headers(bearer: tenant.key),
                body: json(["kind": "email", "name": "Mailbox", "credentials": credentials])
            ) { $0 }
            #expect(created.status == .created, "body: \(String(buffer: created.body))")
            for index in 1...5 {
                try await Self.send(Self.mail(to: shop.address, id: "r\(index)@example.kz", subject: "Q\(index)", text: "Вопрос \(index)"), to: shop)
            }
            _ = try await shop.waitForMessages(count: 5)

            let database = harness.bootstrap.database
            let secrets = SecretBox(masterKey: harness.bootstrap.masterKey)
            let connectors = ConnectorRegistry.standard(harness.configuration, now: Date.init)
            let channels = PostgresChannelStore(database: database)
            func replica(_ name: String) -> PulledChannels {
                let store = PostgresIngestStore(database: database)
                let ingest = Ingest(
                    channels: channels, store: store, batcher: IngestBatcher(store: store), cache: ChannelRouteCache(),
                    connectors: connectors, secrets: secrets
                )
                return PulledChannels(
                    directory: channels, ingest: ingest, connectors: connectors, secrets: secrets, http: harness.http, owner: name,
                    logger: TestDatabase.logger
                )
            }
            let listed = try #require(try await channels.pulledChannels(kinds: ["email"], logger: TestDatabase.logger).first)
            let credentialsOpened = ChannelCredentials(
                try secrets.openCredentials(listed.route.sealedCredentials, tenant: listed.route.tenantID, channel: listed.route.channelID)
            )
            // Replica A fetches the five and dies before its ingest commits.
            let email = try #require(connectors["email"] as? any PullingConnector)
            let lost = try await email.pull(after: nil, credentials: credentialsOpened, http: harness.http, wait: .zero)
            #expect(lost.events.count == 5)
            #expect(try await harness.count("SELECT count(*)::int FROM messages") == 0)

            // Replica B takes the channel from the committed cursor (none): the same five, once.
            let b = replica("replica-b")
            try await b.refresh()
            try await within(.seconds(20)) {
                while try await harness.count("SELECT count(*)::int FROM messages") < 5 { try await Task.sleep(for: .milliseconds(20)) }
            }
            b.stopAll()
            for index in 6...7 {
                try await Self.send(Self.mail(to: shop.address, id: "r\(index)@example.kz", subject: "Q\(index)", text: "Вопрос \(index)"), to: shop)
            }
            _ = try await shop.waitForMessages(count: 7)
            // Replica C goes on from B's cursor once B gave the lease up.
            let c = replica("replica-c")
            try await within(.seconds(20)) {
                while try await harness.count("SELECT count(*)::int FROM channels WHERE pull_owner = 'replica-b' AND pull_lease_until IS NOT NULL") > 0 {
                    try await Task.sleep(for: .milliseconds(20))
                }
            }
            try await c.refresh()
            try await within(.seconds(20)) {
                while try await harness.count("SELECT count(*)::int FROM messages") < 7 { try await Task.sleep(for: .milliseconds(20)) }
            }
            c.stopAll()
            #expect(try await harness.count("SELECT count(*)::int FROM messages") == 7)
            #expect(try await harness.count("SELECT count(DISTINCT external_id)::int FROM messages") == 7)
            #expect(try await harness.count("SELECT count(*)::int FROM channels WHERE pull_cursor LIKE '%:7'") == 1)
          }
        }
    }
}
