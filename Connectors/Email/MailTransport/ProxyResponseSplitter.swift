import NIOCore

/// Lets only the proxy's answer (up to its blank line) through to the HTTP decoder and
/// holds back what follows until the tunnel is up, then hands it on.
///
/// Mail servers speak first, so the greeting can share a packet with the proxy's
/// "200 Connection established". NIO's response decoder does not treat a 2xx to CONNECT
/// as the end of HTTP and would parse the greeting as the next response ("invalid
/// constant string", seen in the proxy test). The CONNECT answer has no body, so
/// everything after its blank line belongs to the mail server.
final class ProxyResponseSplitter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// A proxy's answer is a status line and a few headers; past this it is not one.
    private static let maximumHeadBytes = 16 * 1024
    private var head = ByteBuffer()
    private var held: ByteBuffer?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        if held != nil {
            held!.writeBuffer(&incoming)
            return
        }
        head.writeBuffer(&incoming)
        let view = head.readableBytesView
        guard let end = Self.endOfHead(view) else {
            if head.readableBytes > Self.maximumHeadBytes {
                context.fireErrorCaught(MailTransportError(.proxyRefused, "the proxy's answer has no end"))
            }
            return
        }
        let length = end - view.startIndex
        let answer = head.readSlice(length: length) ?? ByteBuffer()
        held = head
        head = ByteBuffer()
        context.fireChannelRead(wrapInboundOut(answer))
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        if let held, held.readableBytes > 0 {
            context.fireChannelRead(wrapInboundOut(held))
        }
        held = nil
    }

    /// The index just past the first CRLF CRLF, if there is one.
    private static func endOfHead(_ view: ByteBufferView) -> Int? {
        var index = view.startIndex
        while index + 3 < view.endIndex {
            if view[index] == 13, view[index + 1] == 10, view[index + 2] == 13, view[index + 3] == 10 {
                return index + 4
            }
            index += 1
        }
        return nil
    }
}
