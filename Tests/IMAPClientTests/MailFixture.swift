import Foundation
@testable import IMAPClient
import MailServerTesting
import MailTransport
import NIOSSL

/// A fresh mailbox of its own on the real test servers (Dovecot and Postfix), and the
/// ways in to it: IMAP logins, delivery over SMTP, and the stored files to compare with.
///
/// The servers come from `TestMailServers` (MailServerTesting).
struct MailFixture: Sendable {
    var host: String
    var imapPort: Int
    var imapsPort: Int
    var caFile: String
    var address: String
    var password: String
    var deliverer: @Sendable ([UInt8], String) async throws -> Void
    var stored: @Sendable () -> [[UInt8]]
    /// An OAuth 2 access token Dovecot accepts for this mailbox (XOAUTH2), valid for the
    /// given seconds (negative: already expired).
    var accessToken: @Sendable (_ lifetimeSeconds: Int) async throws -> String

    /// The login name: Dovecot's users are their full addresses.
    var user: String { address }

    static func make(_ prefix: String) async throws -> MailFixture {
        // `makeMailbox` returns once Dovecot can log the new user in.
        let mailbox = try await TestMailServers.shared.makeMailbox(prefix: prefix)
        return MailFixture(
            host: mailbox.endpoints.host, imapPort: mailbox.endpoints.imapPort, imapsPort: mailbox.endpoints.imapsPort,
            caFile: mailbox.endpoints.caFile, address: mailbox.address, password: mailbox.password,
            deliverer: { message, address in
                try await TestMailServers.shared.deliver(rawMessage: message, to: address, from: "sender@example.org")
            },
            stored: { mailbox.messages() },
            accessToken: { lifetime in try await TestMailServers.shared.accessToken(for: mailbox, lifetimeSeconds: lifetime) }
        )
    }

    /// The test servers' CA, certificate and key, for scripted servers that must pass the
    /// same certificate check as Dovecot.
    static func tlsFiles() async throws -> (caFile: String, certificate: String, key: String) {
        let caFile = try await TestMailServers.shared.endpoints().caFile
        let folder = URL(fileURLWithPath: caFile).deletingLastPathComponent()
        return (caFile, folder.appendingPathComponent("server.crt").path, folder.appendingPathComponent("server.key").path)
    }

    var options: MailTransportOptions {
        var options = MailTransportOptions(proxy: nil, trustRoots: .file(caFile))
        options.readTimeout = .seconds(20)
        return options
    }

    func server(_ security: MailSecurity, port: Int? = nil) -> MailServer {
        MailServer(host: host, port: port ?? (security == .tls ? imapsPort : imapPort), security: security)
    }

    var login: IMAPLogin { IMAPLogin(user: user, secret: .password(password)) }

    func connect(
        _ security: MailSecurity = .tls, port: Int? = nil, mechanism: IMAPPasswordMechanism = .automatic
    ) async throws -> IMAPSession {
        try await IMAPSession.connect(to: server(security, port: port), login: login, options: options, mechanism: mechanism)
    }

    /// A message with a unique marker in its subject and Message-ID, CRLF throughout, with
    /// the headers Postfix would otherwise add (so what we sent is the stored message's tail).
    static func message(marker: String, bodyBytes: Int = 0) -> [UInt8] {
        var text = "From: Sender <sender@example.org>\r\nTo: Someone <someone@switchboard.test>\r\n"
        text += "Date: Mon, 07 Dec 2026 19:00:00 +0000\r\n"
        text += "Subject: test \(marker)\r\nMessage-ID: <\(marker)@example.org>\r\nMIME-Version: 1.0\r\n"
        text += "Content-Type: text/plain; charset=utf-8\r\n\r\nHello \(marker)\r\n"
        var bytes = Array(text.utf8)
        let line = Array(String(repeating: "0123456789", count: 7).utf8) + [13, 10]
        while bytes.count < bodyBytes { bytes += line }
        return bytes
    }

    /// Mail in from another task (IDLE's hook), as another server would send it.
    func deliverNow(_ message: [UInt8]) async throws {
        try await deliverer(message, address)
    }

    /// Delivers messages over SMTP and waits (bounded) until Dovecot has stored them all.
    func deliver(_ messages: [[UInt8]]) async throws {
        let before = stored().count
        for message in messages { try await deliverer(message, address) }
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(30)
        while stored().count < before + messages.count {
            guard clock.now < deadline else { throw FixtureError(message: "\(address): mail not delivered in 30 s") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// The stored message holding `marker`, as IMAP serves it (Dovecot keeps LF line ends
    /// in maildir and sends CRLF).
    func stored(containing marker: String) -> [UInt8]? {
        let needle = Array("Message-ID: <\(marker)@example.org>".utf8)
        guard let file = stored().first(where: { $0.contains(needle) }) else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(file.count + file.count / 50)
        var previous: UInt8 = 0
        for byte in file {
            if byte == 10, previous != 13 { out.append(13) }
            out.append(byte)
            previous = byte
        }
        return out
    }

    struct FixtureError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }
}

extension Array where Element == UInt8 {
    func contains(_ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, needle.count <= count else { return needle.isEmpty }
        var i = 0
        while i + needle.count <= count {
            if self[i] == needle[0], self[i..<(i + needle.count)].elementsEqual(needle) { return true }
            i += 1
        }
        return false
    }
}
