import AsyncHTTPClient
public import ConnectorKit
import Foundation
public import HTTPTypes
import Logging
import NIOCore
import NIOHTTP1
import SwitchboardCore
import SwitchboardProviders
public import ServiceLifecycle
public import SwitchboardEgress

/// Outbound HTTP for connectors, on AsyncHTTPClient: one shared client out through the
/// ``EgressGate`` (so a tenant's `callback_url` reaches only what the egress rules admit,
/// checked on the address connected to), with timeouts, no redirects, and bodies read up
/// to 4 MiB unless a caller asks for more (media). A Service, so it shuts down with the app
/// (before the gate).
///
/// `timeout` bounds the whole exchange — connecting, the head and every byte of the body:
/// a server that sends its headers and then one byte every few seconds is cut off at the
/// deadline like one that never answers.
///
/// A connection the gate refuses fails like any other that could not be made; connectors
/// report all of them with one text ("could not reach …"), never the underlying reason.
public final class AsyncHTTPOutboundClient: OutboundHTTPClient, Service {
    let client: HTTPClient
    let timeout: Duration

    public init(gate: EgressGate, timeout: Duration = .seconds(15)) {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: min(.seconds(5), TimeAmount(timeout)), read: TimeAmount(timeout))
        // Tenants' callback hosts are many and each kept connection holds a tunnel of the
        // gate's: keep them briefly.
        configuration.connectionPool.idleTimeout = .seconds(10)
        self.client = gate.makeHTTPClient(configuration)
        self.timeout = timeout
    }

    public func execute(_ request: HTTPRequest, body: [UInt8]?) async throws -> (HTTPResponse, [UInt8]) {
        try await execute(request, body: body, maximumResponseBytes: 4 << 20)
    }

    /// Media downloads read up to the platform's file limit (Telegram 20 MB, WhatsApp 16 MB).
    public func execute(_ request: HTTPRequest, body: [UInt8]?, maximumResponseBytes: Int) async throws -> (HTTPResponse, [UInt8]) {
        guard let scheme = request.scheme, let authority = request.authority else {
            throw ConnectorError(.sendFailed, "an outbound request needs an absolute URL")
        }
        var outbound = HTTPClientRequest(url: "\(scheme)://\(authority)\(request.path ?? "/")")
        outbound.method = .init(rawValue: request.method.rawValue)
        for field in request.headerFields { outbound.headers.add(name: field.name.rawName, value: field.value) }
        if let body { outbound.body = .bytes(ByteBuffer(bytes: body)) }
        let deadline = ContinuousClock.now + timeout
        let client = self.client, request = outbound, limit = max(maximumResponseBytes, 0)
        let (response, bytes) = try await DeadlineWatch.shared.run(until: deadline, timeout: { OutboundDeadlineExceeded() }) {
            let response = try await client.execute(request, deadline: .now() + TimeAmount(deadline - ContinuousClock.now))
            return (response, try await response.body.collect(upTo: limit))
        }
        var fields = HTTPFields()
        for header in response.headers {
            if let name = HTTPField.Name(header.name) { fields.append(HTTPField(name: name, value: header.value)) }
        }
        return (HTTPResponse(status: .init(code: Int(response.status.code)), headerFields: fields), Array(bytes.readableBytesView))
    }

    public func run() async throws {
        try? await gracefulShutdown()
        try await client.shutdown()
    }

    /// Shuts the client down, for a client used outside the application's services.
    public func shutdown() async throws {
        try await client.shutdown()
    }
}

/// An outbound exchange passed its deadline (head or body).
struct OutboundDeadlineExceeded: Error, Sendable {}

/// The model providers' transport as a Service, so its HTTP client shuts down with the
/// app (the providers module stays free of ServiceLifecycle).
struct ProviderTransportService: Service {
    let transport: AsyncHTTPProviderTransport

    func run() async throws {
        try? await gracefulShutdown()
        try await transport.shutdown()
    }
}
