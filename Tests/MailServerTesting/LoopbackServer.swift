import NIOCore
import NIOPosix

/// A loopback TCP server that sends fixed bytes to whoever connects, then optionally hangs
/// up: the hostile or broken server a real mail server will not play (endless lines,
/// silence, a half line and a close, a 20 MB literal).
public final class LoopbackServer: Sendable {
    public let port: Int
    private let channel: any Channel

    private init(channel: any Channel, port: Int) {
        self.channel = channel
        self.port = port
    }

    public static func start(sending payload: [UInt8], thenClose: Bool = false) async throws -> LoopbackServer {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addHandler(Sender(payload: payload, thenClose: thenClose))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        guard let port = channel.localAddress?.port else { throw CancellationError() }
        return LoopbackServer(channel: channel, port: port)
    }

    public func stop() async {
        try? await channel.close()
    }

    private final class Sender: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        let payload: [UInt8]
        let thenClose: Bool

        init(payload: [UInt8], thenClose: Bool) {
            self.payload = payload
            self.thenClose = thenClose
        }

        func channelActive(context: ChannelHandlerContext) {
            let write = context.writeAndFlush(NIOAny(context.channel.allocator.buffer(bytes: payload)))
            if thenClose {
                let channel = context.channel
                write.whenComplete { _ in channel.close(promise: nil) }
            }
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {}
    }
}
