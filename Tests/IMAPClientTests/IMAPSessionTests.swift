import Foundation
@testable import IMAPClient
import MailTransport
import Testing

/// Against the real Dovecot and Postfix: every test has its own mailbox.
@Suite("IMAP against a real Dovecot")
struct IMAPSessionTests {
    @Test(
        "logs in over STARTTLS and implicit TLS, with AUTHENTICATE PLAIN and with LOGIN",
        arguments: [
            (MailSecurity.starttls, IMAPPasswordMechanism.plain), (.starttls, .login), (.starttls, .automatic),
            (.tls, .plain), (.tls, .login),
        ]
    )
    func logsIn(security: MailSecurity, mechanism: IMAPPasswordMechanism) async throws {
        let fixture = try await MailFixture.make("login")
        let session = try await fixture.connect(security, mechanism: mechanism)
        // Dovecot lists more capabilities once logged in: proof they were asked again.
        #expect(session.capabilities.contains("IMAP4REV1"))
        #expect(session.capabilities.contains("IDLE"))
        #expect(session.supportsIdle)
        #expect(!session.capabilities.contains("STARTTLS"))
        let status = try await session.select("INBOX")
        #expect(status.exists == 0)
        #expect(status.uidValidity > 0)
        await session.logout()
    }

    @Test("a wrong password is authenticationFailed and the password is not in the error")
    func wrongPassword() async throws {
        let fixture = try await MailFixture.make("wrongpw")
        let wrong = "Wr0ng-\(UUID().uuidString)"
        for security in [MailSecurity.tls, .starttls] {
            let port = security == .tls ? fixture.imapsPort : fixture.imapPort
            let relay = try await CuttingRelay.start(to: port, sourceAddress: "127.0.0.2")
            defer { Task { await relay.stop() } }
            let error = await #expect(throws: IMAPError.self) {
                _ = try await IMAPSession.connect(
                    to: fixture.server(security, port: relay.port), login: IMAPLogin(user: fixture.user, secret: .password(wrong)),
                    options: fixture.options
                )
            }
            #expect(error?.kind == .authenticationFailed)
            #expect(error?.description.contains(wrong) == false)
            #expect(error?.description.contains(IMAPSession.base64("\u{0}\(fixture.user)\u{0}\(wrong)")) == false)
        }
    }

    @Test("an access token logs in with XOAUTH2, over STARTTLS and implicit TLS")
    func xoauth2() async throws {
        let fixture = try await MailFixture.make("oauth")
        let token = try await fixture.accessToken(3600)
        for security in [MailSecurity.tls, .starttls] {
            let session = try await IMAPSession.connect(
                to: fixture.server(security), login: IMAPLogin(user: fixture.user, secret: .oauth2AccessToken(token)),
                options: fixture.options
            )
            #expect(try await session.select("INBOX").exists == 0)
            await session.logout()
        }
    }

    @Test("an expired access token is authenticationFailed, and the token stays out of the error")
    func xoauth2Expired() async throws {
        let fixture = try await MailFixture.make("oauthold")
        let token = try await fixture.accessToken(-60)
        let relay = try await CuttingRelay.start(to: fixture.imapsPort, sourceAddress: "127.0.0.3")
        defer { Task { await relay.stop() } }
        let error = await #expect(throws: IMAPError.self) {
            _ = try await IMAPSession.connect(
                to: fixture.server(.tls, port: relay.port), login: IMAPLogin(user: fixture.user, secret: .oauth2AccessToken(token)),
                options: fixture.options
            )
        }
        #expect(error?.kind == .authenticationFailed)
        #expect(error?.description.contains(token) == false)
    }

    @Test("selecting a missing mailbox is mailboxMissing, and the session stays usable")
    func missingMailbox() async throws {
        let fixture = try await MailFixture.make("missing")
        let session = try await fixture.connect()
        let error = await #expect(throws: IMAPError.self) { _ = try await session.select("No Such Folder") }
        #expect(error?.kind == .mailboxMissing)
        #expect(try await session.select("INBOX").exists == 0)
        await session.logout()
    }

    @Test("three delivered messages are listed in order and fetched byte for byte")
    func listsAndFetches() async throws {
        let fixture = try await MailFixture.make("fetch")
        let markers = (1...3).map { "m\($0)-\(UUID().uuidString.prefix(8))" }
        let raws = markers.map { MailFixture.message(marker: $0) }
        try await fixture.deliver(raws)
        let session = try await fixture.connect(.starttls)
        let status = try await session.select("INBOX")
        #expect(status.exists == 3)
        let uids = try await session.uids(after: 0, limit: 10)
        #expect(uids.count == 3)
        #expect(uids == uids.sorted())
        if let next = status.uidNext, let last = uids.last { #expect(next > last) }

        let messages = try await session.fetch(uids: uids.reversed(), maximumBytes: 1 << 20)
        #expect(messages.map(\.uid) == uids)
        // Postfix may hand the three over in any order: match each to its marker.
        var seen: Set<String> = []
        for message in messages {
            let index = try #require(markers.firstIndex { message.bytes.contains(Array("<\($0)@example.org>".utf8)) })
            let (marker, raw) = (markers[index], raws[index])
            seen.insert(marker)
            let stored = try #require(fixture.stored(containing: marker))
            #expect(message.bytes == stored)
            #expect(message.size == stored.count)
            #expect(!message.isTruncated)
            #expect(Array(message.bytes.suffix(raw.count)) == raw)
            let received = try #require(message.internalDate)
            #expect(abs(received.timeIntervalSinceNow) < 300)
        }
        #expect(seen.count == 3)

        // The `n:*` pitfall: above the highest UID the server still returns the highest.
        let highest = try #require(uids.last)
        #expect(try await session.uids(after: highest, limit: 10) == [])
        #expect(try await session.uids(after: uids[0], limit: 1) == [uids[1]])
        #expect(try await session.uids(after: UInt32.max, limit: 10) == [])
        #expect(try await session.fetch(uids: [highest + 100], maximumBytes: 1000) == [])
        await session.logout()
    }

    @Test("a 3 MB message is cut at maximumBytes and marked truncated")
    func partialFetch() async throws {
        let fixture = try await MailFixture.make("big")
        let marker = "big-\(UUID().uuidString.prefix(8))"
        try await fixture.deliver([MailFixture.message(marker: marker, bodyBytes: 3_000_000)])
        let session = try await fixture.connect()
        _ = try await session.select("INBOX")
        let uid = try #require(try await session.uids(after: 0, limit: 10).first)
        let messages = try await session.fetch(uids: [uid], maximumBytes: 1 << 20)
        let message = try #require(messages.first)
        let stored = try #require(fixture.stored(containing: marker))
        #expect(message.bytes.count == 1 << 20)
        #expect(message.isTruncated)
        #expect(message.size == stored.count)
        #expect(message.bytes == Array(stored.prefix(1 << 20)))
        await session.logout()
    }

    @Test("IDLE returns true when mail arrives during the wait")
    func idleSeesNewMail() async throws {
        let fixture = try await MailFixture.make("idle")
        let session = try await fixture.connect()
        _ = try await session.select("INBOX")
        let clock = ContinuousClock()
        let started = clock.now
        let newMail = try await session.idle(wait: .seconds(25)) {
            try? await fixture.deliverNow(MailFixture.message(marker: "idle-\(UUID().uuidString.prefix(8))"))
        }
        #expect(newMail)
        #expect(clock.now - started < .seconds(20))
        // Still in step after DONE: the new message is there.
        #expect(try await session.uids(after: 0, limit: 10).count == 1)
        await session.logout()
    }

    @Test("IDLE returns false when the wait passes with nothing new, and the session goes on")
    func idleTimesOut() async throws {
        let fixture = try await MailFixture.make("idlequiet")
        let session = try await fixture.connect()
        _ = try await session.select("INBOX")
        let clock = ContinuousClock()
        let started = clock.now
        #expect(try await session.idle(wait: .seconds(1)) == false)
        let elapsed = clock.now - started
        #expect(elapsed >= .seconds(1) && elapsed < .seconds(10))
        #expect(try await session.noop() == false)
        await session.logout()
    }

    @Test("NOOP reports mail that arrived since the last look, once")
    func noopSeesNewMail() async throws {
        let fixture = try await MailFixture.make("noop")
        let session = try await fixture.connect()
        _ = try await session.select("INBOX")
        #expect(try await session.noop() == false)
        try await fixture.deliver([MailFixture.message(marker: "noop-\(UUID().uuidString.prefix(8))")])
        #expect(try await session.noop())
        #expect(try await session.noop() == false)
        await session.logout()
    }

    @Test("a connection dropped mid-fetch is a transport error, and the session stays failed")
    func droppedMidFetch() async throws {
        let fixture = try await MailFixture.make("drop")
        try await fixture.deliver([MailFixture.message(marker: "drop-\(UUID().uuidString.prefix(8))", bodyBytes: 3_000_000)])
        let relay = try await CuttingRelay.start(to: fixture.imapsPort, cutAfter: 400_000)
        defer { Task { await relay.stop() } }
        let session = try await fixture.connect(.tls, port: relay.port)
        _ = try await session.select("INBOX")
        let uids = try await session.uids(after: 0, limit: 10)
        #expect(uids.count == 1)
        let error = await #expect(throws: IMAPError.self) { _ = try await session.fetch(uids: uids, maximumBytes: 8 << 20) }
        #expect(error?.kind == .transport)
        let after = await #expect(throws: IMAPError.self) { _ = try await session.noop() }
        #expect(after?.kind == .transport)
        await session.logout()
    }
}
