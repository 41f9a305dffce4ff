import Foundation
import Logging
import MailMIME
import MailTransport
import NIOSSL
import SMTPClient
import SwitchboardCore

/// The platform's own mail (`SWITCHBOARD_SMTP_URL`): invitation links and sign-up
/// verification links, sent over SMTP through the egress gate like every other connection
/// out. Without it, invitation links are only answered by the API and a sign-up's owner is
/// verified by the operator.
struct PlatformMail: Sendable {
    let server: MailServer
    let authentication: SMTPAuthentication?
    let from: MailAddress
    let options: MailTransportOptions
    let now: @Sendable () -> Date

    /// `smtp://user:password@host:port` (STARTTLS required; port 587 by default) or
    /// `smtps://…` (TLS from the first byte; 465). `nil` for `nil`; a malformed URL throws.
    static func parse(_ text: String) throws -> (MailServer, SMTPAuthentication?) {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
              let host = components.host, !host.isEmpty
        else {
            throw ConfigurationError("SWITCHBOARD_SMTP_URL must be smtp://user:password@host:port or smtps://…")
        }
        let security: MailSecurity
        switch scheme {
        case "smtp": security = .starttls
        case "smtps": security = .tls
        default: throw ConfigurationError("SWITCHBOARD_SMTP_URL's scheme must be smtp (STARTTLS) or smtps (TLS)")
        }
        let port = components.port ?? (security == .tls ? 465 : 587)
        guard (1...65_535).contains(port) else { throw ConfigurationError("SWITCHBOARD_SMTP_URL's port must be 1 to 65535") }
        var authentication: SMTPAuthentication?
        if let user = components.user, !user.isEmpty {
            let password = components.password ?? ""
            authentication = SMTPAuthentication(user: user.removingPercentEncoding ?? user, secret: .password(password.removingPercentEncoding ?? password))
        }
        return (MailServer(host: host, port: port, security: security), authentication)
    }

    /// The mail of this configuration, or `nil` when `SWITCHBOARD_SMTP_URL` is unset.
    static func make(_ configuration: AppConfiguration, proxy: MailProxy?, now: @escaping @Sendable () -> Date) throws -> PlatformMail? {
        guard let url = configuration.smtpURL else { return nil }
        let (server, authentication) = try parse(url)
        let sender = configuration.mailFrom ?? "no-reply@\(server.host)"
        guard Self.isAddress(sender) else { throw ConfigurationError("SWITCHBOARD_MAIL_FROM must be an email address") }
        let from = MailAddress(name: "Switchboard", address: sender)
        var options = MailTransportOptions(proxy: proxy)
        if let file = configuration.mailTrustFile { options.additionalTrustRoots = [.file(file)] }
        options.connectTimeout = .seconds(10)
        options.readTimeout = .seconds(20)
        return PlatformMail(server: server, authentication: authentication, from: from, options: options, now: now)
    }

    /// Sends one plain-text mail; throws what SMTP answered, for the caller to report.
    func send(to recipient: String, subject: String, text: String) async throws {
        let to = MailAddress(name: nil, address: recipient)
        let domain = from.address.split(separator: "@").last.map(String.init) ?? "switchboard.local"
        let mail = OutgoingMail(
            from: from, to: [to], subject: subject, text: text, messageID: "<\(UUID().uuidString.lowercased())@\(domain)>",
            date: now(), isAutomatic: true
        )
        let session = try await SMTPSession.connect(to: server, authentication: authentication, clientName: "switchboard.local", options: options)
        do {
            _ = try await session.send(mail.rendered(), envelope: SMTPEnvelope(sender: from.address, recipients: [to.address]))
        } catch {
            await session.quit()
            throw error
        }
        await session.quit()
    }

    static func isAddress(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        return text.utf8.count <= 254 && parts.count == 2 && !parts[0].isEmpty && parts[1].contains(".")
            && !text.contains(where: { $0.isWhitespace || $0 == "<" || $0 == ">" })
    }
}
