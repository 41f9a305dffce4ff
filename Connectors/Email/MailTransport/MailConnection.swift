import NIOCore
import NIOExtras
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// One byte stream to a mail server, for the IMAP and SMTP clients to speak over: bounded
/// lines, exact-size literals, writes, and STARTTLS in place.
///
/// With a proxy it first asks the egress gate for a tunnel (`CONNECT host:port`), so the
/// gate, not this process, resolves and vets the address. TLS is then end to end with the
/// mail server, verified against `host` and the configured roots.
///
/// Reads are one at a time (the protocols are request/response); every read has a
/// deadline; a line over `maximumLineBytes` closes the connection.
public final class MailConnection: Sendable {
    private let channel: any Channel
    private let inbound: NIOLoopBoundBox<InboundBuffer>
    private let server: MailServer
    private let options: MailTransportOptions
    private let tls: Atomic<Bool>

    private init(
        channel: any Channel, inbound: NIOLoopBoundBox<InboundBuffer>, server: MailServer, options: MailTransportOptions, isTLS: Bool
    ) {
        self.channel = channel
        self.inbound = inbound
        self.server = server
        self.options = options
        self.tls = Atomic(isTLS)
    }

    /// A connection dropped without `close()` (a task cancelled mid-protocol) must not
    /// leave its socket open for the life of the process.
    deinit {
        channel.close(promise: nil)
    }

    /// Whether the stream is encrypted now: from the start with `.tls`, after `startTLS()`
    /// with `.starttls`. The clients refuse to send credentials while this is false.
    public var isTLS: Bool { tls.load(ordering: .acquiring) }

    /// .tls: TLS from the first byte (SNI and certificate check against host); .starttls:
    /// plaintext until startTLS().
    public static func open(
        to server: MailServer, options: MailTransportOptions
    ) async throws(MailTransportError) -> MailConnection {
        try validate(host: server.host, port: server.port, what: "mail server")
        if let proxy = options.proxy { try validate(host: proxy.host, port: proxy.port, what: "proxy") }
        // Built before connecting: a missing CA file is a configuration error, not a
        // reason to open a socket.
        let sslContext: NIOSSLContext? = server.security == .tls ? try makeSSLContext(options) : nil

        let target = options.proxy.map { ($0.host, $0.port) } ?? (server.host, server.port)
        let connectTimeout = options.connectTimeout.timeAmount
        let maximumLineBytes = options.maximumLineBytes
        // The buffer goes in before the connection is active: a server that greets at once
        // (all of them) must not have its first bytes read into an empty pipeline.
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let inbound = NIOLoopBoundBox.makeBoxSendingValue(InboundBuffer(maximumLineBytes: maximumLineBytes), eventLoop: loop)
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(connectTimeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(inbound.value)
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: target.0, port: target.1).get()
        } catch {
            let what = options.proxy == nil ? "\(server.host):\(server.port)" : "the proxy at \(target.0):\(target.1)"
            throw MailTransportError(.unreachable, "could not connect to \(what): \(error)")
        }

        let proxied = options.proxy != nil
        let proxyAuthorization = options.proxy?.authorization
        let setUp: EventLoopFuture<Void> = channel.eventLoop.flatSubmit {
            var ready = channel.eventLoop.makeSucceededVoidFuture()
            if proxied {
                ready = tunnel(
                    channel, before: inbound.value, to: server, authorization: proxyAuthorization, deadline: .now() + connectTimeout
                )
            }
            if let sslContext {
                ready = ready.flatMap {
                    startTLS(channel, inbound: inbound.value, context: sslContext, host: server.host, timeout: connectTimeout)
                }
            }
            return ready
        }
        do {
            try await setUp.get()
            return MailConnection(channel: channel, inbound: inbound, server: server, options: options, isTLS: sslContext != nil)
        } catch {
            try? await channel.close()
            throw InboundBuffer.classify(error)
        }
    }

    public func send(_ bytes: [UInt8]) async throws(MailTransportError) {
        do {
            try await channel.writeAndFlush(channel.allocator.buffer(bytes: bytes))
        } catch {
            let failure = InboundBuffer.classify(error)
            throw failure.kind == .tls ? failure : MailTransportError(.closed, "could not send: the connection is closed")
        }
    }

    /// One line without its CRLF (a bare LF also ends a line); longer than
    /// maximumLineBytes -> .lineTooLong.
    public func readLine(timeout: Duration? = nil) async throws(MailTransportError) -> [UInt8] {
        try await read(line: true, count: 0, timeout: timeout)
    }

    /// Exactly count bytes (IMAP literals); callers bound count.
    public func readExactly(_ count: Int, timeout: Duration? = nil) async throws(MailTransportError) -> [UInt8] {
        guard count >= 0 else { throw MailTransportError(.closed, "cannot read \(count) bytes") }
        if count == 0 { return [] }
        return try await read(line: false, count: count, timeout: timeout)
    }

    private func read(line: Bool, count: Int, timeout: Duration?) async throws(MailTransportError) -> [UInt8] {
        let limit = (timeout ?? options.readTimeout).timeAmount
        let inbound = self.inbound
        let future = channel.eventLoop.flatSubmit {
            inbound.value.request(line: line, count: count, timeout: limit)
        }
        do {
            return try await future.get()
        } catch {
            throw InboundBuffer.classify(error)
        }
    }

    /// Upgrades the plaintext connection in place (after the server's go-ahead); verifies
    /// the certificate against host.
    public func startTLS() async throws(MailTransportError) {
        guard !isTLS else { throw MailTransportError(.tls, "the connection is already encrypted") }
        let sslContext = try Self.makeSSLContext(options)
        let inbound = self.inbound
        let channel = self.channel
        let host = server.host
        let timeout = options.connectTimeout.timeAmount
        let future = channel.eventLoop.flatSubmit {
            Self.startTLS(channel, inbound: inbound.value, context: sslContext, host: host, timeout: timeout)
        }
        do {
            try await future.get()
        } catch {
            try? await channel.close()
            throw InboundBuffer.classify(error)
        }
        tls.store(true, ordering: .releasing)
    }

    public func close() async {
        try? await channel.close()
    }

    // MARK: Setting up (on the event loop)

    /// Sends the CONNECT and waits for a 2xx; then the HTTP handlers go and the channel is
    /// the raw tunnel. Bytes the mail server sent right behind the proxy's answer (a
    /// greeting can share its packet) are held by the splitter and handed to the buffer,
    /// not parsed as HTTP nor dropped.
    private static func tunnel(
        _ channel: any Channel, before inbound: InboundBuffer, to server: MailServer, authorization: String?, deadline: NIODeadline
    ) -> EventLoopFuture<Void> {
        let promise = channel.eventLoop.makePromise(of: Void.self)
        let encoder = HTTPRequestEncoder()
        let decoder = ByteToMessageHandler(HTTPResponseDecoder(leftOverBytesStrategy: .dropBytes))
        let authority = "\(server.host):\(server.port)"
        let connect = NIOHTTP1ProxyConnectHandler(
            targetHost: server.host, targetPort: server.port,
            headers: HTTPHeaders([("Host", authority)] + (authorization.map { [("Proxy-Authorization", $0)] } ?? [])),
            deadline: deadline, promise: promise
        )
        let splitter = ProxyResponseSplitter()
        do {
            let sync = channel.pipeline.syncOperations
            try sync.addHandler(splitter, position: .before(inbound))
            try sync.addHandler(encoder, position: .before(inbound))
            try sync.addHandler(decoder, position: .before(inbound))
            try sync.addHandler(connect, position: .before(inbound))
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        return promise.futureResult
            .flatMapError { error in
                channel.eventLoop.makeFailedFuture(proxyError(error, authority: authority))
            }
            .assumeIsolated()
            .flatMap { channel.pipeline.syncOperations.removeHandler(decoder) }
            .flatMap { channel.pipeline.syncOperations.removeHandler(encoder) }
            // Last: what it held back (a greeting right behind the 200) goes to the buffer.
            .flatMap { channel.pipeline.syncOperations.removeHandler(splitter) }
            .nonisolated()
    }

    private static func proxyError(_ error: any Error, authority: String) -> MailTransportError {
        guard let error = error as? NIOHTTP1ProxyConnectHandler.Error else { return InboundBuffer.classify(error) }
        if error == .httpProxyHandshakeTimeout() {
            return MailTransportError(.timeout, "the proxy did not answer the CONNECT to \(authority) in time")
        }
        if error == .invalidProxyResponseHead(HTTPResponseHead(version: .http1_1, status: .ok)) {
            return MailTransportError(.proxyRefused, "the proxy refused the tunnel to \(authority)")
        }
        if error == .proxyAuthenticationRequired() {
            return MailTransportError(.proxyRefused, "the proxy wants authentication for the tunnel to \(authority)")
        }
        return MailTransportError(.proxyRefused, "the proxy failed the tunnel to \(authority): \(error)")
    }

    /// Puts TLS in front of the buffer and waits for the handshake. Anything already
    /// buffered would have arrived in plaintext after the server's go-ahead: that is an
    /// injection (the STARTTLS command-injection attacks), so it fails instead.
    private static func startTLS(
        _ channel: any Channel, inbound: InboundBuffer, context: NIOSSLContext, host: String, timeout: TimeAmount
    ) -> EventLoopFuture<Void> {
        guard inbound.bufferedBytes == 0 else {
            return channel.eventLoop.makeFailedFuture(
                MailTransportError(.tls, "the server sent \(inbound.bufferedBytes) bytes in plaintext before TLS started")
            )
        }
        let handshake = inbound.expectHandshake(timeout: timeout)
        do {
            let handler = try NIOSSLClientHandler(context: context, serverHostname: host)
            try channel.pipeline.syncOperations.addHandler(handler, position: .before(inbound))
        } catch {
            return channel.eventLoop.makeFailedFuture(InboundBuffer.classify(error))
        }
        return handshake
    }

    private static func makeSSLContext(_ options: MailTransportOptions) throws(MailTransportError) -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.trustRoots = options.trustRoots
        configuration.additionalTrustRoots = options.additionalTrustRoots
        configuration.minimumTLSVersion = .tlsv12
        configuration.certificateVerification = .fullVerification
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw MailTransportError(.tls, "the TLS configuration is unusable: \(error)")
        }
    }

    /// The host goes into a CONNECT line and into SNI: anything that could end the line or
    /// smuggle a header is refused before a byte is sent.
    private static func validate(host: String, port: Int, what: String) throws(MailTransportError) {
        guard (1...65_535).contains(port) else {
            throw MailTransportError(.unreachable, "the \(what)'s port \(port) is not a TCP port")
        }
        let allowed = host.utf8.allSatisfy { byte in
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: ".")
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ":") || byte == UInt8(ascii: "_")
        }
        guard !host.isEmpty, host.utf8.count <= 253, allowed else {
            throw MailTransportError(.unreachable, "the \(what)'s host name is not a valid host name")
        }
    }
}

extension Duration {
    /// NIO's time amount, clamped to [0, one year] so a configured value can never trap.
    var timeAmount: TimeAmount {
        let (seconds, attoseconds) = components
        let clamped = min(max(seconds, 0), 365 * 86_400)
        return .nanoseconds(max(0, clamped * 1_000_000_000 + attoseconds / 1_000_000_000))
    }
}
