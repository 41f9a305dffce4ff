public import AsyncHTTPClient
public import Logging
public import NIOCore
public import NIOPosix
public import ServiceLifecycle
import Synchronization

/// The one way out: every outbound HTTP request of the process goes through this gate, an
/// HTTP `CONNECT` proxy on `127.0.0.1` that resolves the target itself, checks every address
/// it resolved to, and connects only to an address it checked.
///
/// Why a proxy: AsyncHTTPClient resolves and connects on its own, with no hook for either,
/// so a check before the call (the transport's old way) is blind to what it then connects
/// to — a name whose DNS answer changes between the two lookups (rebinding), or a numeric
/// form the check reads differently from the resolver (`http://2130706433/`,
/// `http://0251.0376.0251.0376/`). With ``makeHTTPClient(_:)``'s configuration the client
/// always tunnels through the gate with `CONNECT host:port` (for `http` and `https` alike,
/// TLS staying end to end with the right SNI), so the address the bytes go to is the one
/// the gate resolved with ``EgressResolver`` (`getaddrinfo` by default) and judged.
///
/// The rules: unless ``Configuration/allowPrivate``, every address a target resolves to
/// must be public (``AddressScope``); a target with one private address is refused (`403`)
/// and nothing is connected. ``Configuration/trustedOrigins`` — the operator's own platform
/// bases, such as a self-hosted Telegram Bot API — are admitted whatever their addresses.
/// Redirects are never followed by the gate's clients; were one followed, its hop would be a
/// new `CONNECT`, judged the same way.
///
/// Resources are bounded: at most ``Configuration/maximumTunnels`` connections (more are
/// closed at once), a handshake (request, lookup, connect) within
/// ``Configuration/handshakeTimeout``, and a tunnel silent both ways for
/// ``Configuration/idleTimeout`` is closed. The caller's deadline covers the rest: when the
/// client gives up it closes its connection to the gate, and the gate closes the other side.
///
/// Failures reach the client as a refused `CONNECT`, which it reports as one error whatever
/// the reason (refused, unresolvable, unreachable, too slow); the reason is logged here, so
/// a tenant's error text cannot tell a closed port from a refused address.
///
/// The gate listens from `init` (as an `HTTPClient` works from its `init`), so the clients
/// made from it can be built synchronously; run it as a Service, which closes it on graceful
/// shutdown, or call ``shutdown()``.
///
/// (A module of its own: the model providers' transport and the App's connector client both
/// go out through it, and tools and media downloads will; it needs sockets, NIO and a
/// resolver, which neither Core nor a connector may have.)
public final class EgressGate: Service, Sendable {
    /// How the gate judges and bounds its traffic.
    public struct Configuration: Sendable {
        /// Whether loopback, private, link-local and other non-public addresses may be
        /// reached (`SWITCHBOARD_EGRESS_ALLOW_PRIVATE`, for local models and test fakes).
        public var allowPrivate: Bool
        /// Targets the operator configured (platform API bases): admitted whatever they
        /// resolve to, since no tenant chose them.
        public var trustedOrigins: Set<EgressTarget>
        /// Connections to the gate open at once, tunnels and handshakes together (each
        /// holds three descriptors: the client's socket and the gate's two).
        public var maximumTunnels = 256
        /// A tunnel with no byte either way for this long is closed; longer than any call's
        /// deadline, so only an abandoned tunnel meets it.
        public var idleTimeout: Duration = .seconds(300)
        /// The `CONNECT` request, the lookup and the connect must be over within this.
        public var handshakeTimeout: Duration = .seconds(10)
        /// Threads for `getaddrinfo` when the gate makes its own resolver.
        public var resolverThreads = 4

        public init(allowPrivate: Bool, trustedOrigins: Set<EgressTarget> = []) {
            self.allowPrivate = allowPrivate
            self.trustedOrigins = trustedOrigins
        }
    }

    public let configuration: Configuration
    /// The port the gate listens on at `127.0.0.1`; 0 when it could not listen, so every
    /// call through it fails (closed, not open) and ``run()`` throws.
    public let port: Int
    /// The `Proxy-Authorization` value the gate's clients send: other local processes cannot
    /// use it as a relay.
    let authorization: HTTPClient.Authorization
    /// The gate's `Proxy-Authorization` value, for clients that speak `CONNECT` themselves
    /// (the mail connector's IMAP and SMTP).
    public var proxyAuthorization: String { authorization.headerValue }
    let resolver: any EgressResolver
    let logger: Logger
    private let ownedThreadPool: NIOThreadPool?
    private let state = Mutex(State())

    private struct State {
        var statistics = EgressGateStatistics()
        var connections: [ObjectIdentifier: any Channel] = [:]
        var server: (any Channel)?
        var failure: EgressGateError?
        var shutDown = false
    }

    /// A gate listening on `127.0.0.1` and an ephemeral port; `resolver` defaults to
    /// ``GetaddrinfoResolver`` on threads of the gate's own.
    public init(_ configuration: Configuration, resolver: (any EgressResolver)? = nil, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        self.authorization = .bearer(tokens: (0..<4).map { _ in String(UInt64.random(in: .min ... .max), radix: 16) }.joined())
        if let resolver {
            self.resolver = resolver
            self.ownedThreadPool = nil
        } else {
            let pool = NIOThreadPool(numberOfThreads: max(1, configuration.resolverThreads))
            pool.start()
            self.resolver = GetaddrinfoResolver(threadPool: pool)
            self.ownedThreadPool = pool
        }
        let socket: (handle: CInt, port: Int)?
        var failure: EgressGateError?
        do {
            socket = try EgressAddress.openLoopbackListener()
        } catch {
            socket = nil
            failure = error
        }
        self.port = socket?.port ?? 0
        guard let socket else {
            state.withLock { $0.failure = failure }
            logger.critical("the egress gate could not listen; every outbound call will fail", metadata: ["error": "\(failure.map(\.description) ?? "?")"])
            return
        }
        ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture { try self.accept(channel) }
            }
            .withBoundSocket(socket.handle)
            .whenComplete { [self] result in
                switch result {
                case .success(let server):
                    let closeNow = state.withLock { state in
                        state.server = server
                        return state.shutDown
                    }
                    if closeNow { server.close(promise: nil) }
                case .failure(let error):
                    state.withLock { $0.failure = EgressGateError("the egress gate could not listen: \(error)") }
                    logger.critical("the egress gate could not listen; every outbound call will fail", metadata: ["error": "\(error)"])
                }
            }
    }

    /// Waits for graceful shutdown, then closes the gate; throws at once when it could not
    /// listen, so the application does not run without a way out.
    public func run() async throws {
        if let failure = state.withLock({ $0.failure }) { throw failure }
        try? await gracefulShutdown()
        await shutdown()
    }

    /// Stops listening and closes every tunnel. Idempotent.
    public func shutdown() async {
        let (server, connections) = state.withLock { state in
            state.shutDown = true
            defer {
                state.server = nil
                state.connections = [:]
            }
            return (state.server, Array(state.connections.values))
        }
        try? await server?.close()
        for connection in connections { connection.close(promise: nil) }
        for connection in connections { try? await connection.closeFuture.get() }
        ownedThreadPool?.shutdownGracefully { _ in }
    }

    /// What the gate has done so far.
    public var statistics: EgressGateStatistics { state.withLock { $0.statistics } }

    /// An HTTP client that reaches the network only through this gate, never follows a
    /// redirect, and fails a refused connection at once instead of retrying it until its
    /// connect timeout. Shut it down before the gate.
    public func makeHTTPClient(_ configuration: HTTPClient.Configuration = HTTPClient.Configuration()) -> HTTPClient {
        var configuration = configuration
        configuration.proxy = .server(host: "127.0.0.1", port: port, authorization: authorization)
        configuration.redirectConfiguration = .disallow
        configuration.connectionPool.retryConnectionEstablishment = false
        // The client drops a pooled connection before the gate would close it as idle.
        let idle = TimeAmount(self.configuration.idleTimeout / 2)
        if configuration.connectionPool.idleTimeout > idle { configuration.connectionPool.idleTimeout = idle }
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// Resolves `target` and judges every address it has, as the gate does before it
    /// connects; for checks at save time (a URL refused before it is stored). A target
    /// that is refused here is refused when connecting; one admitted here is judged again
    /// then, on the addresses it has then.
    public func verdict(for target: EgressTarget) async -> EgressVerdict {
        let addresses: [SocketAddress]
        do {
            addresses = try await resolver.addresses(of: target.host, port: target.port)
        } catch {
            return .unresolved
        }
        guard !addresses.isEmpty else { return .unresolved }
        if configuration.allowPrivate || configuration.trustedOrigins.contains(target) { return .admitted(addresses) }
        for address in addresses {
            let scope = EgressAddress.scope(of: address)
            if !scope.isPublic { return .refused(address: address, scope: scope) }
        }
        return .admitted(addresses)
    }

    // MARK: Connections

    /// Sets up an accepted connection, or closes it when the gate is full or shut.
    private func accept(_ channel: any Channel) throws {
        let id = ObjectIdentifier(channel)
        let admitted = state.withLock { state -> Bool in
            guard !state.shutDown, state.connections.count < configuration.maximumTunnels else {
                state.statistics.shed += 1
                return false
            }
            state.connections[id] = channel
            state.statistics.open += 1
            return true
        }
        guard admitted else {
            logger.warning("the egress gate is full; a connection was closed", metadata: ["egress.maximum": "\(configuration.maximumTunnels)"])
            channel.close(promise: nil)
            return
        }
        channel.closeFuture.whenComplete { [self] _ in
            state.withLock { state in
                if state.connections.removeValue(forKey: id) != nil { state.statistics.open -= 1 }
            }
        }
        let sync = channel.pipeline.syncOperations
        try sync.addHandler(IdleStateHandler(allTimeout: TimeAmount(configuration.idleTimeout)))
        try sync.addHandler(EgressHandshakeHandler(gate: self))
    }

    /// Counts what a handshake came to.
    func record(_ outcome: Outcome) {
        state.withLock { state in
            switch outcome {
            case .opened: state.statistics.opened += 1
            case .refused: state.statistics.refused += 1
            case .unreachable: state.statistics.unreachable += 1
            case .rejected: state.statistics.rejected += 1
            }
        }
    }

    enum Outcome {
        case opened, refused, unreachable, rejected
    }
}

/// The gate could not start.
public struct EgressGateError: Error, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
