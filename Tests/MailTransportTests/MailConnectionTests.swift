import MailServerTesting
import MailTransport
import NIOCore
import NIOPosix
import NIOSSL
import Testing

@Suite("Mail connections")
struct MailConnectionTests {
    func options(proxy: MailProxy? = nil) async throws -> MailTransportOptions {
        let endpoints = try await TestMailServers.shared.endpoints()
        var options = MailTransportOptions(proxy: proxy, trustRoots: .file(endpoints.caFile))
        options.connectTimeout = .seconds(5)
        options.readTimeout = .seconds(10)
        return options
    }

    func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    @Test("IMAPS is TLS from the first byte, verified against the test CA")
    func implicitTLS() async throws {
        let endpoints = try await TestMailServers.shared.endpoints()
        let connection = try await MailConnection.open(
            to: MailServer(host: endpoints.host, port: endpoints.imapsPort, security: .tls), options: try await options()
        )
        #expect(connection.isTLS)
        #expect(text(try await connection.readLine()).hasPrefix("* OK"))
        try await connection.send(Array("a1 NOOP\r\n".utf8))
        #expect(text(try await connection.readLine()).hasPrefix("a1 OK"))
        await connection.close()
    }

    @Test("STARTTLS upgrades the plaintext IMAP connection in place")
    func startTLS() async throws {
        let endpoints = try await TestMailServers.shared.endpoints()
        let mailbox = try await TestMailServers.shared.makeMailbox(prefix: "starttls")
        let connection = try await MailConnection.open(
            to: MailServer(host: endpoints.host, port: endpoints.imapPort, security: .starttls), options: try await options()
        )
        #expect(!connection.isTLS)
        #expect(text(try await connection.readLine()).hasPrefix("* OK"))
        try await connection.send(Array("a1 STARTTLS\r\n".utf8))
        #expect(text(try await connection.readLine()).hasPrefix("a1 OK"))
        try await connection.startTLS()
        #expect(connection.isTLS)
        try await connection.send(Array("a2 LOGIN \"\(mailbox.user)\" \"\(mailbox.password)\"\r\n".utf8))
        #expect(text(try await connection.readLine()).hasPrefix("a2 OK"))
        await connection.close()
    }

    @Test("a certificate from a CA not trusted fails as .tls")
    func untrustedCertificate() async throws {
        let endpoints = try await TestMailServers.shared.endpoints()
        var options = try await options()
        options.trustRoots = .default  // the system's roots: the throwaway CA is not among them
        let error = await #expect(throws: MailTransportError.self) {
            _ = try await MailConnection.open(
                to: MailServer(host: endpoints.host, port: endpoints.imapsPort, security: .tls), options: options
            )
        }
        #expect(error?.kind == .tls)
    }

    @Test("implicit TLS to a plaintext port fails cleanly, not hangs")
    func tlsToPlaintextPort() async throws {
        let endpoints = try await TestMailServers.shared.endpoints()
        let error = await #expect(throws: MailTransportError.self) {
            _ = try await MailConnection.open(
                to: MailServer(host: endpoints.host, port: endpoints.imapPort, security: .tls), options: try await options()
            )
        }
        #expect(error?.kind == .tls)
    }

    @Test("a port nothing listens on is .unreachable")
    func closedPort() async throws {
        // Bind, note the port, close: nothing listens there now.
        let server = try await LoopbackServer.start(sending: [])
        let port = server.port
        await server.stop()
        let error = await #expect(throws: MailTransportError.self) {
            _ = try await MailConnection.open(
                to: MailServer(host: "127.0.0.1", port: port, security: .starttls), options: try await options()
            )
        }
        #expect(error?.kind == .unreachable)
    }

    @Test("a host name that could smuggle a header into the CONNECT is refused before connecting")
    func hostileHostName() async throws {
        let error = await #expect(throws: MailTransportError.self) {
            _ = try await MailConnection.open(
                to: MailServer(host: "imap.example.com\r\nX-Evil: 1", port: 993, security: .tls),
                options: try await options(proxy: MailProxy(host: "127.0.0.1", port: 9))
            )
        }
        #expect(error?.kind == .unreachable)
    }

    @Test("through a CONNECT proxy, TLS is end to end with the mail server")
    func throughProxyTLS() async throws {
        let endpoints = try await TestMailServers.shared.endpoints()
        let proxy = try await ConnectProxy.start()
        defer { Task { await proxy.stop() } }
        let connection = try await MailConnection.open(
            to: MailServer(host: endpoints.host, port: endpoints.imapsPort, security: .tls),
            options: try await options(proxy: MailProxy(host: "127.0.0.1", port: proxy.port))
        )
        #expect(connection.isTLS)
        #expect(text(try await connection.readLine()).hasPrefix("* OK"))
        #expect(proxy.requestLines == ["CONNECT \(endpoints.host):\(endpoints.imapsPort) HTTP/1.1"])
        await connection.close()
    }

    @Test("through a CONNECT proxy, a greeting right behind the proxy's 200 is not lost")
    func throughProxyStartTLS() async throws {
        let endpoints = try await TestMailServers.shared.endpoints()
        let proxy = try await ConnectProxy.start(coalescing: true)
        defer { Task { await proxy.stop() } }
        let connection = try await MailConnection.open(
            to: MailServer(host: endpoints.host, port: endpoints.imapPort, security: .starttls),
            options: try await options(proxy: MailProxy(host: "127.0.0.1", port: proxy.port))
        )
        #expect(text(try await connection.readLine()).hasPrefix("* OK"))
        try await connection.send(Array("a1 STARTTLS\r\n".utf8))
        #expect(text(try await connection.readLine()).hasPrefix("a1 OK"))
        try await connection.startTLS()
        try await connection.send(Array("a2 NOOP\r\n".utf8))
        #expect(text(try await connection.readLine()).hasPrefix("a2 OK"))
        await connection.close()
    }

    @Test("a proxy that answers 403 is .proxyRefused")
    func proxyRefuses() async throws {
        let endpoints = try await TestMailServers.shared.endpoints()
        let proxy = try await ConnectProxy.start(refusing: true)
        defer { Task { await proxy.stop() } }
        let error = await #expect(throws: MailTransportError.self) {
            _ = try await MailConnection.open(
                to: MailServer(host: endpoints.host, port: endpoints.imapsPort, security: .tls),
                options: try await options(proxy: MailProxy(host: "127.0.0.1", port: proxy.port))
            )
        }
        #expect(error?.kind == .proxyRefused)
        #expect(proxy.requestLines.count == 1)
    }

    @Test("a line at the limit is read; one byte over is .lineTooLong")
    func lineLimit() async throws {
        let limit = 1024
        let atLimit = [UInt8](repeating: UInt8(ascii: "a"), count: limit)
        let overLimit = [UInt8](repeating: UInt8(ascii: "b"), count: limit + 1)
        let server = try await LoopbackServer.start(sending: atLimit + Array("\r\n".utf8) + overLimit + Array("\r\n".utf8))
        defer { Task { await server.stop() } }
        var options = MailTransportOptions()
        options.maximumLineBytes = limit
        let connection = try await MailConnection.open(
            to: MailServer(host: "127.0.0.1", port: server.port, security: .starttls), options: options
        )
        #expect(try await connection.readLine() == atLimit)
        let error = await #expect(throws: MailTransportError.self) { _ = try await connection.readLine() }
        #expect(error?.kind == .lineTooLong)
    }

    @Test("an endless line without a line end is refused, not buffered")
    func endlessLine() async throws {
        let server = try await LoopbackServer.start(sending: [UInt8](repeating: UInt8(ascii: "x"), count: 1_000_000))
        defer { Task { await server.stop() } }
        var options = MailTransportOptions()
        options.maximumLineBytes = 4096
        let connection = try await MailConnection.open(
            to: MailServer(host: "127.0.0.1", port: server.port, security: .starttls), options: options
        )
        let error = await #expect(throws: MailTransportError.self) { _ = try await connection.readLine() }
        #expect(error?.kind == .lineTooLong)
    }

    @Test("a bare LF ends a line as CRLF does")
    func bareLineFeed() async throws {
        let server = try await LoopbackServer.start(sending: Array("one\ntwo\r\n\r\nthree\r".utf8), thenClose: true)
        defer { Task { await server.stop() } }
        let connection = try await MailConnection.open(
            to: MailServer(host: "127.0.0.1", port: server.port, security: .starttls), options: MailTransportOptions()
        )
        #expect(text(try await connection.readLine()) == "one")
        #expect(text(try await connection.readLine()) == "two")
        #expect(text(try await connection.readLine()) == "")
        // A half line, then the server hangs up: the caller learns the connection closed.
        let error = await #expect(throws: MailTransportError.self) { _ = try await connection.readLine() }
        #expect(error?.kind == .closed)
    }

    @Test("a 20 MB literal is read whole by readExactly, and the lines after it still parse")
    func largeLiteral() async throws {
        let size = 20 * 1024 * 1024
        var literal = [UInt8](repeating: 0, count: size)
        for index in stride(from: 0, to: size, by: 4096) { literal[index] = UInt8(truncatingIfNeeded: index / 4096) }
        let server = try await LoopbackServer.start(sending: Array("* 1 FETCH (BODY[] {\(size)}\r\n".utf8) + literal + Array(")\r\na1 OK\r\n".utf8))
        defer { Task { await server.stop() } }
        let connection = try await MailConnection.open(
            to: MailServer(host: "127.0.0.1", port: server.port, security: .starttls), options: MailTransportOptions()
        )
        #expect(text(try await connection.readLine()) == "* 1 FETCH (BODY[] {\(size)}")
        let read = try await connection.readExactly(size, timeout: .seconds(30))
        #expect(read.count == size)
        #expect(read == literal)
        #expect(text(try await connection.readLine()) == ")")
        #expect(text(try await connection.readLine()) == "a1 OK")
    }

    @Test("a server that says nothing makes the read time out")
    func readTimeout() async throws {
        let server = try await LoopbackServer.start(sending: [])
        defer { Task { await server.stop() } }
        let connection = try await MailConnection.open(
            to: MailServer(host: "127.0.0.1", port: server.port, security: .starttls), options: MailTransportOptions()
        )
        let error = await #expect(throws: MailTransportError.self) {
            _ = try await connection.readLine(timeout: .milliseconds(200))
        }
        #expect(error?.kind == .timeout)
    }

    @Test("plaintext slipped in behind the STARTTLS go-ahead is refused as .tls")
    func startTLSInjection() async throws {
        let server = try await LoopbackServer.start(sending: Array("a1 OK Begin TLS\r\n* OK injected\r\n".utf8))
        defer { Task { await server.stop() } }
        let connection = try await MailConnection.open(
            to: MailServer(host: "127.0.0.1", port: server.port, security: .starttls), options: MailTransportOptions()
        )
        #expect(text(try await connection.readLine()) == "a1 OK Begin TLS")
        // Both lines came in one packet, so the injected one is buffered by now; wait for it
        // to be there by reading nothing else first (the server sent both in one write).
        let error = await #expect(throws: MailTransportError.self) { try await connection.startTLS() }
        #expect(error?.kind == .tls)
        #expect(!connection.isTLS)
    }
}
