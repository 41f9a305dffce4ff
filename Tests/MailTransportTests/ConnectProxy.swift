import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// A tiny HTTP CONNECT proxy on loopback, standing in for the egress gate: it answers one
/// CONNECT per connection with 200 and relays bytes both ways, or refuses every tunnel
/// with 403. It only ever dials 127.0.0.1, whatever host is asked for.
final class ConnectProxy: Sendable {
    let port: Int
    private let channel: any Channel
    private let requests: Mutex<[String]>

    /// The request lines received, e.g. "CONNECT localhost:993 HTTP/1.1".
    var requestLines: [String] { requests.withLock { $0 } }

    private init(channel: any Channel, port: Int) {
        self.channel = channel
        self.port = port
        self.requests = Mutex([])
    }

    /// `coalescing`: the 200 goes out in one write with the mail server's first bytes, as
    /// happens when they share a packet (only for servers that speak first).
    static func start(refusing: Bool = false, coalescing: Bool = false) async throws -> ConnectProxy {
        let log = Log()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addHandler(Handshake(refusing: refusing, coalescing: coalescing, log: log))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        guard let port = channel.localAddress?.port else { throw CancellationError() }
        let proxy = ConnectProxy(channel: channel, port: port)
        log.proxy.withLock { $0 = proxy }
        return proxy
    }

    func stop() async {
        try? await channel.close()
    }

    fileprivate func record(_ line: String) {
        requests.withLock { $0.append(line) }
    }

    /// Lets the handlers reach the proxy created after the bootstrap.
    fileprivate final class Log: Sendable {
        let proxy = Mutex<ConnectProxy?>(nil)
        func record(_ line: String) { proxy.withLock { $0 }?.record(line) }
    }

    private final class Handshake: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = ByteBuffer
        let refusing: Bool
        let coalescing: Bool
        let log: Log
        var head = ByteBuffer()

        init(refusing: Bool, coalescing: Bool, log: Log) {
            self.refusing = refusing
            self.coalescing = coalescing
            self.log = log
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var incoming = unwrapInboundIn(data)
            head.writeBuffer(&incoming)
            let text = String(buffer: head)
            guard let end = text.range(of: "\r\n\r\n") else { return }
            let requestLine = String(text[..<(text.range(of: "\r\n")?.lowerBound ?? end.lowerBound)])
            log.record(requestLine)
            let parts = requestLine.split(separator: " ")
            let client = context.channel
            guard !refusing, parts.count == 3, parts[0] == "CONNECT", let colon = parts[1].lastIndex(of: ":"),
                let port = Int(parts[1][parts[1].index(after: colon)...])
            else {
                context.writeAndFlush(
                    NIOAny(client.allocator.buffer(string: "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")), promise: nil)
                context.close(promise: nil)
                return
            }
            context.pipeline.syncOperations.removeHandler(self, promise: nil)
            let established = "HTTP/1.1 200 Connection established\r\n\r\n"
            let coalescing = self.coalescing
            ClientBootstrap(group: client.eventLoop)
                .channelInitializer { peer in
                    peer.eventLoop.makeCompletedFuture {
                        try peer.pipeline.syncOperations.addHandler(Relay(to: client, prefix: coalescing ? established : nil))
                    }
                }
                .connect(host: "127.0.0.1", port: port)
                .whenComplete { result in
                    switch result {
                    case .success(let peer):
                        // The peer was dialled on the client's own loop, so this runs on it.
                        do {
                            try client.pipeline.syncOperations.addHandler(Relay(to: peer, prefix: nil))
                            if !coalescing { client.writeAndFlush(client.allocator.buffer(string: established), promise: nil) }
                        } catch {
                            client.close(promise: nil)
                        }
                    case .failure:
                        client.writeAndFlush(client.allocator.buffer(string: "HTTP/1.1 502 Bad Gateway\r\n\r\n"), promise: nil)
                        client.close(promise: nil)
                    }
                }
        }
    }

    private final class Relay: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        let other: any Channel
        var prefix: String?

        init(to other: any Channel, prefix: String?) {
            self.other = other
            self.prefix = prefix
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var bytes = unwrapInboundIn(data)
            if let prefix {
                self.prefix = nil
                var joined = context.channel.allocator.buffer(string: prefix)
                joined.writeBuffer(&bytes)
                other.writeAndFlush(joined, promise: nil)
                return
            }
            other.writeAndFlush(bytes, promise: nil)
        }

        func channelInactive(context: ChannelHandlerContext) {
            other.close(promise: nil)
        }
    }
}
