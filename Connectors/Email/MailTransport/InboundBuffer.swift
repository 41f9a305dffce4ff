import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS

/// The last handler of a mail connection's pipeline: keeps what the server sent until the
/// client asks for a line or a literal, and stops reading from the socket while it holds
/// enough. The bound is the point: a server that streams without line ends, or a literal
/// larger than announced, costs at most one line (or the literal asked for) of memory.
///
/// Lives on the channel's event loop; `MailConnection` reaches it only through
/// `eventLoop.flatSubmit`. One request at a time: the protocols are strictly
/// request/response per connection and the clients serialise their reads.
final class InboundBuffer: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum Want {
        case line
        case exactly(Int)
    }

    private struct Pending {
        var want: Want
        var promise: EventLoopPromise<[UInt8]>
        var timeout: Scheduled<Void>?
    }

    private let maximumLineBytes: Int
    private var buffer = ByteBuffer()
    /// Bytes after the reader index already searched for LF, so a long line arriving in
    /// small pieces is scanned once, not once per piece.
    private var scanned = 0
    private var pending: Pending?
    /// Set once the connection is unusable: later requests get this once the buffer holds
    /// nothing to satisfy them.
    private var failure: MailTransportError?
    /// A `read()` held back because the buffer is full; issued again when it drains.
    private var readHeld = false
    private var handshake: EventLoopPromise<Void>?
    private var context: ChannelHandlerContext?
    /// Kept past handlerRemoved: after the server hangs up, what it sent is still served.
    private var eventLoop: (any EventLoop)?

    init(maximumLineBytes: Int) {
        self.maximumLineBytes = max(1, maximumLineBytes)
    }

    /// Bytes still unread: must be zero when TLS starts, or the server has injected
    /// plaintext that would be read as if it came over TLS.
    var bufferedBytes: Int { buffer.readableBytes }

    // MARK: Requests (on the event loop)

    func request(line: Bool, count: Int, timeout: TimeAmount) -> EventLoopFuture<[UInt8]> {
        guard let eventLoop else {
            return Self.failed(MailTransportError(.closed, "the connection is not open"))
        }
        let promise = eventLoop.makePromise(of: [UInt8].self)
        guard pending == nil else {
            promise.fail(MailTransportError(.closed, "another read is already waiting on this connection"))
            return promise.futureResult
        }
        let scheduled = eventLoop.assumeIsolated().scheduleTask(in: timeout) {
            self.failPending(MailTransportError(.timeout, "the server sent nothing for \(timeout.nanoseconds / 1_000_000) ms"))
        }
        pending = Pending(want: line ? .line : .exactly(count), promise: promise, timeout: scheduled)
        serve()
        return promise.futureResult
    }

    /// A promise completed when the TLS handler added next reports its handshake.
    func expectHandshake(timeout: TimeAmount) -> EventLoopFuture<Void> {
        guard let context else {
            return Self.failed(MailTransportError(.closed, "the connection is not open"))
        }
        let promise = context.eventLoop.makePromise(of: Void.self)
        handshake = promise
        let scheduled = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) {
            guard let handshake = self.handshake else { return }
            self.handshake = nil
            handshake.fail(MailTransportError(.timeout, "the TLS handshake did not finish in time"))
            self.context?.close(promise: nil)
        }
        promise.futureResult.whenComplete { _ in scheduled.cancel() }
        return promise.futureResult
    }

    private static func failed<T>(_ error: MailTransportError) -> EventLoopFuture<T> {
        // Only reached before handlerAdded or after handlerRemoved; any loop will do.
        MultiThreadedEventLoopGroup.singleton.any().makeFailedFuture(error)
    }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        self.eventLoop = context.eventLoop
        buffer = context.channel.allocator.buffer(capacity: 4096)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        // Forgotten first: a removed handler must not ask its old context for reads.
        self.context = nil
        fail(MailTransportError(.closed, "the connection was torn down"))
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        buffer.writeBuffer(&incoming)
        serve()
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(MailTransportError(.closed, "the server closed the connection"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(Self.classify(error))
        context.close(promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted = event as? TLSUserEvent, let handshake {
            self.handshake = nil
            handshake.succeed()
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// Backpressure: a read is let through only while the buffer is under its bound.
    func read(context: ChannelHandlerContext) {
        if buffer.readableBytes < bound {
            context.read()
        } else {
            readHeld = true
        }
    }

    // MARK: Serving

    /// A line may take `maximumLineBytes` plus its CRLF; a literal being read may take
    /// all of itself. Past that the socket is not read.
    private var bound: Int {
        let line = maximumLineBytes.addingReportingOverflow(2)
        let lineBound = line.overflow ? Int.max : line.partialValue
        if case .exactly(let count)? = pending?.want { return max(count, lineBound) }
        return lineBound
    }

    private func serve() {
        if let pending {
            switch pending.want {
            case .line: serveLine()
            case .exactly(let count): serveExactly(count: count)
            }
        }
        if readHeld, buffer.readableBytes < bound, let context {
            readHeld = false
            context.read()
        }
    }

    private func serveLine() {
        let readable = buffer.readableBytes
        let searchEnd = min(readable, bound)
        if scanned < searchEnd,
            let found = buffer.readableBytesView[(buffer.readerIndex + scanned)..<(buffer.readerIndex + searchEnd)]
                .firstIndex(of: UInt8(ascii: "\n"))
        {
            let newline = found - buffer.readerIndex
            var length = newline
            if length > 0, buffer.getInteger(at: buffer.readerIndex + length - 1, as: UInt8.self) == UInt8(ascii: "\r") {
                length -= 1
            }
            if length > maximumLineBytes {
                tooLong()
                return
            }
            let line = buffer.readBytes(length: length) ?? []
            buffer.moveReaderIndex(forwardBy: newline - length + 1)
            complete(.success(line))
            return
        }
        scanned = searchEnd
        if readable >= bound {
            tooLong()
        } else if let failure {
            complete(.failure(failure))
        }
    }

    private func serveExactly(count: Int) {
        if buffer.readableBytes >= count {
            let bytes = buffer.readBytes(length: count) ?? []
            complete(.success(bytes))
        } else if let failure {
            complete(.failure(failure))
        }
    }

    private func tooLong() {
        let error = MailTransportError(.lineTooLong, "the server sent a line longer than \(maximumLineBytes) bytes")
        // Cleared first: what is left is part of the overlong line and must not be served.
        buffer.clear()
        scanned = 0
        fail(error)
        context?.close(promise: nil)
    }

    private func complete(_ result: Result<[UInt8], MailTransportError>) {
        guard let pending else { return }
        self.pending = nil
        pending.timeout?.cancel()
        scanned = 0
        // Reclaim the consumed front once it outweighs what is left, so a long session
        // does not keep every byte it ever read, nor copy the unread tail on every line.
        if buffer.readerIndex > 64 * 1024, buffer.readerIndex > buffer.readableBytes {
            buffer.discardReadBytes()
        }
        switch result {
        case .success(let bytes): pending.promise.succeed(bytes)
        case .failure(let error): pending.promise.fail(error)
        }
    }

    private func failPending(_ error: MailTransportError) {
        complete(.failure(error))
    }

    /// Marks the connection unusable and fails what waits on it. Bytes already buffered
    /// are still served: the server's last words (a BYE, a 421) matter to the caller.
    private func fail(_ error: MailTransportError) {
        if failure == nil { failure = error }
        if let handshake {
            self.handshake = nil
            handshake.fail(error)
        }
        serve()
    }

    static func classify(_ error: any Error) -> MailTransportError {
        if let error = error as? MailTransportError { return error }
        if error is NIOSSLError || error is BoringSSLError || error is NIOSSLExtraError {
            return MailTransportError(.tls, "TLS failed: \(error)")
        }
        return MailTransportError(.closed, "the connection failed: \(error)")
    }
}
