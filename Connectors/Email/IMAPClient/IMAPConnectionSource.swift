import MailTransport

/// Reads a `MailConnection` as an `IMAPByteSource`, turning transport failures into
/// `.transport` errors that keep the transport's words (they carry no secret).
struct IMAPConnectionSource: IMAPByteSource {
    let connection: MailConnection

    func readLine(timeout: Duration?) async throws(IMAPError) -> [UInt8] {
        do {
            return try await connection.readLine(timeout: timeout)
        } catch {
            throw IMAPConnectionSource.translate(error)
        }
    }

    func readExactly(_ count: Int) async throws(IMAPError) -> [UInt8] {
        do {
            return try await connection.readExactly(count)
        } catch {
            throw IMAPConnectionSource.translate(error)
        }
    }

    /// A timeout stays recognisable (IDLE's wait ends with one); a line over the bound is a
    /// response over our bounds.
    static func translate(_ error: MailTransportError) -> IMAPError {
        switch error.kind {
        case .lineTooLong: IMAPError(.tooLarge, error.description)
        case .timeout:
            {
                var translated = IMAPError(.transport, error.description)
                translated.isTimeout = true
                return translated
            }()
        default: IMAPError(.transport, error.description)
        }
    }
}
