import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
public import SwitchboardEgress

/// Provider calls over AsyncHTTPClient: its own client, out through the ``EgressGate``, no
/// redirects (a redirect must not carry a request, with its key, somewhere else), a
/// deadline per call, and bodies collected up to ``maximumBodySize``.
///
/// The gate resolves the URL's host and connects only to an address its rules admit (unless
/// private egress is allowed, every address must be public; see ``AddressScope``). A
/// refused host, one that does not resolve and one that does not accept the connection all
/// fail the same way, `.network` "could not connect": the gate logs which it was, and a
/// tenant's provider record cannot be used to map ports.
///
/// Call ``shutdown()`` when done, before the gate's (the App does it from a Service on
/// graceful shutdown): AsyncHTTPClient requires its clients to be shut down.
public final class AsyncHTTPProviderTransport: ProviderTransport {
    /// The largest answer `send` collects (8 MiB); a larger one is `.malformedResponse`.
    public static let maximumBodySize = 8 << 20

    let client: HTTPClient

    public init(gate: EgressGate, connectTimeout: Duration = .seconds(5)) {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: TimeAmount(connectTimeout))
        // The gate's clients fail a refused connection at once: the router retries with
        // backoff and falls back, where the pool's own retries would hold the call until
        // the connect timeout.
        self.client = gate.makeHTTPClient(configuration)
    }

    public func send(_ request: ProviderHTTPRequest, timeout: Duration) async throws -> ProviderHTTPResponse {
        let deadline = ContinuousClock.now + timeout
        let host = try Self.host(of: request.url)
        do {
            return try await withDeadline(deadline, timeoutMessage: "no answer from \(host) within \(timeout)") {
                let response = try await self.execute(request, host: host, deadline: deadline)
                let body = try await response.body.collect(upTo: Self.maximumBodySize)
                return ProviderHTTPResponse(head: Self.head(of: response), body: Array(body.readableBytesView))
            }
        } catch {
            throw Self.providerError(error, host: host)
        }
    }

    public func stream(
        _ request: ProviderHTTPRequest, timeout: Duration
    ) async throws -> (ProviderHTTPResponseHead, AsyncThrowingStream<[UInt8], any Error>) {
        let deadline = ContinuousClock.now + timeout
        let host = try Self.host(of: request.url)
        let response: HTTPClientResponse
        do {
            response = try await withDeadline(deadline, timeoutMessage: "no answer from \(host) within \(timeout)") {
                try await self.execute(request, host: host, deadline: deadline)
            }
        } catch {
            throw Self.providerError(error, host: host)
        }
        let body = response.body
        let (stream, continuation) = AsyncThrowingStream<[UInt8], any Error>.makeStream()
        let pump = Task {
            do {
                try await withDeadline(deadline, timeoutMessage: "the answer from \(host) took over \(timeout)") {
                    for try await buffer in body { continuation.yield(Array(buffer.readableBytesView)) }
                }
                continuation.finish()
            } catch {
                continuation.finish(throwing: Self.providerError(error, host: host))
            }
        }
        continuation.onTermination = { _ in pump.cancel() }
        return (Self.head(of: response), stream)
    }

    /// Shuts the client down; the transport cannot be used afterwards.
    public func shutdown() async throws {
        try await client.shutdown()
    }

    func execute(_ request: ProviderHTTPRequest, host: String, deadline: ContinuousClock.Instant) async throws
        -> HTTPClientResponse
    {
        var outbound = HTTPClientRequest(url: request.url)
        outbound.method = HTTPMethod(rawValue: request.method)
        for (name, value) in request.headers { outbound.headers.add(name: name, value: value) }
        outbound.body = .bytes(ByteBuffer(bytes: request.body))
        let remaining = deadline - ContinuousClock.now
        return try await client.execute(outbound, deadline: .now() + TimeAmount(max(remaining, .zero)))
    }

    static func host(of url: String) throws(ModelProviderError) -> String {
        guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = parsed.host?.lowercased(), !host.isEmpty
        else {
            throw ModelProviderError(.badRequest, "the provider URL is not an absolute http or https URL")
        }
        return host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
    }

    static func head(of response: HTTPClientResponse) -> ProviderHTTPResponseHead {
        ProviderHTTPResponseHead(
            status: Int(response.status.code), headers: response.headers.map { (name: $0.name, value: $0.value) })
    }

    /// Any failure as the provider error it stands for. Underlying texts are cut short: they
    /// name hosts and addresses, never keys (keys travel in headers, which no error quotes).
    static func providerError(_ error: any Error, host: String) -> ModelProviderError {
        switch error {
        case let error as ModelProviderError:
            return error
        case let error as HTTPClientError:
            switch error {
            case .deadlineExceeded, .readTimeout, .writeTimeout, .connectTimeout, .tlsHandshakeTimeout,
                .getConnectionFromPoolTimeout:
                return ModelProviderError(.timeout, "\(host) did not answer in time (\(error))")
            case .cancelled:
                return ModelProviderError(.network, "the call to \(host) was cancelled")
            case .invalidProxyResponse, .httpProxyHandshakeTimeout, .proxyAuthenticationRequired, .connectTimeout:
                // The gate refused the target, found no address, or could not connect: one
                // text for all (the gate's log says which).
                return ModelProviderError(.network, "could not connect to \(host)")
            default:
                return ModelProviderError(.network, "the connection to \(host) failed (\(error))")
            }
        case is NIOTooManyBytesError:
            return ModelProviderError(.malformedResponse, "\(host) answered with more than 8 MiB")
        case is CancellationError:
            return ModelProviderError(.network, "the call to \(host) was cancelled")
        default:
            return ModelProviderError(.network, "could not reach \(host): \(String(describing: error).prefix(160))")
        }
    }
}
