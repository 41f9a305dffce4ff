/// Where responses come from: lines (without CRLF) and counted bytes, as the transport
/// delivers them. The session reads a `MailConnection` through it; parser tests read a
/// recorded transcript.
protocol IMAPByteSource: Sendable {
    /// One line; `timeout` overrides the transport's read timeout (IDLE waits longer, or
    /// shorter, than a command's answer). A timeout leaves the connection usable.
    func readLine(timeout: Duration?) async throws(IMAPError) -> [UInt8]
    func readExactly(_ count: Int) async throws(IMAPError) -> [UInt8]
}
