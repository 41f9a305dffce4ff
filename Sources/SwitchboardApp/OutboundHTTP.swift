import AsyncHTTPClient
public import ConnectorKit
import Foundation
public import HTTPTypes
import Logging
import NIOCore
import NIOHTTP1
import SwitchboardProviders
public import ServiceLifecycle

/// Outbound HTTP for connectors, on AsyncHTTPClient: one shared client with timeouts, no
/// redirects (a redirect must not carry a request to an address the egress policy
/// refuses), and bodies read up to 4 MiB. A Service, so it shuts down with the app.
public final class AsyncHTTPOutboundClient: OutboundHTTPClient, Service {
    let client: HTTPClient
    let timeout: TimeAmount

    public init(timeout: Duration = .seconds(15)) {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        configuration.timeout = .init(connect: .seconds(5), read: .seconds(Int64(timeout.components.seconds)))
        self.client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        self.timeout = .seconds(Int64(timeout.components.seconds))
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
        let response = try await client.execute(outbound, timeout: timeout)
        var fields = HTTPFields()
        for header in response.headers {
            if let name = HTTPField.Name(header.name) { fields.append(HTTPField(name: name, value: header.value)) }
        }
        let bytes = try await response.body.collect(upTo: max(maximumResponseBytes, 0))
        return (HTTPResponse(status: .init(code: Int(response.status.code)), headerFields: fields), Array(bytes.readableBytesView))
    }

    public func run() async throws {
        try? await gracefulShutdown()
        try await client.shutdown()
    }
}

/// The model providers' transport as a Service, so its HTTP client shuts down with the
/// app (the providers module stays free of ServiceLifecycle).
struct ProviderTransportService: Service {
    let transport: AsyncHTTPProviderTransport

    func run() async throws {
        try? await gracefulShutdown()
        try await transport.shutdown()
    }
}
