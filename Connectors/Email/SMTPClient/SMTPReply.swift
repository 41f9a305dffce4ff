import MailTransport

/// One SMTP reply (RFC 5321 4.2): a three-digit code on every line, '-' after it on all
/// but the last. Read with bounds, since the server is not trusted: lines are capped by
/// the transport, the number of lines here, and the code must be a real reply code.
struct SMTPReply: Sendable {
    var code: Int
    /// The text of each line, after the code and separator.
    var lines: [String]

    /// The lines joined with spaces, stripped of control characters: for errors and logs.
    var text: String { lines.joined(separator: " ") }

    /// A multi-line EHLO reply has one line per extension; a hundred is far beyond any
    /// real server and keeps a hostile one from streaming lines for ever.
    static let maximumLines = 100

    static func read(from connection: MailConnection, timeout: Duration? = nil) async throws(SMTPError) -> SMTPReply {
        var code: Int?
        var lines: [String] = []
        while true {
            let line: [UInt8]
            do {
                line = try await connection.readLine(timeout: timeout)
            } catch {
                if error.kind == .lineTooLong {
                    throw SMTPError(.protocolViolation, isPermanent: false, "the server's reply is too long: \(error.description)")
                }
                throw SMTPError(.transport, isPermanent: false, "reading the server's reply: \(error.description)")
            }
            guard line.count >= 3, line[0...2].allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
                throw SMTPError(.protocolViolation, isPermanent: false, "the server sent a line that is no SMTP reply: \(sanitized(line.prefix(80)))")
            }
            let lineCode = Int(line[0] - 48) * 100 + Int(line[1] - 48) * 10 + Int(line[2] - 48)
            guard (200...599).contains(lineCode) else {
                throw SMTPError(.protocolViolation, isPermanent: false, "the server sent the reply code \(lineCode), which SMTP does not have")
            }
            if let code, code != lineCode {
                throw SMTPError(.protocolViolation, isPermanent: false, "the server changed the reply code from \(code) to \(lineCode) mid-reply")
            }
            code = lineCode
            let separator = line.count > 3 ? line[3] : UInt8(ascii: " ")
            guard separator == UInt8(ascii: " ") || separator == UInt8(ascii: "-") else {
                throw SMTPError(.protocolViolation, isPermanent: false, "the server sent a malformed reply line: \(sanitized(line.prefix(80)))")
            }
            lines.append(sanitized(line.dropFirst(4)))
            if separator == UInt8(ascii: " ") { return SMTPReply(code: lineCode, lines: lines) }
            guard lines.count < maximumLines else {
                throw SMTPError(.protocolViolation, isPermanent: false, "the server's reply runs past \(maximumLines) lines")
            }
        }
    }

    /// Printable ASCII only: the text ends up in logs and the dashboard.
    static func sanitized(_ bytes: some Collection<UInt8>) -> String {
        String(decoding: bytes.map { $0 >= 0x20 && $0 < 0x7F ? $0 : UInt8(ascii: "?") }, as: UTF8.self)
    }
}
