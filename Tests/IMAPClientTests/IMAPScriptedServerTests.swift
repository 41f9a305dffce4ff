import Foundation
@testable import IMAPClient
import MailTransport
import NIOSSL
import Testing

/// What Dovecot will not do, from a scripted loopback server over real TCP and TLS:
/// XOAUTH2, SASL without an initial response, LOGIN literals, refusals before any
/// credential is sent, and hostile answers.
@Suite("IMAP against scripted servers")
struct IMAPScriptedServerTests {
    struct Setup {
        var server: ScriptedIMAPServer
        var options: MailTransportOptions
        var endpoint: MailServer
    }

    func start(
        _ capabilities: String, security: MailSecurity = .tls, script: @escaping ScriptedIMAPServer.Script
    ) async throws -> Setup {
        let files = try await MailFixture.tlsFiles()
        let server = try await ScriptedIMAPServer.start(
            greeting: "* OK [CAPABILITY \(capabilities)] scripted ready\r\n",
            tls: security == .tls ? (files.certificate, files.key) : nil, script: script
        )
        var options = MailTransportOptions(proxy: nil, trustRoots: .file(files.caFile))
        options.readTimeout = .seconds(10)
        return Setup(server: server, options: options, endpoint: MailServer(host: "localhost", port: server.port, security: security))
    }

    /// Answers AUTHENTICATE with OK, EXAMINE with a small mailbox, and `fetch` to UID FETCH.
    static func mailbox(fetch: @escaping @Sendable (String) -> String) -> ScriptedIMAPServer.Script {
        { line in
            let tag = line.tag
            if line.contains("AUTHENTICATE PLAIN") { return "\(tag) OK [CAPABILITY IMAP4rev1 IDLE] in\r\n" }
            if line.contains("EXAMINE") { return "* 3 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n\(tag) OK [READ-ONLY] done\r\n" }
            if line.contains("UID FETCH") { return fetch(tag) }
            if line.contains("NOOP") { return "\(tag) OK noop\r\n" }
            if line.contains("LOGOUT") { return "* BYE bye\r\n\(tag) OK out\r\n" }
            return "\(tag) BAD unexpected\r\n"
        }
    }

    let login = IMAPLogin(user: "bob@example.com", secret: .password("s3cret"))

    @Test("an access token logs in with AUTHENTICATE XOAUTH2 and its SASL initial response")
    func xoauth2() async throws {
        let setup = try await start("IMAP4rev1 SASL-IR AUTH=XOAUTH2 AUTH=PLAIN") { line in
            "\(line.tag) OK [CAPABILITY IMAP4rev1 IDLE X-GM-EXT-1] Thats all she wrote!\r\n"
        }
        defer { Task { await setup.server.stop() } }
        let session = try await IMAPSession.connect(
            to: setup.endpoint, login: IMAPLogin(user: "bob@example.com", secret: .oauth2AccessToken("ya29.tok")),
            options: setup.options
        )
        let expected = Data("user=bob@example.com\u{1}auth=Bearer ya29.tok\u{1}\u{1}".utf8).base64EncodedString()
        #expect(setup.server.received.first == "A0001 AUTHENTICATE XOAUTH2 \(expected)")
        #expect(session.capabilities == ["IMAP4REV1", "IDLE", "X-GM-EXT-1"])
        #expect(session.supportsIdle)
    }

    @Test("a refused token gets the empty SASL answer, then authenticationFailed without the token")
    func xoauth2Refused() async throws {
        let setup = try await start("IMAP4rev1 SASL-IR AUTH=XOAUTH2") { line in
            if line.contains("AUTHENTICATE") { return "+ eyJzdGF0dXMiOiI0MDAiLCJzY2hlbWVzIjoiQmVhcmVyIn0=\r\n" }
            if line.isEmpty { return "A0001 NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)\r\n" }
            return "\(line.tag) BAD unexpected\r\n"
        }
        defer { Task { await setup.server.stop() } }
        let error = await #expect(throws: IMAPError.self) {
            _ = try await IMAPSession.connect(
                to: setup.endpoint, login: IMAPLogin(user: "bob@example.com", secret: .oauth2AccessToken("ya29.secret")),
                options: setup.options
            )
        }
        #expect(error?.kind == .authenticationFailed)
        #expect(error?.description.contains("Invalid credentials") == true)
        #expect(error?.description.contains("ya29.secret") == false)
        #expect(setup.server.received.count == 2)
        #expect(setup.server.received.last == "")
    }

    @Test("without SASL-IR, AUTHENTICATE PLAIN sends its response after the continuation and asks CAPABILITY after")
    func plainWithoutInitialResponse() async throws {
        let setup = try await start("IMAP4rev1 AUTH=PLAIN") { line in
            if line == "A0001 AUTHENTICATE PLAIN" { return "+ \r\n" }
            if line.hasPrefix("A0002") { return "* CAPABILITY IMAP4rev1 IDLE\r\nA0002 OK listed\r\n" }
            if !line.hasPrefix("A000") { return "A0001 OK logged in\r\n" }
            return "\(line.tag) BAD unexpected\r\n"
        }
        defer { Task { await setup.server.stop() } }
        let session = try await IMAPSession.connect(to: setup.endpoint, login: login, options: setup.options)
        let response = Data("\u{0}bob@example.com\u{0}s3cret".utf8).base64EncodedString()
        #expect(setup.server.received == ["A0001 AUTHENTICATE PLAIN", response, "A0002 CAPABILITY"])
        #expect(session.capabilities == ["IMAP4REV1", "IDLE"])
    }

    @Test("LOGIN sends an 8-bit password as a synchronising literal, only after the server's go-ahead")
    func loginLiteral() async throws {
        let setup = try await start("IMAP4rev1") { line in
            if line == "A0001 LOGIN bob@example.com {9}" { return "+ Ready for literal\r\n" }
            if line == "pässword" { return "A0001 OK [CAPABILITY IMAP4rev1] LOGIN completed\r\n" }
            return "\(line.tag) BAD unexpected\r\n"
        }
        defer { Task { await setup.server.stop() } }
        _ = try await IMAPSession.connect(
            to: setup.endpoint, login: IMAPLogin(user: "bob@example.com", secret: .password("pässword")), options: setup.options
        )
        #expect(setup.server.received == ["A0001 LOGIN bob@example.com {9}", "pässword"])
    }

    @Test("LOGINDISABLED without AUTH=PLAIN is refused before any credential is sent")
    func loginDisabled() async throws {
        let setup = try await start("IMAP4rev1 LOGINDISABLED") { line in "\(line.tag) BAD unexpected\r\n" }
        defer { Task { await setup.server.stop() } }
        let error = await #expect(throws: IMAPError.self) {
            _ = try await IMAPSession.connect(to: setup.endpoint, login: self.login, options: setup.options)
        }
        #expect(error?.kind == .authenticationFailed)
        #expect(setup.server.received.isEmpty)
    }

    @Test("a plaintext server that does not offer STARTTLS never sees the credentials")
    func noStartTLS() async throws {
        let setup = try await start("IMAP4rev1 AUTH=PLAIN", security: .starttls) { line in
            "* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n\(line.tag) OK listed\r\n"
        }
        defer { Task { await setup.server.stop() } }
        let error = await #expect(throws: IMAPError.self) {
            _ = try await IMAPSession.connect(to: setup.endpoint, login: self.login, options: setup.options)
        }
        #expect(error?.kind == .authenticationFailed)
        #expect(setup.server.received == ["A0001 CAPABILITY"])
    }

    @Test("a literal far over maximumBytes is tooLarge, unread, and the connection is closed")
    func oversizedLiteral() async throws {
        let setup = try await start("IMAP4rev1 SASL-IR AUTH=PLAIN", script: Self.mailbox { tag in
            "* 1 FETCH (UID 1 RFC822.SIZE 99999999 BODY[]<0> {99999999}\r\n"
        })
        defer { Task { await setup.server.stop() } }
        let session = try await IMAPSession.connect(to: setup.endpoint, login: login, options: setup.options)
        #expect(try await session.select("INBOX") == IMAPMailboxStatus(uidValidity: 7, uidNext: nil, exists: 3))
        let error = await #expect(throws: IMAPError.self) { _ = try await session.fetch(uids: [1], maximumBytes: 1000) }
        #expect(error?.kind == .tooLarge)
        let later = await #expect(throws: IMAPError.self) { _ = try await session.noop() }
        #expect(later?.kind == .transport)
        for _ in 0..<100 where setup.server.closedConnections == 0 { try await Task.sleep(for: .milliseconds(20)) }
        #expect(setup.server.closedConnections == 1)
    }

    @Test("FETCH answers are sorted, cut to maximumBytes, and flag-only or unasked ones are dropped")
    func fetchFiltering() async throws {
        let setup = try await start("IMAP4rev1 SASL-IR AUTH=PLAIN", script: Self.mailbox { tag in
            "* 3 FETCH (UID 9 RFC822.SIZE 20 BODY[]<0> {20}\r\n0123456789abcdefghij)\r\n"
                + "* 1 FETCH (FLAGS (\\Seen) UID 5)\r\n"
                + "* 2 FETCH (UID 77 BODY[]<0> {3}\r\nxyz)\r\n"
                + "* 1 FETCH (UID 5 RFC822.SIZE 4 INTERNALDATE \"01-Jan-2026 00:00:00 +0000\" BODY[]<0> {4}\r\nabcd FLAGS ())\r\n"
                + "\(tag) OK done\r\n"
        })
        defer { Task { await setup.server.stop() } }
        let session = try await IMAPSession.connect(to: setup.endpoint, login: login, options: setup.options)
        _ = try await session.select("INBOX")
        let messages = try await session.fetch(uids: [9, 5], maximumBytes: 10)
        #expect(messages.map(\.uid) == [5, 9])
        #expect(messages[0].bytes == Array("abcd".utf8))
        #expect(!messages[0].isTruncated)
        #expect(messages[0].internalDate == Date(timeIntervalSince1970: 1_767_225_600))
        #expect(messages[1].bytes == Array("0123456789".utf8))
        #expect(messages[1].size == 20)
        #expect(messages[1].isTruncated)
        #expect(setup.server.received.contains("A0003 UID FETCH 5,9 (UID RFC822.SIZE INTERNALDATE BODY.PEEK[]<0.10>)"))
    }

    @Test("a tagged answer to a command never sent is a protocol violation")
    func foreignTag() async throws {
        let setup = try await start("IMAP4rev1 SASL-IR AUTH=PLAIN", script: Self.mailbox { _ in "Z9999 OK not yours\r\n" })
        defer { Task { await setup.server.stop() } }
        let session = try await IMAPSession.connect(to: setup.endpoint, login: login, options: setup.options)
        let error = await #expect(throws: IMAPError.self) { _ = try await session.fetch(uids: [1], maximumBytes: 10) }
        #expect(error?.kind == .protocolViolation)
    }

    @Test("BYE and then silence mid-command is a transport error, not a hang")
    func byeMidCommand() async throws {
        let setup = try await start("IMAP4rev1 SASL-IR AUTH=PLAIN", script: Self.mailbox { _ in "* BYE Server shutting down\r\n" })
        defer { Task { await setup.server.stop() } }
        var options = setup.options
        options.readTimeout = .seconds(1)
        // On a loaded machine the one-second bound may already pass during the greeting:
        // that is the same transport error, so the connection is inside the expectation.
        let error = await #expect(throws: IMAPError.self) {
            let session = try await IMAPSession.connect(to: setup.endpoint, login: login, options: options)
            _ = try await session.fetch(uids: [1], maximumBytes: 10)
        }
        #expect(error?.kind == .transport)
    }

    @Test("a SEARCH line over the transport's line bound is tooLarge, not buffered")
    func searchOverLineBound() async throws {
        let numbers = (1...20_000).map { String(1_000_000_000 + $0) }.joined(separator: " ")
        let setup = try await start("IMAP4rev1 SASL-IR AUTH=PLAIN") { line in
            let tag = line.tag
            if line.contains("AUTHENTICATE PLAIN") { return "\(tag) OK in\r\n" }
            if line.contains("CAPABILITY") { return "* CAPABILITY IMAP4rev1\r\n\(tag) OK\r\n" }
            if line.contains("UID SEARCH UID 1:*") { return "* SEARCH \(numbers)\r\n\(tag) OK\r\n" }
            return "\(tag) BAD unexpected\r\n"
        }
        defer { Task { await setup.server.stop() } }
        let session = try await IMAPSession.connect(to: setup.endpoint, login: login, options: setup.options)
        let error = await #expect(throws: IMAPError.self) { _ = try await session.uids(after: 0, limit: 10) }
        #expect(error?.kind == .tooLarge)
    }

    @Test("ESEARCH ranges spanning billions of UIDs expand only to the limit, above the given UID")
    func extendedSearchExpansion() async throws {
        let setup = try await start("IMAP4rev1 SASL-IR AUTH=PLAIN") { line in
            let tag = line.tag
            if line.contains("AUTHENTICATE PLAIN") { return "\(tag) OK [CAPABILITY IMAP4rev1 ESEARCH] in\r\n" }
            if line.contains("UID SEARCH RETURN (ALL) UID 11:*") {
                return "* ESEARCH (TAG \"\(tag)\") UID ALL 3,40:4294967295,12:13\r\n\(tag) OK\r\n"
            }
            if line.contains("UID SEARCH RETURN (ALL) UID 4294967295:*") {
                return "* ESEARCH (TAG \"\(tag)\") UID ALL 4294967295\r\n\(tag) OK\r\n"
            }
            return "\(tag) BAD unexpected\r\n"
        }
        defer { Task { await setup.server.stop() } }
        let session = try await IMAPSession.connect(to: setup.endpoint, login: login, options: setup.options)
        #expect(try await session.uids(after: 10, limit: 4) == [12, 13, 40, 41])
        #expect(try await session.uids(after: 4_294_967_294, limit: 4) == [4_294_967_295])
        #expect(try await session.uids(after: UInt32.max, limit: 4) == [])
    }

    @Test("an access token is refused before anything is sent where XOAUTH2 is not offered")
    func xoauth2NotOffered() async throws {
        let setup = try await start("IMAP4rev1 SASL-IR AUTH=PLAIN") { line in "\(line.tag) BAD unexpected\r\n" }
        defer { Task { await setup.server.stop() } }
        let error = await #expect(throws: IMAPError.self) {
            _ = try await IMAPSession.connect(
                to: setup.endpoint, login: IMAPLogin(user: "bob@example.com", secret: .oauth2AccessToken("ya29.secret")),
                options: setup.options
            )
        }
        #expect(error?.kind == .authenticationFailed)
        #expect(error?.description.contains("ya29.secret") == false)
        #expect(setup.server.received.isEmpty)
    }
}
