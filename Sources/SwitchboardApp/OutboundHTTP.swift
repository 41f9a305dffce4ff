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

/// Outbound HTTP for connectors, on AsyncHTTPClient: one shared client with timeouts, no
/// redirects (a redirect must not carry a request to an address the egress policy
/// refuses), and bodies read up to 4 MiB. A Service, so it shuts down with the app.
///
/// `timeout` bounds the whole exchange — connecting, the head and every byte of the body:
/// a server that sends its headers and then one byte every few seconds is cut off at the
/// deadline like one that never answers.
public final class AsyncHTTPOutboundClient: OutboundHTTPClient, Service {
    let client: HTTPClient
    let timeout: Duration

    public init(timeout: Duration = .seconds(15)) {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        configuration.timeout = .init(connect: min(.seconds(5), TimeAmount(timeout)), read: TimeAmount(timeout))
        self.client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        self.timeout = timeout
    }

    public func execute(_ request: HTTPRequest, body: [UInt8]?) async throws -> (HTTPResponse, [UInt8]) {
        guard let scheme = request.scheme, let authority = request.authority else {
            throw ConnectorError(.sendFailed, "an outbound request needs an absolute URL")
        }
        var outbound = HTTPClientRequest(url: "\(scheme)://\(authority)\(request.path ?? "/")")
        outbound.method = .init(rawValue: request.method.rawValue)
        for field in request.headerFields { outbound.headers.add(name: field.name.rawName, value: field.value) }
        if let body { outbound.body = .bytes(ByteBuffer(bytes: body)) }
        let deadline = ContinuousClock.now + timeout
        let client = self.client, request = outbound
        let (response, bytes) = try await DeadlineWatch.shared.run(until: deadline, timeout: { OutboundDeadlineExceeded() }) {
            let response = try await client.execute(request, deadline: .now() + TimeAmount(deadline - ContinuousClock.now))
            return (response, try await response.body.collect(upTo: 4 << 20))
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
