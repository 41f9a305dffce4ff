import Foundation

/// Where the test servers listen. `host` is "localhost", the name on their certificate
/// (which also carries 127.0.0.1); everything is on loopback.
public struct MailServerEndpoints: Sendable, Hashable {
    /// The one domain the servers take mail for.
    public static let domain = "switchboard.test"

    public var host = "localhost"
    /// IMAP with STARTTLS.
    public var imapPort: Int
    /// IMAP over TLS from the first byte.
    public var imapsPort: Int
    /// The MX-style port: plaintext (STARTTLS offered), no auth, *@switchboard.test only.
    public var smtpPort: Int
    /// Submission: STARTTLS required, then AUTH PLAIN or LOGIN as a mailbox's user.
    public var submissionPort: Int
    /// The throwaway CA that signed the servers' certificate (PEM).
    public var caFile: String
    /// The servers' directory: configs, logs, `mail/<domain>/<name>/Maildir`.
    public var directory: String

    /// Reads the `KEY=VALUE` lines `Deploy/mail-servers.sh start` prints.
    init(scriptOutput: String) throws {
        var values: [String: String] = [:]
        for line in scriptOutput.split(whereSeparator: \.isNewline) {
            guard let equals = line.firstIndex(of: "=") else { continue }
            values[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        func port(_ key: String) throws -> Int {
            guard let text = values[key], let port = Int(text), (1...65_535).contains(port) else {
                throw TestMailServersError(message: "mail-servers.sh printed no \(key):\n\(scriptOutput)")
            }
            return port
        }
        guard let caFile = values["CA_FILE"], let directory = values["DIR"] else {
            throw TestMailServersError(message: "mail-servers.sh printed no CA_FILE or DIR:\n\(scriptOutput)")
        }
        self.imapPort = try port("IMAP_PORT")
        self.imapsPort = try port("IMAPS_PORT")
        self.smtpPort = try port("SMTP_PORT")
        self.submissionPort = try port("SUBMISSION_PORT")
        self.caFile = caFile
        self.directory = directory
    }
}
