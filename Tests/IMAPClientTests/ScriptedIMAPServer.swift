import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// A loopback IMAP server that answers each client line from a script: for what Dovecot
/// will not do (XOAUTH2, no STARTTLS, LOGINDISABLED, hostile answers). It speaks over real
/// TCP (and TLS with the test servers' certificate), and records every line it was sent.
final class ScriptedIMAPServer: Sendable {
    /// Answers one client line: the bytes to send back (empty: nothing).
    typealias Script = @Sendable (_ line: String) -> String

    let port: Int
    private let channel: any Channel
    private let record: Mutex<[String]>
    private let closedCount: Mutex<Int>

    /// Lines the client sent, in order, without CRLF.
    var received: [String] { record.withLock { $0 } }
    /// Client connections that have ended.
    var closedConnections: Int { closedCount.withLock { $0 } }

    private init(port: Int, channel: any Channel) {
        self.port = port
        self.channel = channel
        self.record = Mutex([])
        self.closedCount = Mutex(0)
    }

    /// `tls`: the certificate and key files to serve TLS from the first byte; nil: plaintext.
    static func start(greeting: String, tls: (certificate: String, key: String)?, script: @escaping Script) async throws -> ScriptedIMAPServer {
        let context: NIOSSLContext? = try tls.map { files in
            let configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMFile(files.certificate).map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(file: files.key, format: .pem))
            )
            return try NIOSSLContext(configuration: configuration)
        }
        let holder = Box()
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    if let context {
                        try child.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                    }
                    try child.pipeline.syncOperations.addHandler(
                        LineHandler(greeting: greeting, script: script, recorder: holder)
                    )
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        let instance = ScriptedIMAPServer(port: server.localAddress?.port ?? 0, channel: server)
        holder.server.withLock { $0 = instance }
        return instance
    }

    func stop() async {
        try? await channel.close()
    }

    fileprivate func note(_ line: String) { record.withLock { $0.append(line) } }
    fileprivate func noteClosed() { closedCount.withLock { $0 += 1 } }

    /// Lets handlers created before the server value exists reach it.
    fileprivate final class Box: Sendable {
        let server = Mutex<ScriptedIMAPServer?>(nil)
    }

    private final class LineHandler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        let greeting: String
        let script: Script
        let recorder: Box
        var pending: [UInt8] = []

        init(greeting: String, script: @escaping Script, recorder: Box) {
            self.greeting = greeting
            self.script = script
            self.recorder = recorder
        }

        func channelActive(context: ChannelHandlerContext) {
            write(greeting, context: context)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = unwrapInboundIn(data)
            pending += buffer.readBytes(length: buffer.readableBytes) ?? []
            while let newline = pending.firstIndex(of: 10) {
                var line = Array(pending[..<newline])
                pending.removeFirst(newline + 1)
                if line.last == 13 { line.removeLast() }
                let text = String(decoding: line, as: UTF8.self)
                recorder.server.withLock { $0?.note(text) }
                write(script(text), context: context)
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            recorder.server.withLock { $0?.noteClosed() }
        }

        private func write(_ text: String, context: ChannelHandlerContext) {
            guard !text.isEmpty else { return }
            context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: text)), promise: nil)
        }

        typealias OutboundOut = ByteBuffer
    }
}

extension String {
    /// The tag of a client line ("A0003 LOGIN ..." -> "A0003").
    var tag: String { String(split(separator: " ", maxSplits: 1).first ?? "") }
}
