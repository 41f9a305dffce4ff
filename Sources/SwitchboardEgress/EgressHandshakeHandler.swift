import AsyncHTTPClient
import Logging
import NIOCore
import NIOPosix

/// The gate's side of one connection until it becomes a tunnel: reads the client's
/// `CONNECT host:port` request, asks the gate for a verdict, connects to an admitted
/// address (the next one when a connect fails), answers `200` and hands the connection to a
/// pair of ``EgressSpliceHandler``s — or answers `4xx`/`5xx` and closes.
///
/// Everything after the verdict happens on the connection's event loop, and the upstream
/// connection is made on the same loop, so both pipelines can be changed synchronously.
final class EgressHandshakeHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// The largest request head read; our clients send well under 1 KiB.
    static let maximumHeadSize = 8 << 10

    private enum State {
        case reading
        case opening(EgressTarget)
        case done
    }

    private let gate: EgressGate
    private var state = State.reading
    private var received: ByteBuffer?
    private var deadline = NIODeadline.now()
    private var timeout: Scheduled<Void>?

    init(gate: EgressGate) {
        self.gate = gate
    }

    func handlerAdded(context: ChannelHandlerContext) {
        deadline = .now() + TimeAmount(gate.configuration.handshakeTimeout)
        timeout = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            var target = "?"
            if case .opening(let opening) = state { target = opening.description }
            fail(context, "504 Gateway Timeout", .unreachable, "the lookup or the connect took too long", target: target)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timeout?.cancel()
        timeout = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if received == nil { received = bytes } else { received!.writeBuffer(&bytes) }
        guard case .reading = state, let buffer = received else { return }  // kept for the tunnel
        let view = buffer.readableBytesView
        guard let end = Self.endOfHead(view) else {
            if view.count > Self.maximumHeadSize { reject(context, "431 Request Header Fields Too Large", "the request head is too large") }
            return
        }
        let head = String(decoding: view[view.startIndex..<end], as: UTF8.self)
        received!.moveReaderIndex(forwardBy: end - view.startIndex + 4)
        let lines = head.split(separator: "\r\n", omittingEmptySubsequences: false)
        let requestLine = lines.first?.split(separator: " ", omittingEmptySubsequences: false) ?? []
        guard requestLine.count == 3, requestLine[0] == "CONNECT", requestLine[2].hasPrefix("HTTP/1."),
            let target = EgressTarget(authority: String(requestLine[1]))
        else {
            reject(context, "400 Bad Request", "not a CONNECT request for host:port")
            return
        }
        let authorization = lines.dropFirst().first { line in
            line.prefix { $0 != ":" }.trimmingSpaces.lowercased() == "proxy-authorization"
        }.map { $0.drop { $0 != ":" }.dropFirst().trimmingSpaces }
        guard authorization == gate.authorization.headerValue[...] else {
            reject(context, "407 Proxy Authentication Required", "a CONNECT without the gate's token")
            return
        }
        state = .opening(target)
        let gate = self.gate
        context.eventLoop.makeFutureWithTask { await gate.verdict(for: target) }
            .assumeIsolated().whenComplete { [self] result in
                guard case .opening = state, context.channel.isActive else { return }
                switch result {
                case .success(.admitted(let addresses)):
                    connect(context, target, addresses[...])
                case .success(.refused(let address, let scope)):
                    fail(
                        context, "403 Forbidden", .refused,
                        "\(target.host) resolves to \(address.ipAddress ?? "?"), a \(scope.rawValue) address; private egress is not allowed",
                        target: target.description)
                case .success(.unresolved), .failure:
                    fail(context, "502 Bad Gateway", .unreachable, "the host has no address", target: target.description)
                }
            }
    }

    func channelInactive(context: ChannelHandlerContext) {
        state = .done
        timeout?.cancel()
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // The handshake has its own timeout; the idle one is for tunnels.
        if event is IdleStateHandler.IdleStateEvent { return }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        state = .done
        context.close(promise: nil)
    }

    /// Connects to the first of `addresses`, falling back to the next when it fails.
    private func connect(_ context: ChannelHandlerContext, _ target: EgressTarget, _ addresses: ArraySlice<SocketAddress>) {
        guard let address = addresses.first else {
            fail(context, "502 Bad Gateway", .unreachable, "no address of the host accepted a connection", target: target.description)
            return
        }
        let remaining = deadline - .now()
        guard remaining > .zero else { return }  // the timeout answers
        ClientBootstrap(group: context.eventLoop)
            .connectTimeout(remaining)
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .connect(to: address)
            .assumeIsolated().whenComplete { [self] result in
                switch result {
                case .success(let upstream):
                    splice(context, upstream, target: target, address: address)
                case .failure(let error):
                    gate.logger.debug(
                        "egress connect failed",
                        metadata: ["egress.target": "\(target)", "egress.address": "\(address.ipAddress ?? "?")", "error": "\(error)"])
                    guard case .opening = state, context.channel.isActive else { return }
                    connect(context, target, addresses.dropFirst())
                }
            }
    }

    /// Answers `200` and joins the two connections; from here on bytes pass unread.
    private func splice(_ context: ChannelHandlerContext, _ upstream: any Channel, target: EgressTarget, address: SocketAddress) {
        guard case .opening = state, context.channel.isActive, upstream.isActive else {
            upstream.close(promise: nil)
            return
        }
        state = .done
        timeout?.cancel()
        let (local, remote) = EgressSpliceHandler.matchedPair()
        do {
            try upstream.pipeline.syncOperations.addHandler(remote)
            try context.pipeline.syncOperations.addHandler(local)  // last: after this handler
        } catch {
            upstream.close(promise: nil)
            context.close(promise: nil)
            return
        }
        gate.record(.opened)
        gate.logger.debug("egress tunnel opened", metadata: ["egress.target": "\(target)", "egress.address": "\(address.ipAddress ?? "?")"])
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: "HTTP/1.1 200 Connection Established\r\n\r\n")), promise: nil)
        if let rest = received, rest.readableBytes > 0 { context.fireChannelRead(NIOAny(rest)) }
        received = nil
        context.pipeline.syncOperations.removeHandler(self, promise: nil)
    }

    /// Refuses a request that is not one the gate's own clients send.
    private func reject(_ context: ChannelHandlerContext, _ status: String, _ reason: String) {
        fail(context, status, .rejected, reason, target: "?")
    }

    /// Answers `status` with no body, logs `reason`, and closes.
    private func fail(_ context: ChannelHandlerContext, _ status: String, _ outcome: EgressGate.Outcome, _ reason: String, target: String) {
        if case .done = state { return }
        state = .done
        timeout?.cancel()
        gate.record(outcome)
        let metadata: Logger.Metadata = ["egress.target": "\(target)", "egress.reason": "\(reason)"]
        switch outcome {
        case .refused, .rejected: gate.logger.warning("egress refused", metadata: metadata)
        case .unreachable, .opened: gate.logger.info("egress target unreachable", metadata: metadata)
        }
        context.writeAndFlush(
            wrapOutboundOut(ByteBuffer(string: "HTTP/1.1 \(status)\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")), promise: nil)
        context.close(promise: nil)
    }

    /// The index of the `\r\n\r\n` that ends a request head, if it arrived.
    static func endOfHead(_ bytes: ByteBufferView) -> Int? {
        guard bytes.count >= 4 else { return nil }
        var index = bytes.startIndex
        while index + 3 < bytes.endIndex {
            if bytes[index] == 13, bytes[index + 1] == 10, bytes[index + 2] == 13, bytes[index + 3] == 10 { return index }
            index += 1
        }
        return nil
    }
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        var text = self
        while let first = text.first, first == " " || first == "\t" { text = text.dropFirst() }
        while let last = text.last, last == " " || last == "\t" { text = text.dropLast() }
        return text
    }
}
