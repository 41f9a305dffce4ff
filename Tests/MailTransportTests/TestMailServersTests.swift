import MailServerTesting
import MailTransport
import NIOSSL
import Testing

/// The harness itself: what the IMAP and SMTP tests rely on must hold, against the real
/// servers, or every test above it would fail for the wrong reason.
@Suite("The test mail servers")
struct TestMailServersTests {
    func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    @Test("a message injected over the MX port is in the maildir and fetchable over IMAPS")
    func deliverAndFetch() async throws {
        let servers = TestMailServers.shared
        let endpoints = try await servers.endpoints()
        let mailbox = try await servers.makeMailbox(prefix: "harness")
        let raw = Array("From: <a@example.org>\r\nTo: <\(mailbox.address)>\r\nSubject: harness\r\n\r\n.dot line\r\nbody\r\n".utf8)
        try await servers.deliver(rawMessage: raw, to: mailbox.address, from: "a@example.org")
        let stored = try await mailbox.waitForMessages(count: 1)
        #expect(text(stored[0]).contains("Subject: harness"))

        var options = MailTransportOptions(trustRoots: .file(endpoints.caFile))
        options.readTimeout = .seconds(10)
        let connection = try await MailConnection.open(
            to: MailServer(host: endpoints.host, port: endpoints.imapsPort, security: .tls), options: options
        )
        #expect(text(try await connection.readLine()).hasPrefix("* OK"))
        try await connection.send(Array("a1 LOGIN \"\(mailbox.user)\" \"\(mailbox.password)\"\r\na2 SELECT INBOX\r\n".utf8))
        var lines: [String] = []
        while !(lines.last ?? "").hasPrefix("a2 ") { lines.append(text(try await connection.readLine())) }
        #expect(lines.contains { $0.hasPrefix("a1 OK") })
        #expect(lines.contains("* 1 EXISTS"))
        try await connection.send(Array("a3 FETCH 1 BODY.PEEK[TEXT]\r\n".utf8))
        let fetch = text(try await connection.readLine())
        // "* 1 FETCH (BODY[TEXT] {N}": the literal is read by its announced size.
        let size = try #require(fetch.split(separator: "{").last.flatMap { Int($0.dropLast()) })
        let body = try await connection.readExactly(size)
        #expect(text(body) == ".dot line\r\nbody\r\n")
        await connection.close()
    }

    @Test("IDLE hears of a message delivered over the MX port")
    func idleSeesDelivery() async throws {
        let servers = TestMailServers.shared
        let endpoints = try await servers.endpoints()
        let mailbox = try await servers.makeMailbox(prefix: "idle")
        var options = MailTransportOptions(trustRoots: .file(endpoints.caFile))
        options.readTimeout = .seconds(10)
        let connection = try await MailConnection.open(
            to: MailServer(host: endpoints.host, port: endpoints.imapsPort, security: .tls), options: options
        )
        _ = try await connection.readLine()
        try await connection.send(Array("a1 LOGIN \"\(mailbox.user)\" \"\(mailbox.password)\"\r\na2 SELECT INBOX\r\na3 IDLE\r\n".utf8))
        var line = ""
        while !line.hasPrefix("+") { line = text(try await connection.readLine()) }
        try await servers.deliver(rawMessage: Array("Subject: ping\r\n\r\nx\r\n".utf8), to: mailbox.address, from: "a@example.org")
        // Bounded by the read timeout: the untagged EXISTS must come while idling.
        while line != "* 1 EXISTS" { line = text(try await connection.readLine()) }
        try await connection.send(Array("DONE\r\n".utf8))
        while !line.hasPrefix("a3 ") { line = text(try await connection.readLine()) }
        #expect(line.hasPrefix("a3 OK"))
        await connection.close()
    }

    @Test("each mailbox is its own: a second one does not see the first one's mail")
    func mailboxesAreSeparate() async throws {
        let servers = TestMailServers.shared
        let first = try await servers.makeMailbox(prefix: "first")
        let second = try await servers.makeMailbox(prefix: "second")
        #expect(first.address != second.address)
        try await servers.deliver(rawMessage: Array("Subject: one\r\n\r\nx\r\n".utf8), to: first.address, from: "a@example.org")
        _ = try await first.waitForMessages(count: 1)
        #expect(second.messages().isEmpty)
    }

    @Test("the MX port refuses recipients outside switchboard.test, so nothing can leave")
    func noRelay() async throws {
        await #expect(throws: TestMailServersError.self) {
            try await TestMailServers.shared.deliver(
                rawMessage: Array("Subject: out\r\n\r\nx\r\n".utf8), to: "someone@example.com", from: "a@example.org"
            )
        }
    }
}
