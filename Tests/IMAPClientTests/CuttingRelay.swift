import NIOCore
import NIOPosix

/// A loopback TCP relay to a real server that drops both sides once the server has sent
/// `cutAfter` bytes: a connection lost mid-response, at a byte count the test chooses.
/// TLS passes through untouched (the client still verifies the real server's certificate).
struct CuttingRelay: Sendable {
    let port: Int
    private let channel: any Channel

    /// `sourceAddress`: the address the relay connects to the server from. Dovecot slows
    /// down logins from an address that failed one; a test of failures uses its own
    /// loopback address (127.0.0.2) so it does not slow the other tests down.
    static func start(to targetPort: Int, cutAfter: Int = .max, sourceAddress: String = "127.0.0.1") async throws -> CuttingRelay {
        let source = try SocketAddress(ipAddress: sourceAddress, port: 0)
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { client in
                ClientBootstrap(group: client.eventLoop)
                    .channelInitializer { backend in
                        backend.eventLoop.makeCompletedFuture {
                            try backend.pipeline.syncOperations.addHandler(Relay(peer: client, cutAfter: cutAfter))
                        }
                    }
                    .bind(to: source)
                    .connect(host: "127.0.0.1", port: targetPort)
                    .flatMapThrowing { backend in
                        try client.pipeline.syncOperations.addHandler(Relay(peer: backend, cutAfter: nil))
                    }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        return CuttingRelay(port: server.localAddress?.port ?? 0, channel: server)
    }

    func stop() async {
        try? await channel.close()
    }

    /// Copies what one side reads to the other; counts and cuts when told to.
    private final class Relay: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        let peer: any Channel
        let cutAfter: Int?
        var relayed = 0

        init(peer: any Channel, cutAfter: Int?) {
            self.peer = peer
            self.cutAfter = cutAfter
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = unwrapInboundIn(data)
            if let cutAfter {
                let allowed = max(0, cutAfter - relayed)
                if buffer.readableBytes > allowed {
                    let head = buffer.readSlice(length: allowed) ?? ByteBuffer()
                    peer.writeAndFlush(head).whenComplete { [peer] _ in peer.close(promise: nil) }
                    context.close(promise: nil)
                    relayed = cutAfter
                    return
                }
                relayed += buffer.readableBytes
            }
            peer.writeAndFlush(buffer, promise: nil)
        }

        func channelInactive(context: ChannelHandlerContext) {
            peer.close(promise: nil)
        }
    }
}
