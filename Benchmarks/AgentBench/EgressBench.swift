import AsyncHTTPClient
import Logging
import NIOCore
import NIOHTTP1
import SwitchboardEgress
import SwitchboardProviders

// MARK: (c) the egress gate

/// What the egress gate adds to a provider call: `requests` sequential POSTs to a loopback
/// OpenAI-style fake through ``AsyncHTTPProviderTransport`` (its client tunnels through the
/// gate), and the same POSTs from an AsyncHTTPClient that connects directly. Each client
/// keeps its connection alive, as in production; a first call of each pays the connect
/// (and, through the gate, the lookup and the tunnel), reported apart.
struct EgressBench {
    var requests: Int

    func run() async throws {
        try await withFakeBehindGate { port, gate, transport in
            let direct = HTTPClient(
                eventLoopGroupProvider: .singleton, configuration: HTTPClient.Configuration(redirectConfiguration: .disallow))
            let url = "http://127.0.0.1:\(port)/v1/chat/completions"
            let body = Array(#"{"model":"bench-model","messages":[{"role":"user","content":"Здравствуйте!"}],"max_tokens":64}"#.utf8)
            let throughGate: @Sendable () async throws -> Void = {
                let response = try await transport.send(
                    ProviderHTTPRequest(url: url, headers: [("content-type", "application/json")], body: body), timeout: .seconds(10))
                guard response.status == 200 else { throw ModelProviderError(.server, "status \(response.status)") }
            }
            let directly: @Sendable () async throws -> Void = {
                var request = HTTPClientRequest(url: url)
                request.method = .POST
                request.headers.add(name: "content-type", value: "application/json")
                request.body = .bytes(ByteBuffer(bytes: body))
                let response = try await direct.execute(request, timeout: .seconds(10))
                _ = try await response.body.collect(upTo: 1 << 20)
                guard response.status == .ok else { throw ModelProviderError(.server, "status \(response.status)") }
            }
            let clock = ContinuousClock()
            for (name, call) in [("direct", directly), ("through the gate", throughGate)] {
                let began = clock.now
                try await call()
                print("first call (connect) \(name): \(format(milliseconds(clock.now - began))) ms")
            }
            print("| path | requests | mean (ms) | p50 (ms) | p99 (ms) |")
            print("|---|---|---|---|---|")
            var means: [String: Double] = [:]
            var p50s: [String: Double] = [:]
            // Interleaved rounds, so drift in the machine's load falls on both paths alike.
            var samples: [String: [Double]] = [:]
            for _ in 0..<5 {
                for (name, call) in [("direct", directly), ("through the gate", throughGate)] {
                    for _ in 0..<(requests / 5) {
                        let began = clock.now
                        try await call()
                        samples[name, default: []].append(milliseconds(clock.now - began))
                    }
                }
            }
            for name in ["direct", "through the gate"] {
                let sorted = samples[name]!.sorted()
                let mean = sorted.reduce(0, +) / Double(sorted.count)
                means[name] = mean
                p50s[name] = percentile(sorted, 0.5)
                print("| \(name) | \(sorted.count) | \(format(mean)) | \(format(percentile(sorted, 0.5))) | \(format(percentile(sorted, 0.99))) |")
            }
            print("gate overhead per call: mean \(format(means["through the gate"]! - means["direct"]!)) ms, p50 \(format(p50s["through the gate"]! - p50s["direct"]!)) ms")
            print("gate: \(gate.statistics)")
            try await direct.shutdown()
        }
    }
}
