import Foundation
public import MailTransport
import Synchronization

/// One logged-in SMTP submission session (RFC 5321, 6409): connect, then any number of
/// `send`s, then `quit`. Credentials go only over TLS: a STARTTLS server that does not
/// offer STARTTLS is refused, since it is either misconfigured or having it stripped.
public final class SMTPSession: Sendable {
    private let connection: MailConnection
    private let capabilities: SMTPCapabilities
    /// One send at a time: SMTP's transaction is a strict sequence per connection.
    private let busy = Atomic<Bool>(false)

    private init(connection: MailConnection, capabilities: SMTPCapabilities) {
        self.connection = connection
        self.capabilities = capabilities
    }

    /// The SASL mechanisms the client can use, in its order of preference.
    enum Mechanism: String, Sendable, CaseIterable {
        case xoauth2 = "XOAUTH2"
        case plain = "PLAIN"
        case login = "LOGIN"
    }

    /// Connects, reads the greeting, EHLO (clientName), STARTTLS + EHLO again when
    /// .starttls (refuse to authenticate over plaintext: if the server does not offer
    /// STARTTLS, fail), AUTH: XOAUTH2 for an access token, else PLAIN, else LOGIN, as
    /// advertised.
    public static func connect(
        to server: MailServer, authentication: SMTPAuthentication?, clientName: String, options: MailTransportOptions
    ) async throws(SMTPError) -> SMTPSession {
        try await connect(
            to: server, authentication: authentication, clientName: clientName, options: options, mechanisms: Mechanism.allCases
        )
    }

    /// As above, with the mechanisms the client may pick narrowed (tests of each one).
    static func connect(
        to server: MailServer, authentication: SMTPAuthentication?, clientName: String, options: MailTransportOptions,
        mechanisms: [Mechanism]
    ) async throws(SMTPError) -> SMTPSession {
        guard isValidClientName(clientName) else {
            throw SMTPError(.protocolViolation, isPermanent: true, "the EHLO name must be a domain or an address literal")
        }
        var transportOptions = options
        // RFC 5321 caps a reply line at 512 octets; 4 KB leaves room for sloppy servers.
        transportOptions.maximumLineBytes = min(options.maximumLineBytes, 4096)
        let connection: MailConnection
        do {
            connection = try await MailConnection.open(to: server, options: transportOptions)
        } catch {
            throw SMTPError(.transport, isPermanent: false, "connecting to \(server.host):\(server.port): \(error.description)")
        }
        do {
            let capabilities = try await handshake(
                connection, server: server, authentication: authentication, clientName: clientName, mechanisms: mechanisms
            )
            return SMTPSession(connection: connection, capabilities: capabilities)
        } catch {
            await connection.close()
            if let authentication { throw scrubbed(error, authentication) }
            throw error
        }
    }

    private static func handshake(
        _ connection: MailConnection, server: MailServer, authentication: SMTPAuthentication?, clientName: String,
        mechanisms: [Mechanism]
    ) async throws(SMTPError) -> SMTPCapabilities {
        let greeting = try await SMTPReply.read(from: connection)
        guard greeting.code == 220 else { throw SMTPError(.rejected, reply: greeting, while: "the server's greeting") }
        var capabilities = try await ehlo(connection, clientName: clientName)
        if server.security == .starttls {
            guard capabilities.has("STARTTLS") else {
                throw SMTPError(
                    .protocolViolation, isPermanent: false,
                    "the server does not offer STARTTLS; nothing is sent to it in plaintext"
                )
            }
            let go = try await command(connection, "STARTTLS")
            guard go.code == 220 else { throw SMTPError(.rejected, reply: go, while: "STARTTLS") }
            do {
                try await connection.startTLS()
            } catch {
                throw SMTPError(.transport, isPermanent: false, "STARTTLS: \(error.description)")
            }
            // RFC 3207: everything learnt before TLS is forgotten; ask again.
            capabilities = try await ehlo(connection, clientName: clientName)
        }
        if let authentication {
            guard connection.isTLS else {
                throw SMTPError(.protocolViolation, isPermanent: true, "refusing to send credentials over plaintext")
            }
            try await authenticate(connection, authentication, capabilities: capabilities, allowed: mechanisms)
        }
        return capabilities
    }

    private static func ehlo(_ connection: MailConnection, clientName: String) async throws(SMTPError) -> SMTPCapabilities {
        let reply = try await command(connection, "EHLO \(clientName)")
        guard reply.code == 250 else { throw SMTPError(.rejected, reply: reply, while: "EHLO") }
        return SMTPCapabilities(ehloReply: reply)
    }

    // MARK: Authentication

    private static func authenticate(
        _ connection: MailConnection, _ authentication: SMTPAuthentication, capabilities: SMTPCapabilities, allowed: [Mechanism]
    ) async throws(SMTPError) {
        let offered = capabilities.authMechanisms
        let usable: [Mechanism]
        switch authentication.secret {
        case .oauth2AccessToken: usable = [.xoauth2]
        case .password: usable = [.plain, .login]
        }
        guard let mechanism = usable.first(where: { allowed.contains($0) && offered.contains($0.rawValue) }) else {
            throw SMTPError(
                .authenticationFailed, isPermanent: true,
                "the server offers AUTH \(offered.sorted().joined(separator: " ")), none of \(usable.map(\.rawValue).joined(separator: ", "))"
            )
        }
        let user = authentication.user
        let secret = authentication.secretText
        guard !user.utf8.contains(0), !secret.utf8.contains(0), !user.utf8.contains(1), !secret.utf8.contains(1) else {
            throw SMTPError(.authenticationFailed, isPermanent: true, "the user name or secret contains a control byte SASL cannot carry")
        }
        var reply: SMTPReply
        switch mechanism {
        case .xoauth2:
            reply = try await command(connection, "AUTH XOAUTH2 " + base64("user=\(user)\u{1}auth=Bearer \(secret)\u{1}\u{1}"))
            if reply.code == 334 {
                // The challenge is the server's JSON error; an empty answer ends the exchange
                // so the final 535 (or 454) carries the verdict.
                reply = try await command(connection, "")
            }
        case .plain:
            reply = try await command(connection, "AUTH PLAIN " + base64("\u{0}\(user)\u{0}\(secret)"))
        case .login:
            reply = try await command(connection, "AUTH LOGIN")
            if reply.code == 334 { reply = try await command(connection, base64(user)) }
            if reply.code == 334 { reply = try await command(connection, base64(secret)) }
        }
        guard reply.code == 235 else {
            throw SMTPError(.authenticationFailed, reply: reply, while: "AUTH \(mechanism.rawValue) as \(user)")
        }
    }

    private static func base64(_ text: String) -> String {
        Data(text.utf8).base64EncodedString()
    }

    /// The server's words may quote what it was sent; the secret never leaves this type.
    private static func scrubbed(_ error: SMTPError, _ authentication: SMTPAuthentication) -> SMTPError {
        var error = error
        let secret = authentication.secretText
        if !secret.isEmpty {
            error.description = error.description.replacingOccurrences(of: secret, with: "[secret]")
        }
        return error
    }

    // MARK: Sending

    /// MAIL FROM / RCPT TO / DATA with dot-stuffing; message is a complete RFC 5322 message
    /// with CRLF line ends, 7-bit (the composer guarantees it; refuse lines > 998 octets
    /// with .protocol). Returns the server's final 250 reply text (often the queue id).
    public func send(_ message: [UInt8], envelope: SMTPEnvelope) async throws(SMTPError) -> String {
        guard !busy.exchange(true, ordering: .acquiring) else {
            throw SMTPError(.protocolViolation, isPermanent: false, "another message is being sent on this session")
        }
        defer { busy.store(false, ordering: .releasing) }

        guard !envelope.recipients.isEmpty, envelope.recipients.count <= 100 else {
            throw SMTPError(.protocolViolation, isPermanent: true, "a message goes to 1 to 100 recipients, not \(envelope.recipients.count)")
        }
        for address in [envelope.sender] + envelope.recipients where !Self.isValidPath(address) {
            throw SMTPError(.protocolViolation, isPermanent: true, "\"\(SMTPReply.sanitized(address.utf8.prefix(80)))\" cannot be an SMTP address")
        }
        guard !envelope.recipients.contains(where: \.isEmpty) else {
            throw SMTPError(.protocolViolation, isPermanent: true, "a recipient address is empty")
        }
        let data = try Self.dotStuffed(message)
        if let limit = capabilities.sizeLimit, limit > 0, message.count > limit {
            throw SMTPError(.rejected, isPermanent: true, "the message is \(message.count) bytes; the server takes at most \(limit)")
        }

        let mail = try await Self.command(connection, "MAIL FROM:<\(envelope.sender)>")
        guard mail.code == 250 else { return try await reset(SMTPError(.rejected, reply: mail, while: "MAIL FROM")) }
        for recipient in envelope.recipients {
            let rcpt = try await Self.command(connection, "RCPT TO:<\(recipient)>")
            guard rcpt.code == 250 || rcpt.code == 251 else {
                return try await reset(SMTPError(.rejected, reply: rcpt, while: "RCPT TO <\(recipient)>"))
            }
        }
        let go = try await Self.command(connection, "DATA")
        guard go.code == 354 else { return try await reset(SMTPError(.rejected, reply: go, while: "DATA")) }
        do {
            try await connection.send(data)
        } catch {
            throw SMTPError(.transport, isPermanent: false, "sending the message: \(error.description)")
        }
        // The server may take a while to queue a large message; a generous deadline.
        let done = try await SMTPReply.read(from: connection, timeout: .seconds(600))
        guard done.code == 250 else { throw SMTPError(.rejected, reply: done, while: "the end of DATA") }
        return done.text
    }

    /// RSET after a refusal, so the session can send the next message; the refusal is
    /// what the caller hears about.
    private func reset(_ error: SMTPError) async throws(SMTPError) -> String {
        _ = try? await Self.command(connection, "RSET")
        throw error
    }

    /// The DATA section: leading dots doubled (RFC 5321 4.5.2), a final CRLF if missing,
    /// then the lone dot. Refuses what SMTP cannot carry unchanged: lines over 998 octets,
    /// 8-bit bytes, bare CR or LF (the composer writes 7-bit with CRLF).
    static func dotStuffed(_ message: [UInt8]) throws(SMTPError) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(message.count + message.count / 64 + 8)
        var lineLength = 0
        var index = 0
        let cr = UInt8(ascii: "\r")
        let lf = UInt8(ascii: "\n")
        while index < message.count {
            let byte = message[index]
            if byte == cr {
                guard index + 1 < message.count, message[index + 1] == lf else {
                    throw SMTPError(.protocolViolation, isPermanent: true, "the message has a bare CR")
                }
                out.append(cr)
                out.append(lf)
                lineLength = 0
                index += 2
                continue
            }
            guard byte != lf else { throw SMTPError(.protocolViolation, isPermanent: true, "the message has a bare LF") }
            guard byte < 0x80, byte != 0 else {
                throw SMTPError(.protocolViolation, isPermanent: true, "the message is not 7-bit")
            }
            if lineLength == 0 && byte == UInt8(ascii: ".") { out.append(byte) }
            out.append(byte)
            lineLength += 1
            guard lineLength <= 998 else {
                throw SMTPError(.protocolViolation, isPermanent: true, "the message has a line longer than 998 octets")
            }
            index += 1
        }
        if lineLength > 0 || out.isEmpty {
            out.append(cr)
            out.append(lf)
        }
        out += Array(".\r\n".utf8)
        return out
    }

    /// Ends the session politely; the connection is closed whatever the server says.
    public func quit() async {
        _ = try? await Self.command(connection, "QUIT", timeout: .seconds(5))
        await connection.close()
    }

    // MARK: Wire

    private static func command(
        _ connection: MailConnection, _ line: String, timeout: Duration? = nil
    ) async throws(SMTPError) -> SMTPReply {
        do {
            try await connection.send(Array((line + "\r\n").utf8))
        } catch {
            throw SMTPError(.transport, isPermanent: false, "sending a command: \(error.description)")
        }
        return try await SMTPReply.read(from: connection, timeout: timeout)
    }

    /// A path for MAIL FROM or RCPT TO: no angle brackets, spaces or control bytes that
    /// would end or bend the command line, within RFC 5321's 256-octet path.
    static func isValidPath(_ address: String) -> Bool {
        address.utf8.count <= 254
            && address.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "<") && $0 != UInt8(ascii: ">") }
    }

    /// A domain name or an address literal (RFC 5321 4.1.1.1).
    static func isValidClientName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 255
            && name.utf8.allSatisfy { byte in
                (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                    || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                    || [UInt8(ascii: "."), UInt8(ascii: "-"), UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: ":")].contains(byte)
            }
    }
}
