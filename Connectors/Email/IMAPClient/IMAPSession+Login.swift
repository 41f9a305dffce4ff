import Foundation
public import MailTransport
import Synchronization

/// How a password is sent. `.automatic` is what `connect` does; the others exist so tests
/// can prove each path against a server that offers both.
enum IMAPPasswordMechanism: Sendable {
    case automatic, plain, login
}

extension IMAPSession {
    /// Greeting, CAPABILITY, STARTTLS when `.starttls` (credentials never cross in
    /// plaintext: a server that does not offer it is refused), then XOAUTH2 for a token, or
    /// AUTHENTICATE PLAIN when offered, else LOGIN unless LOGINDISABLED.
    public static func connect(
        to server: MailServer, login: IMAPLogin, options: MailTransportOptions
    ) async throws(IMAPError) -> IMAPSession {
        try await connect(to: server, login: login, options: options, mechanism: .automatic)
    }

    static func connect(
        to server: MailServer, login: IMAPLogin, options: MailTransportOptions, mechanism: IMAPPasswordMechanism
    ) async throws(IMAPError) -> IMAPSession {
        let connection: MailConnection
        do {
            connection = try await MailConnection.open(to: server, options: options)
        } catch {
            throw IMAPConnectionSource.translate(error)
        }
        let session = IMAPSession(connection: connection, capabilities: [])
        do {
            try await session.greetAndLogIn(security: server.security, login: login, mechanism: mechanism)
            return session
        } catch {
            await connection.close()
            throw error
        }
    }

    private func greetAndLogIn(
        security: MailSecurity, login: IMAPLogin, mechanism: IMAPPasswordMechanism
    ) async throws(IMAPError) {
        var greeting: IMAPResponse
        do {
            greeting = try await IMAPResponseReader().read(from: source)
        } catch {
            await release(after: error)
            throw error
        }
        guard case let .untagged(.status(status)) = greeting else {
            throw IMAPError(.protocolViolation, "the server did not greet")
        }
        switch status.condition {
        case .ok: break
        case .preauth:
            // Pre-authenticated over plaintext before STARTTLS is the downgrade RFC 3501
            // §11.1 warns of; over TLS it is harmless, but we have no use for it either.
            throw IMAPError(.authenticationFailed, "the server pre-authenticated the connection; refusing: \(status.text)")
        default:
            throw IMAPError(.refused, "the server refused the connection: \(status.text)")
        }
        if security == .starttls {
            let offered = try await fetchCapabilities()
            guard offered.contains("STARTTLS") else {
                throw IMAPError(.authenticationFailed, "the server does not offer STARTTLS; credentials are never sent in plaintext")
            }
            let answer = try await execute(.startTLS)
            guard answer.status.condition == .ok else {
                throw IMAPError(.authenticationFailed, "the server refused STARTTLS: \(answer.status.text)")
            }
            do {
                try await connection.startTLS()
            } catch {
                let failure = IMAPConnectionSource.translate(error)
                await release(after: failure)
                throw failure
            }
        }
        guard connection.isTLS else {
            throw IMAPError(.authenticationFailed, "the connection is not encrypted; credentials are never sent in plaintext")
        }
        // Capabilities from before TLS are void (RFC 3501 §6.2.1): ask again.
        let offered = status.code.flatMap { code -> Set<String>? in
            if case let .capability(set) = code, security == .tls { return set }
            return nil
        }
        let capabilities: Set<String> = if let offered { offered } else { try await fetchCapabilities() }
        state.withLock { $0.capabilities = capabilities }
        let completion = try await authenticate(login, capabilities: capabilities, mechanism: mechanism)
        guard completion.status.condition == .ok else {
            let text = Self.redact(completion.status.text, login: login)
            throw IMAPError(.authenticationFailed, "login as \(IMAPError.clip(login.user)) failed: \(text)")
        }
        var after: Set<String>?
        if case let .capability(set)? = completion.status.code { after = set }
        for case let .capability(set) in completion.untagged { after = set }
        let final: Set<String> = if let after { after } else { try await fetchCapabilities() }
        state.withLock { $0.capabilities = final }
    }

    private func authenticate(
        _ login: IMAPLogin, capabilities: Set<String>, mechanism: IMAPPasswordMechanism
    ) async throws(IMAPError) -> Completion {
        let initialResponseAllowed = capabilities.contains("SASL-IR")
        switch login.secret {
        case let .oauth2AccessToken(token):
            guard capabilities.contains("AUTH=XOAUTH2") else {
                throw IMAPError(.authenticationFailed, "the server does not offer XOAUTH2")
            }
            let payload = Self.base64("user=\(login.user)\u{1}auth=Bearer \(token)\u{1}\u{1}")
            // On failure the server sends "+ <base64 JSON error>" and waits for an empty
            // line before its tagged NO (Google's and Microsoft's XOAUTH2).
            if initialResponseAllowed {
                return try await execute(
                    .authenticate(mechanism: "XOAUTH2", initialResponse: payload), continuationReplies: [Array("\r\n".utf8)]
                )
            }
            return try await execute(
                .authenticate(mechanism: "XOAUTH2", initialResponse: nil),
                continuationReplies: [Array("\(payload)\r\n".utf8), Array("\r\n".utf8)]
            )
        case let .password(password):
            let plainOffered = capabilities.contains("AUTH=PLAIN")
            let usePlain: Bool
            switch mechanism {
            case .automatic: usePlain = plainOffered
            case .plain:
                guard plainOffered else { throw IMAPError(.authenticationFailed, "the server does not offer AUTH=PLAIN") }
                usePlain = true
            case .login: usePlain = false
            }
            if usePlain {
                let payload = Self.base64("\u{0}\(login.user)\u{0}\(password)")
                if initialResponseAllowed {
                    return try await execute(.authenticate(mechanism: "PLAIN", initialResponse: payload))
                }
                return try await execute(
                    .authenticate(mechanism: "PLAIN", initialResponse: nil), continuationReplies: [Array("\(payload)\r\n".utf8)]
                )
            }
            guard !capabilities.contains("LOGINDISABLED") else {
                throw IMAPError(.authenticationFailed, "the server disabled LOGIN and offers no AUTH=PLAIN")
            }
            do {
                return try await execute(.login(user: login.user, password: password))
            } catch where error.kind == .refused {
                // Only encoding refuses before sending (a NUL byte); say so without the value.
                throw IMAPError(.authenticationFailed, "the user name or password cannot be sent over IMAP")
            }
        }
    }

    /// CAPABILITY, as a command.
    private func fetchCapabilities() async throws(IMAPError) -> Set<String> {
        let completion = try await execute(.capability)
        guard completion.status.condition == .ok else {
            throw IMAPError(.refused, "CAPABILITY: \(completion.status.text)")
        }
        var capabilities: Set<String> = []
        for case let .capability(set) in completion.untagged { capabilities.formUnion(set) }
        if case let .capability(set)? = completion.status.code { capabilities.formUnion(set) }
        return capabilities
    }

    static func base64(_ text: String) -> String {
        Data(text.utf8).base64EncodedString()
    }

    /// A server that echoes what it was sent must not carry the secret into our error.
    static func redact(_ text: String, login: IMAPLogin) -> String {
        let secret: String
        switch login.secret {
        case let .password(value): secret = value
        case let .oauth2AccessToken(value): secret = value
        }
        guard !secret.isEmpty else { return text }
        return text.replacingOccurrences(of: secret, with: "<redacted>")
    }
}
