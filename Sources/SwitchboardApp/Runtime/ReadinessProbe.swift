import AsyncHTTPClient
import NIOCore
import NIOHTTP1

/// Asks a server on this machine whether it is ready (`GET /ready`), for `switchboard
/// health`: a container's HEALTHCHECK runs the binary itself, since the runtime image has no
/// curl and its `/bin/sh` (dash) has no `/dev/tcp`.
///
/// The request goes to our own process on loopback, never to an address a tenant chose, so
/// it does not pass through the egress gate.
public enum ReadinessProbe {
    /// True when `http://host:port/ready` answers 200 within `timeout`.
    public static func isReady(host: String = "127.0.0.1", port: Int, timeout: Duration = .seconds(3)) async -> Bool {
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let ready: Bool
        do {
            let response = try await client.execute(HTTPClientRequest(url: "http://\(host):\(port)/ready"), timeout: TimeAmount(timeout))
            ready = response.status == .ok
        } catch {
            ready = false
        }
        try? await client.shutdown()
        return ready
    }
}
