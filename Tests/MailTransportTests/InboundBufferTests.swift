@testable import MailTransport
import NIOCore
import NIOEmbedded
import Testing

/// The buffer's backpressure, watched on an embedded channel: whether a `read()` from the
/// channel reaches the socket is exactly what bounds memory against a flooding server.
@Suite("Inbound buffer backpressure")
struct InboundBufferTests {
    /// Counts the read requests that get past the buffer towards the socket.
    final class ReadCounter: ChannelOutboundHandler {
        typealias OutboundIn = ByteBuffer
        var reads = 0
        func read(context: ChannelHandlerContext) {
            reads += 1
            context.read()
        }
    }

    func setUp(maximumLineBytes: Int) throws -> (EmbeddedChannel, InboundBuffer, ReadCounter) {
        let counter = ReadCounter()
        let buffer = InboundBuffer(maximumLineBytes: maximumLineBytes)
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(counter)
        try channel.pipeline.syncOperations.addHandler(buffer)
        return (channel, buffer, counter)
    }

    @Test("reads stop while a line's worth is buffered and resume once it drains")
    func linesBound() throws {
        let (channel, buffer, counter) = try setUp(maximumLineBytes: 100)
        channel.read()
        #expect(counter.reads == 1)
        // 60 lines of 3 bytes: 180 buffered, over the bound of 102.
        try channel.writeInbound(channel.allocator.buffer(string: String(repeating: "ab\n", count: 60)))
        channel.read()
        #expect(counter.reads == 1)
        var served = 0
        while counter.reads == 1 && served < 60 {
            let line = buffer.request(line: true, count: 0, timeout: .seconds(1))
            channel.embeddedEventLoop.run()
            #expect(try line.wait() == Array("ab".utf8))
            served += 1
        }
        // The held read went out as soon as fewer than 102 bytes were left: 99, after 27 lines.
        #expect(counter.reads == 2)
        #expect(served == 27)
        _ = try? channel.finish()
    }

    @Test("a pending literal raises the bound to its size, and no further")
    func literalBound() throws {
        let (channel, buffer, counter) = try setUp(maximumLineBytes: 100)
        let literal = buffer.request(line: false, count: 1000, timeout: .seconds(1))
        try channel.writeInbound(channel.allocator.buffer(repeating: 1, count: 600))
        channel.read()
        #expect(counter.reads == 1)  // 600 < 1000: keep reading
        try channel.writeInbound(channel.allocator.buffer(repeating: 2, count: 600))
        channel.embeddedEventLoop.run()
        #expect(try literal.wait().count == 1000)
        // 200 left over, over the line bound of 102 now that no literal is pending.
        channel.read()
        #expect(counter.reads == 1)
        _ = try? channel.finish()
    }
}
