public import NIOSSL

/// What every mail connection shares: the way out, whom to trust, and the bounds that keep
/// a slow or hostile server from holding a worker or its memory.
public struct MailTransportOptions: Sendable {
    /// nil: connect directly (tests of the transport only; the app always sets the gate).
    public var proxy: MailProxy?
    /// `.default` (the system's roots); tests pass the throwaway CA file via `.file(path)`.
    public var trustRoots: NIOSSLTrustRoots
    /// Trusted besides `trustRoots`: the operator's private CA (`SWITCHBOARD_MAIL_CA_FILE`)
    /// without giving up the system's roots.
    public var additionalTrustRoots: [NIOSSLAdditionalTrustRoots] = []
    /// TCP connect, the proxy's CONNECT answer, and the TLS handshake, each.
    public var connectTimeout: Duration = .seconds(15)
    /// One `readLine` or `readExactly` unless the call names its own.
    public var readTimeout: Duration = .seconds(60)
    /// The longest line a server may send. IMAP lines are long (a FETCH's header list, a
    /// SEARCH result) but not unbounded; anything longer is refused, not buffered.
    public var maximumLineBytes: Int = 64 * 1024

    public init(proxy: MailProxy? = nil, trustRoots: NIOSSLTrustRoots = .default) {
        self.proxy = proxy
        self.trustRoots = trustRoots
    }
}
