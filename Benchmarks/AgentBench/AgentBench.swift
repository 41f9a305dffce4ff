// The agent benchmarks of issue #4, run by Benchmarks/bench-agents.sh on a release build.
//
//   switchboard-bench router [--requests N]
//       The model router's added latency and throughput against a loopback OpenAI-style
//       server that answers at once, next to calling that server directly (one HTTP POST
//       through the same transport), at 1 and at 32 concurrent callers.
//
//   switchboard-bench egress [--requests 500]
//       The egress gate's cost: sequential provider calls (one POST through
//       AsyncHTTPProviderTransport, which goes out through the gate) against a loopback
//       OpenAI-style server, next to the same POST from a client that connects directly.
//
//   switchboard-bench ledger [--connections 32] [--duration 10] [--tenants 100]
//       Charges per second (issue #5): see LedgerBench.swift.
//
//   switchboard-bench email --imaps-port N --submission-port N --smtp-port N --ca FILE [--count 10000] [--rate 50] [--duration 20]
//       Fetch and ingest of a Dovecot mailbox (issue 17): see EmailBench.swift.
//
//   switchboard-bench inbox [--runs 500] [--conversations 100000] [--messages-per 20] [--subscribers 200] [--rate 100] [--duration 20]
//       The inbox read model and its live events (issue 20): see InboxBench.swift.
//
//   switchboard-bench e2e --server URL --admin TOKEN --fake-port P [--rate 500] [--duration 20] [--warmup 5] [--after-warmup CMD]
//       Delivery-to-send latency: serves a loopback OpenAI-style model and Telegram Bot API
//       on `fake-port` (the server under test is started with its Telegram base there),
//       sets up a tenant, provider, agent and Telegram channel over the API, posts signed
//       deliveries at a fixed rate, and times each one from its POST to the sendMessage that
//       carries its answer.
import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import ServiceLifecycle
import SwitchboardApp
import SwitchboardCore
import SwitchboardEgress
import SwitchboardProviders
import Synchronization

@main
struct AgentBench {
    static func main() async throws {
        // The load generator, its fakes and the router runs share the server's executor
        // (SWITCHBOARD_EVENT_LOOP_EXECUTOR): the router is measured as it runs in `serve`.
        if (try? AppConfiguration.fromEnvironment())?.eventLoopExecutor ?? true { _ = EventLoopExecutor.takeOver() }
        let arguments = Array(CommandLine.arguments.dropFirst())
        func option(_ name: String, _ fallback: String) -> String {
            guard let index = arguments.firstIndex(of: "--\(name)"), index + 1 < arguments.count else { return fallback }
            return arguments[index + 1]
        }
        switch arguments.first {
        case "router":
            try await RouterBench(requests: Int(option("requests", "20000"))!).run()
        case "egress":
            try await EgressBench(requests: Int(option("requests", "500"))!).run()
        case "ledger":
            try await LedgerBench(
                connections: Int(option("connections", "32"))!, duration: .seconds(Int(option("duration", "10"))!),
                tenantCount: Int(option("tenants", "100"))!
            ).run()
        case "email":
            try await EmailBench(
                address: option("address", "shop@switchboard.test"), password: option("password", "benchpass"),
                imapsPort: Int(option("imaps-port", "993"))!, submissionPort: Int(option("submission-port", "587"))!,
                smtpPort: Int(option("smtp-port", "25"))!, caFile: option("ca", ""), count: Int(option("count", "10000"))!,
                rate: Int(option("rate", "50"))!, duration: Int(option("duration", "20"))!,
                script: option("script", "Benchmarks/email-bench.py")
            ).run()
        case "inbox":
            try await InboxBench(
                runs: Int(option("runs", "500"))!, conversations: Int(option("conversations", "100000"))!,
                messagesPer: Int(option("messages-per", "20"))!, subscribers: Int(option("subscribers", "200"))!,
                rate: Int(option("rate", "100"))!, duration: Int(option("duration", "20"))!
            ).run()
        case "e2e":
            try await EndToEndBench(
                server: option("server", "http://127.0.0.1:18481"), admin: option("admin", "bench-admin-token"),
                fakePort: Int(option("fake-port", "18490"))!, rate: Int(option("rate", "500"))!,
                duration: Int(option("duration", "20"))!, warmup: Int(option("warmup", "5"))!,
                afterWarmup: arguments.firstIndex(of: "--after-warmup").map { arguments[$0 + 1] }
            ).run()
        default:
            print("usage: switchboard-bench router | egress [--requests N] | ledger [--connections N] [--duration S] [--tenants N] | email --imaps-port N --submission-port N --smtp-port N --ca FILE [--count N] [--rate N] [--duration S] | inbox [--runs N] [--conversations N] [--subscribers N] [--rate N] [--duration S] | e2e --server URL --admin TOKEN --fake-port P [--rate N] [--duration S] [--warmup S]")
        }
    }
}

// MARK: The loopback fakes

/// Answers Chat Completions at once ("reply to: <last user text>") and Telegram's
/// sendMessage, noting when each text was sent.
///
/// The fakes stand for services on other machines, yet here they share the two cores with
/// the server under test: each reads only the fields it needs (JSONDecoder into small
/// structs, not JSONSerialization's whole tree) and answers with bytes made up front.
final class Fakes: Sendable {
    let sent = Mutex<[String: ContinuousClock.Instant]>([:])

    struct ChatRequest: Decodable {
        struct Message: Decodable { var content: String? }
        var model: String?
        var messages: [Message]
    }

    struct SendMessage: Decodable { var text: String? }

    static let telegramAnswer = ByteBuffer(string: #"{"ok":true,"result":{"message_id":1,"date":1763900000,"chat":{"id":1,"type":"private"}}}"#)

    func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.post("/v1/chat/completions") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            let chat = try JSONDecoder().decode(ChatRequest.self, from: body)
            let answer = "reply to: \(chat.messages.last?.content ?? "")"
            // Two JSON strings, escaped by the encoder; the rest is fixed.
            let encoder = JSONEncoder()
            var bytes = ByteBuffer(string: #"{"id":"chatcmpl-bench","object":"chat.completion","created":1763900000,"model":"#)
            bytes.writeBytes(try encoder.encode(chat.model ?? "m"))
            bytes.writeString(#","choices":[{"index":0,"message":{"role":"assistant","content":"#)
            bytes.writeBytes(try encoder.encode(answer))
            bytes.writeString(#"},"finish_reason":"stop"}],"usage":{"prompt_tokens":20,"completion_tokens":5,"total_tokens":25}}"#)
            return Self.json(bytes)
        }
        router.post("/{bot}/{method}") { request, context -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            if context.parameters.get("method") == "sendMessage", let text = try JSONDecoder().decode(SendMessage.self, from: body).text {
                let now = ContinuousClock.now
                self.sent.withLock { $0[text] = now }
            }
            return Self.json(Self.telegramAnswer)
        }
        return router
    }

    static func json(_ bytes: ByteBuffer) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: bytes))
    }

    /// Serves on `port` (0: any) while `body` runs; `body` gets the bound port.
    func serve<Result: Sendable>(port: Int, _ body: @escaping @Sendable (Int) async throws -> Result) async throws -> Result {
        var logger = Logger(label: "bench-fakes")
        logger.logLevel = .error
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let app = Application(
            router: router(), configuration: .init(address: .hostname("127.0.0.1", port: port)),
            onServerRunning: { continuation.yield($0.localAddress?.port ?? 0) }, logger: logger
        )
        let group = ServiceGroup(services: [app], gracefulShutdownSignals: [], logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = ports.makeAsyncIterator()
            guard let bound = await iterator.next() else { throw CancellationError() }
            defer { Task { await group.triggerGracefulShutdown() } }
            return try await body(bound)
        }
    }
}

// MARK: Statistics

/// Shared counters and timestamps for the load's tasks.
final class Tally: Sendable {
    let next = Atomic<Int>(0)
    let failures = Atomic<Int>(0)
    let posted = Mutex<[String: ContinuousClock.Instant]>([:])
}

func percentile(_ sorted: [Double], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return .nan }
    return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
}

func milliseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
}

func format(_ value: Double) -> String { String(format: "%.3f", value) }

/// A loopback OpenAI-style fake and a provider transport out through an egress gate that
/// admits loopback, as the benches of the router and of the gate both need; both are shut
/// down after `body`.
func withFakeBehindGate(
    _ body: @escaping @Sendable (_ port: Int, _ gate: EgressGate, _ transport: AsyncHTTPProviderTransport) async throws -> Void
) async throws {
    try await Fakes().serve(port: 0) { port in
        let gate = EgressGate(.init(allowPrivate: true), logger: Logger(label: "bench-egress"))
        let transport = AsyncHTTPProviderTransport(gate: gate)
        do {
            try await body(port, gate, transport)
        } catch {
            try? await transport.shutdown()
            await gate.shutdown()
            throw error
        }
        try await transport.shutdown()
        await gate.shutdown()
    }
}

// MARK: (a) the router

struct RouterBench {
    var requests: Int

    func run() async throws {
        try await withFakeBehindGate { port, _, transport in
            let base = "http://127.0.0.1:\(port)/v1"
            let provider = makeModelProvider(ProviderEndpoint(kind: .openaiCompatible, baseURL: base), faq: [], transport: transport)
            let router = ModelRouter()
            let chain = [RouteTarget(providerID: "bench", provider: provider, model: "bench-model")]
            let request = ModelRequest(
                model: "bench-model", systemPrompt: "You are a benchmark.", messages: [ModelMessage(role: .user, text: "Здравствуйте!")],
                maxOutputTokens: 64
            )
            let body = Array(#"{"model":"bench-model","messages":[{"role":"system","content":"You are a benchmark."},{"role":"user","content":"Здравствуйте!"}],"max_tokens":64}"#.utf8)
            let direct: @Sendable () async throws -> Void = {
                let response = try await transport.send(
                    ProviderHTTPRequest(url: "\(base)/chat/completions", headers: [("content-type", "application/json")], body: body),
                    timeout: .seconds(10)
                )
                guard response.status == 200 else { throw ModelProviderError(.server, "status \(response.status)") }
            }
            let routed: @Sendable () async throws -> Void = { _ = try await router.complete(request, chain: chain) }

            print("| path | concurrency | requests | throughput (req/s) | p50 (ms) | p99 (ms) |")
            print("|---|---|---|---|---|---|")
            var p50s: [String: Double] = [:]
            for concurrency in [1, 32] {
                for (name, call) in [("direct HTTP call to the fake", direct), ("ModelRouter → provider → fake", routed)] {
                    _ = try await measure(call, concurrency: concurrency, count: min(2000, requests))  // warm-up
                    let (throughput, latencies) = try await measure(call, concurrency: concurrency, count: requests)
                    p50s["\(name)/\(concurrency)"] = percentile(latencies, 0.5)
                    print("| \(name) | \(concurrency) | \(requests) | \(Int(throughput)) | \(format(percentile(latencies, 0.5))) | \(format(percentile(latencies, 0.99))) |")
                }
            }
            for concurrency in [1, 32] {
                let added = p50s["ModelRouter → provider → fake/\(concurrency)"]! - p50s["direct HTTP call to the fake/\(concurrency)"]!
                print("added p50 latency at \(concurrency): \(format(added)) ms (target ≤ 1 ms)")
            }
        }
    }

    func measure(_ call: @escaping @Sendable () async throws -> Void, concurrency: Int, count: Int) async throws -> (Double, [Double]) {
        let tally = Tally()
        let clock = ContinuousClock()
        let start = clock.now
        let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    var mine: [Double] = []
                    while tally.next.add(1, ordering: .relaxed).oldValue < count {
                        let began = clock.now
                        try await call()
                        mine.append(milliseconds(clock.now - began))
                    }
                    return mine
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        let elapsed = milliseconds(clock.now - start) / 1000
        return (Double(latencies.count) / elapsed, latencies.sorted())
    }
}

// MARK: (b) delivery to send

struct EndToEndBench {
    var server: String
    var admin: String
    var fakePort: Int
    var rate: Int
    var duration: Int
    /// Seconds of untimed deliveries at the same rate before the measured ones.
    var warmup: Int
    /// A shell command run between the warm-up and the measured deliveries.
    var afterWarmup: String?

    func run() async throws {
        let fakes = Fakes()
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        try await fakes.serve(port: fakePort) { _ in
            // Enough credits for every reply: an openai_compatible provider is priced (no
            // longer free), so a tenant without credits gets the out-of-credits answer.
            let key = try await post(
                client, "/admin/tenants", bearer: admin, ["name": "Bench", "trial_credits_micros": 1_000_000_000_000]
            )["api_key"] as! String
            let provider = try await post(client, "/v1/providers", bearer: key, [
                "name": "instant", "kind": "openai_compatible", "base_url": "http://127.0.0.1:\(fakePort)/v1", "region": "local",
            ])["id"] as! String
            let agent = try await post(client, "/v1/agents", bearer: key, [
                "name": "Bench", "provider_id": provider, "model": "bench-model", "system_prompt": "You are a benchmark.",
                "history_messages": 4,
            ])["id"] as! String
            let channel = try await post(client, "/v1/channels", bearer: key, [
                "kind": "telegram", "name": "bench", "agent_id": agent,
                "credentials": ["bot_token": "7001:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1"],
            ])
            let channelID = channel["id"] as! String
            let secret = (channel["credentials"] as! [String: String])["secret_token"]!

            let total = rate * duration
            let tally = Tally()
            let clock = ContinuousClock()
            // Delivers `count` updates at the fixed rate (an open loop: arrivals do not wait
            // for answers), texts `<prefix><n>`, update ids from `firstID`.
            func drive(count: Int, prefix: String, firstID: Int, timed: Bool) async {
                let start = clock.now
                let interval = Duration.seconds(1) / rate
                await withTaskGroup(of: Void.self) { group in
                    for index in 0..<count {
                        try? await clock.sleep(until: start + interval * index)
                        group.addTask {
                            let text = "\(prefix)\(index)"
                            let id = firstID + index
                            let update = #"{"update_id":\#(id),"message":{"message_id":\#(id),"date":\#(Int(Date().timeIntervalSince1970)),"from":{"id":\#(index % 5000 + 1),"is_bot":false,"first_name":"B"},"chat":{"id":\#(index % 5000 + 1),"type":"private","first_name":"B"},"text":"\#(text)"}}"#
                            var request = HTTPClientRequest(url: "\(server)/hooks/\(channelID)")
                            request.method = .POST
                            request.headers.add(name: "Content-Type", value: "application/json")
                            request.headers.add(name: "X-Telegram-Bot-Api-Secret-Token", value: secret)
                            request.body = .bytes(ByteBuffer(string: update))
                            if timed { tally.posted.withLock { $0["reply to: \(text)"] = clock.now } }
                            do {
                                let response = try await client.execute(request, timeout: .seconds(30))
                                _ = try await response.body.collect(upTo: 1 << 16)
                                if timed, response.status != .ok { tally.failures.add(1, ordering: .relaxed) }
                            } catch {
                                if timed { tally.failures.add(1, ordering: .relaxed) }
                            }
                        }
                    }
                }
            }
            // Warm-up at the same rate, untimed: a new cluster's first seconds (empty
            // tables, cold caches, the first checkpoint) are not the steady state.
            let warmupCount = rate * warmup
            await drive(count: warmupCount, prefix: "w", firstID: 1, timed: false)
            for _ in 0..<100 where fakes.sent.withLock({ $0.count }) < warmupCount {
                try? await Task.sleep(for: .milliseconds(100))
            }
            fakes.sent.withLock { $0.removeAll() }
            if let afterWarmup {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: "/bin/sh")
                process.arguments = ["-c", afterWarmup]
                try process.run()
                process.waitUntilExit()
            }
            let start = clock.now
            await drive(count: total, prefix: "q", firstID: warmupCount + 1, timed: true)
            // Let the last answers arrive.
            for _ in 0..<100 {
                if fakes.sent.withLock({ $0.keys.filter { $0.hasPrefix("reply to: q") }.count }) >= total { break }
                try? await Task.sleep(for: .milliseconds(100))
            }
            let sent = fakes.sent.withLock { $0 }
            let starts = tally.posted.withLock { $0 }
            let latencies = sent.compactMap { text, at in starts[text].map { milliseconds(at - $0) } }.sorted()
            let achieved = Double(total) / (milliseconds(clock.now - start) / 1000)
            print("| delivery → sendMessage | \(rate)/s for \(duration) s | \(total) deliveries, \(tally.failures.load(ordering: .relaxed)) failed, \(latencies.count) answered | p50 \(format(percentile(latencies, 0.5))) ms | p99 \(format(percentile(latencies, 0.99))) ms | max \(format(latencies.last ?? .nan)) ms | target p50 ≤ 20 ms, p99 ≤ 100 ms |")
            _ = achieved
            // BENCH_TIMELINE=1: the p50 and max of each second of arrivals, to tell a stall
            // (a checkpoint, an autovacuum) from a queue that grows.
            if ProcessInfo.processInfo.environment["BENCH_TIMELINE"] == "1" {
                var bySecond: [Int: [Double]] = [:]
                for (text, at) in sent where text.hasPrefix("reply to: q") {
                    guard let index = Int(text.dropFirst("reply to: q".count)), let posted = starts[text] else { continue }
                    bySecond[index / rate, default: []].append(milliseconds(at - posted))
                }
                for second in bySecond.keys.sorted() {
                    let values = bySecond[second]!.sorted()
                    print("second \(second): p50 \(format(percentile(values, 0.5))) ms, max \(format(values.last ?? .nan)) ms")
                }
            }
        }
        try await client.shutdown()
    }

    func post(_ client: HTTPClient, _ path: String, bearer: String, _ fields: [String: Any]) async throws -> [String: Any] {
        var request = HTTPClientRequest(url: "\(server)\(path)")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(bearer)")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(data: try JSONSerialization.data(withJSONObject: fields)))
        let response = try await client.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 1 << 20)
        guard (200..<300).contains(Int(response.status.code)) else {
            throw ModelProviderError(.badRequest, "\(path): \(response.status.code) \(String(buffer: body))")
        }
        return try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as! [String: Any]
    }
}
