import ConnectorKit
import Foundation
import IMAPClient
import MailTransport
import SMTPClient

/// A mailbox channel's settings, read from the credentials a tenant submitted: where its
/// IMAP and SMTP servers are, how they are secured, and how to log in — a password, or an
/// OAuth client and refresh token (Gmail and Microsoft 365 take no passwords over IMAP).
///
/// Every field is a string (the channel API's credentials are); each is checked here, so
/// a channel is never stored with a port of `99999` or a security of `none`.
struct EmailCredentials: Sendable, Hashable {
    /// The mailbox's address: the `From` of every reply.
    var address: String
    var displayName: String?
    var imap: MailServer
    var smtp: MailServer
    var imapUser: String
    var smtpUser: String
    var secret: Secret
    /// The folder watched; `INBOX` unless set.
    var mailbox: String
    /// Whether the first fetch takes the mail already in the mailbox (`true`) or only what
    /// arrives after the channel was connected (the default: a business connecting a
    /// mailbox with years of mail does not want each old letter answered, and paid for).
    var importExisting: Bool

    enum Secret: Sendable, Hashable {
        case password(imap: String, smtp: String)
        case oauth(OAuthClient)
    }

    /// The OAuth 2 client whose refresh token gives the access tokens XOAUTH2 logs in with.
    struct OAuthClient: Sendable, Hashable {
        var tokenURL: String
        var clientID: String
        var clientSecret: String?
        var refreshToken: String
    }

    /// The fields a tenant may send; anything else is refused, so a misspelt one is noticed.
    static let fields: Set<String> = [
        "address", "display_name", "imap_host", "imap_port", "imap_security", "smtp_host", "smtp_port", "smtp_security",
        "username", "password", "smtp_username", "smtp_password", "oauth_token_url", "oauth_client_id", "oauth_client_secret",
        "oauth_refresh_token", "mailbox", "import_existing",
    ]

    init(_ values: [String: String]) throws(ConnectorError) {
        if let unknown = values.keys.filter({ !Self.fields.contains($0) }).sorted().first {
            throw ConnectorError(.invalidCredentials, "\(unknown.prefix(64)) is not a mail channel setting", field: String(unknown.prefix(64)))
        }
        func text(_ name: String, required: Bool = true, maximum: Int = 320) throws(ConnectorError) -> String? {
            guard let value = values[name]?.trimmingCharacters(in: .whitespaces), !value.isEmpty else {
                if required { throw ConnectorError(.invalidCredentials, "\(name) is required", field: name) }
                return nil
            }
            guard value.count <= maximum, !value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
                throw ConnectorError(.invalidCredentials, "\(name) must be at most \(maximum) printable characters", field: name)
            }
            return value
        }
        func server(_ prefix: String, tlsPort: Int, startTLSPort: Int) throws(ConnectorError) -> MailServer {
            let host = try text("\(prefix)_host", maximum: 253)!
            guard host.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == ":" || $0 == "[" || $0 == "]" }) else {
                throw ConnectorError(.invalidCredentials, "\(prefix)_host must be a host name or an address", field: "\(prefix)_host")
            }
            let security: MailSecurity
            switch try text("\(prefix)_security", required: false) {
            case nil, "tls": security = .tls
            case "starttls": security = .starttls
            default:
                throw ConnectorError(
                    .invalidCredentials, "\(prefix)_security must be tls or starttls: mail is never sent in the clear", field: "\(prefix)_security"
                )
            }
            var port = security == .tls ? tlsPort : startTLSPort
            if let given = try text("\(prefix)_port", required: false) {
                guard let number = Int(given), (1...65_535).contains(number) else {
                    throw ConnectorError(.invalidCredentials, "\(prefix)_port must be a port number, 1 to 65535", field: "\(prefix)_port")
                }
                port = number
            }
            return MailServer(host: host, port: port, security: security)
        }
        guard let address = try text("address"), MailAddressCheck.isAddress(address) else {
            throw ConnectorError(.invalidCredentials, "address must be an email address", field: "address")
        }
        self.address = address
        displayName = try text("display_name", required: false, maximum: 200)
        imap = try server("imap", tlsPort: 993, startTLSPort: 143)
        smtp = try server("smtp", tlsPort: 465, startTLSPort: 587)
        imapUser = try text("username", required: false) ?? address
        smtpUser = try text("smtp_username", required: false) ?? imapUser
        mailbox = try text("mailbox", required: false, maximum: 200) ?? "INBOX"
        switch try text("import_existing", required: false) {
        case nil, "false": importExisting = false
        case "true": importExisting = true
        default: throw ConnectorError(.invalidCredentials, "import_existing must be true or false", field: "import_existing")
        }
        let password = try text("password", required: false, maximum: 1024)
        let refreshToken = try text("oauth_refresh_token", required: false, maximum: 4096)
        switch (password, refreshToken) {
        case (let password?, nil):
            secret = .password(imap: password, smtp: try text("smtp_password", required: false, maximum: 1024) ?? password)
        case (nil, let refreshToken?):
            let tokenURL = try text("oauth_token_url", maximum: 2048)!
            guard tokenURL.hasPrefix("https://") || tokenURL.hasPrefix("http://") else {
                throw ConnectorError(.invalidCredentials, "oauth_token_url must be an https URL", field: "oauth_token_url")
            }
            secret = .oauth(OAuthClient(
                tokenURL: tokenURL, clientID: try text("oauth_client_id", maximum: 1024)!,
                clientSecret: try text("oauth_client_secret", required: false, maximum: 1024), refreshToken: refreshToken
            ))
        case (nil, nil):
            throw ConnectorError(.invalidCredentials, "password or oauth_refresh_token is required", field: "password")
        case (_?, _?):
            throw ConnectorError(.invalidCredentials, "give password or oauth_refresh_token, not both", field: "password")
        }
    }

    /// The credentials as stored: what was submitted, checked (the defaults are not added,
    /// so a later change of a default reaches stored channels).
    static func stored(_ values: [String: String]) -> [String: String] {
        values.compactMapValues { value in
            let trimmed = value.trimmingCharacters(in: .whitespaces)
            return trimmed.isEmpty ? nil : trimmed
        }
    }
}

/// The small check an address from a tenant passes: one `@`, something each side, no
/// spaces or brackets. (What a server accepts is its business; this keeps junk out.)
enum MailAddressCheck {
    static func isAddress(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !parts[1].hasSuffix("."), text.count <= 320 else { return false }
        return !text.contains { $0.isWhitespace || "<>()[],;:\\\"".contains($0) }
    }
}
