import Foundation
import MailServerTesting
import MailTransport
import NIOSSL
@testable import SMTPClient
import Testing

@Suite("SMTP submission against the real Postfix")
struct SMTPSessionTests {
    func options() async throws -> MailTransportOptions {
        let endpoints = try await TestMailServers.shared.endpoints()
        var options = MailTransportOptions(trustRoots: .file(endpoints.caFile))
        options.connectTimeout = .seconds(5)
        options.readTimeout = .seconds(10)
        return options
    }

    func submission() async throws -> MailServer {
        let endpoints = try await TestMailServers.shared.endpoints()
        return MailServer(host: endpoints.host, port: endpoints.submissionPort, security: .starttls)
    }

    func message(from: String, to: String, subject: String, body: String) -> [UInt8] {
        let text = "From: <\(from)>\r\nTo: <\(to)>\r\nSubject: \(subject)\r\nMessage-ID: <\(UUID().uuidString)@switchboard.test>\r\n\r\n\(body)"
        return Array(text.utf8)
    }

    func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    @Test("a message sent over submission with STARTTLS and AUTH PLAIN lands in the mailbox")
    func plain() async throws {
        let mailbox = try await TestMailServers.shared.makeMailbox(prefix: "plain")
        let session = try await SMTPSession.connect(
            to: try await submission(),
            authentication: SMTPAuthentication(user: mailbox.user, secret: .password(mailbox.password)),
            clientName: "switchboard.test", options: try await options(), mechanisms: [.plain]
        )
        let reply = try await session.send(
            message(from: mailbox.address, to: mailbox.address, subject: "over PLAIN", body: "hello\r\n"),
            envelope: SMTPEnvelope(sender: mailbox.address, recipients: [mailbox.address])
        )
        await session.quit()
        #expect(reply.contains("queued"))
        let stored = try await mailbox.waitForMessages(count: 1)
        #expect(text(stored[0]).contains("Subject: over PLAIN"))
        #expect(text(stored[0]).hasSuffix("\n\nhello\n") || text(stored[0]).hasSuffix("\r\n\r\nhello\r\n"))
    }

    @Test("AUTH LOGIN works where PLAIN is not chosen")
    func login() async throws {
        let mailbox = try await TestMailServers.shared.makeMailbox(prefix: "login")
        let session = try await SMTPSession.connect(
            to: try await submission(),
            authentication: SMTPAuthentication(user: mailbox.user, secret: .password(mailbox.password)),
            clientName: "switchboard.test", options: try await options(), mechanisms: [.login]
        )
        _ = try await session.send(
            message(from: mailbox.address, to: mailbox.address, subject: "over LOGIN", body: "hi\r\n"),
            envelope: SMTPEnvelope(sender: mailbox.address, recipients: [mailbox.address])
        )
        await session.quit()
        let stored = try await mailbox.waitForMessages(count: 1)
        #expect(text(stored[0]).contains("Subject: over LOGIN"))
    }

    @Test("the public connect picks a mechanism by itself and sends several messages on one session")
    func defaultMechanismAndReuse() async throws {
        let mailbox = try await TestMailServers.shared.makeMailbox(prefix: "reuse")
        let session = try await SMTPSession.connect(
            to: try await submission(),
            authentication: SMTPAuthentication(user: mailbox.user, secret: .password(mailbox.password)),
            clientName: "switchboard.test", options: try await options()
        )
        for number in 1...2 {
            _ = try await session.send(
                message(from: mailbox.address, to: mailbox.address, subject: "number \(number)", body: "x\r\n"),
                envelope: SMTPEnvelope(sender: mailbox.address, recipients: [mailbox.address])
            )
        }
        await session.quit()
        #expect(try await mailbox.waitForMessages(count: 2).count == 2)
    }

    @Test("an OAuth 2 access token logs in with XOAUTH2 and the message lands")
    func xoauth2() async throws {
        let mailbox = try await TestMailServers.shared.makeMailbox(prefix: "oauth")
        let token = try await TestMailServers.shared.accessToken(for: mailbox)
        let session = try await SMTPSession.connect(
            to: try await submission(),
            authentication: SMTPAuthentication(user: mailbox.user, secret: .oauth2AccessToken(token)),
            clientName: "switchboard.test", options: try await options()
        )
        _ = try await session.send(
            message(from: mailbox.address, to: mailbox.address, subject: "over XOAUTH2", body: "x\r\n"),
            envelope: SMTPEnvelope(sender: mailbox.address, recipients: [mailbox.address])
        )
        await session.quit()
        #expect(text(try await mailbox.waitForMessages(count: 1)[0]).contains("Subject: over XOAUTH2"))
    }

    @Test("an expired access token is .authenticationFailed and the token is nowhere in the error")
    func expiredToken() async throws {
        let mailbox = try await TestMailServers.shared.makeMailbox(prefix: "expired")
        let token = try await TestMailServers.shared.accessToken(for: mailbox, lifetimeSeconds: -30)
        let error = await #expect(throws: SMTPError.self) {
            _ = try await SMTPSession.connect(
                to: try await submission(),
                authentication: SMTPAuthentication(user: mailbox.user, secret: .oauth2AccessToken(token)),
                clientName: "switchboard.test", options: try await options()
            )
        }
        #expect(error?.kind == .authenticationFailed)
        #expect(error?.isPermanent == true)
        #expect(error.map { !$0.description.contains(token) } == true)
    }

    @Test("a wrong password is .authenticationFailed, permanent, and the password is nowhere in the error")
    func wrongPassword() async throws {
        let mailbox = try await TestMailServers.shared.makeMailbox(prefix: "wrongpw")
        let wrong = "not-the-password-\(UUID().uuidString)"
        let error = await #expect(throws: SMTPError.self) {
            _ = try await SMTPSession.connect(
                to: try await submission(),
                authentication: SMTPAuthentication(user: mailbox.user, secret: .password(wrong)),
                clientName: "switchboard.test", options: try await options()
            )
        }
        #expect(error?.kind == .authenticationFailed)
        #expect(error?.code == 535)
        #expect(error?.isPermanent == true)
        #expect(error.map { !$0.description.contains(wrong) && !"\($0)".contains(wrong) } == true)
        #expect(error.map { !$0.description.contains(Data(wrong.utf8).base64EncodedString()) } == true)
    }

    @Test("a recipient outside the served domain is refused at RCPT: .rejected, permanent")
    func rejectedRecipient() async throws {
        let mailbox = try await TestMailServers.shared.makeMailbox(prefix: "reject")
        let session = try await SMTPSession.connect(
            to: try await submission(),
            authentication: SMTPAuthentication(user: mailbox.user, secret: .password(mailbox.password)),
            clientName: "switchboard.test", options: try await options()
        )
        let error = await #expect(throws: SMTPError.self) {
            _ = try await session.send(
                message(from: mailbox.address, to: "someone@example.com", subject: "out", body: "x\r\n"),
                envelope: SMTPEnvelope(sender: mailbox.address, recipients: ["someone@example.com"])
            )
        }
        #expect(error?.kind == .rejected)
        #expect(error?.isPermanent == true)
        #expect(error.flatMap(\.code).map { (500...599).contains($0) } == true)
        // The session survives the refusal (RSET) and sends the next message.
        _ = try await session.send(
            message(from: mailbox.address, to: mailbox.address, subject: "after refusal", body: "x\r\n"),
            envelope: SMTPEnvelope(sender: mailbox.address, recipients: [mailbox.address])
        )
        await session.quit()
        #expect(try await mailbox.waitForMessages(count: 1).count == 1)
    }

    @Test("lines starting with a dot round-trip through dot-stuffing")
    func dotStuffing() async throws {
        let mailbox = try await TestMailServers.shared.makeMailbox(prefix: "dots")
        let body = ".leading dot\r\n..two dots\r\n.\r\nnot a dot.\r\n. \r\nend"
        let session = try await SMTPSession.connect(
            to: try await submission(),
            authentication: SMTPAuthentication(user: mailbox.user, secret: .password(mailbox.password)),
            clientName: "switchboard.test", options: try await options()
        )
        _ = try await session.send(
            message(from: mailbox.address, to: mailbox.address, subject: "dots", body: body),
            envelope: SMTPEnvelope(sender: mailbox.address, recipients: [mailbox.address])
        )
        await session.quit()
        let stored = text(try await mailbox.waitForMessages(count: 1)[0]).replacingOccurrences(of: "\r\n", with: "\n")
        let expected = body.replacingOccurrences(of: "\r\n", with: "\n") + "\n"
        #expect(stored.hasSuffix("\n\n" + expected))
    }

    @Test("the MX port takes mail without auth after STARTTLS")
    func mxWithoutAuth() async throws {
        let endpoints = try await TestMailServers.shared.endpoints()
        let mailbox = try await TestMailServers.shared.makeMailbox(prefix: "mx")
        let session = try await SMTPSession.connect(
            to: MailServer(host: endpoints.host, port: endpoints.smtpPort, security: .starttls),
            authentication: nil, clientName: "switchboard.test", options: try await options()
        )
        _ = try await session.send(
            message(from: "sender@example.org", to: mailbox.address, subject: "via MX", body: "x\r\n"),
            envelope: SMTPEnvelope(sender: "sender@example.org", recipients: [mailbox.address])
        )
        await session.quit()
        #expect(text(try await mailbox.waitForMessages(count: 1)[0]).contains("Subject: via MX"))
    }

    @Test("implicit TLS to the STARTTLS port fails cleanly as .transport")
    func implicitTLSToStartTLSPort() async throws {
        let endpoints = try await TestMailServers.shared.endpoints()
        let error = await #expect(throws: SMTPError.self) {
            _ = try await SMTPSession.connect(
                to: MailServer(host: endpoints.host, port: endpoints.submissionPort, security: .tls),
                authentication: nil, clientName: "switchboard.test", options: try await options()
            )
        }
        #expect(error?.kind == .transport)
        #expect(error?.isPermanent == false)
    }

    @Test("a line over 998 octets, 8-bit bytes and bare line ends are refused before sending")
    func unsendableMessages() throws {
        let long = Array("Subject: x\r\n\r\n".utf8) + [UInt8](repeating: UInt8(ascii: "a"), count: 999) + Array("\r\n".utf8)
        for bad in [long, Array("Subject: é\r\n\r\nx\r\n".utf8), Array("Subject: x\n\nx\n".utf8), Array("a\rb\r\n".utf8)] {
            let error = #expect(throws: SMTPError.self) { _ = try SMTPSession.dotStuffed(bad) }
            #expect(error?.kind == .protocolViolation)
            #expect(error?.isPermanent == true)
        }
        let atLimit = [UInt8](repeating: UInt8(ascii: "a"), count: 998)
        #expect(try SMTPSession.dotStuffed(atLimit) == atLimit + Array("\r\n.\r\n".utf8))
        #expect(try SMTPSession.dotStuffed(Array(".a\r\n".utf8)) == Array("..a\r\n.\r\n".utf8))
    }

    @Test("addresses that could bend the command line are refused before sending")
    func hostileAddresses() {
        #expect(!SMTPSession.isValidPath("a@b>\r\nRCPT TO:<c@d"))
        #expect(!SMTPSession.isValidPath("a b@c"))
        #expect(SMTPSession.isValidPath("reply+123@switchboard.test"))
        #expect(SMTPSession.isValidPath(""))
    }
}

@Suite("SMTP replies from a hostile or broken server")
struct SMTPReplyTests {
    func connect(to payload: String, thenClose: Bool = false) async throws -> SMTPError? {
        let server = try await LoopbackServer.start(sending: Array(payload.utf8), thenClose: thenClose)
        defer { Task { await server.stop() } }
        var options = MailTransportOptions()
        options.readTimeout = .seconds(5)
        return await #expect(throws: SMTPError.self) {
            _ = try await SMTPSession.connect(
                to: MailServer(host: "127.0.0.1", port: server.port, security: .starttls),
                authentication: nil, clientName: "switchboard.test", options: options
            )
        }
    }

    @Test("a server that closes mid-reply is .transport")
    func closesMidReply() async throws {
        let error = try await connect(to: "220-first line\r\n220-second", thenClose: true)
        #expect(error?.kind == .transport)
        #expect(error?.isPermanent == false)
    }

    @Test("a reply code SMTP does not have is a protocol violation")
    func badCode() async throws {
        #expect(try await connect(to: "999 hello\r\n")?.kind == .protocolViolation)
        #expect(try await connect(to: "hello there\r\n")?.kind == .protocolViolation)
    }

    @Test("a code that changes mid-reply is a protocol violation")
    func changingCode() async throws {
        #expect(try await connect(to: "220-a\r\n250 b\r\n")?.kind == .protocolViolation)
    }

    @Test("a reply line past the limit is refused, not buffered")
    func overlongReply() async throws {
        let error = try await connect(to: "220 " + String(repeating: "x", count: 10_000) + "\r\n")
        #expect(error?.kind == .protocolViolation)
    }

    @Test("a reply of endless continuation lines is cut off")
    func endlessReply() async throws {
        let error = try await connect(to: String(repeating: "220-more\r\n", count: 500))
        #expect(error?.kind == .protocolViolation)
    }

    @Test("a greeting of 554 is a permanent refusal")
    func refusedGreeting() async throws {
        let error = try await connect(to: "554 go away\r\n")
        #expect(error?.kind == .rejected)
        #expect(error?.code == 554)
        #expect(error?.isPermanent == true)
    }

    @Test("a server without STARTTLS gets no credentials and no mail")
    func noStartTLS() async throws {
        let error = try await connect(to: "220 hi\r\n250-localhost\r\n250 AUTH PLAIN\r\n")
        #expect(error?.kind == .protocolViolation)
        #expect(error?.description.contains("STARTTLS") == true)
    }
}
