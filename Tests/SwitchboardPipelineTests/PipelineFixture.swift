import ConnectorKit
import Crypto
import Foundation
import HTTPTypes
import Logging
import SwitchboardCore
import SwitchboardPipeline
import SwitchboardProviders
import Synchronization

/// A clock the test moves by hand.
final class TestClock: Sendable {
    private let time = Mutex(Date(timeIntervalSince1970: 1_800_000_000))
    func now() -> Date { time.withLock { $0 } }
    func advance(_ duration: Duration) { time.withLock { $0 = $0.addingTimeInterval(duration.timeInterval) } }
}

/// A messenger in memory: deliveries are `{"id", "from", "text"}` signed by the header
/// `x-secret` equal to the channel's `secret`; sends are recorded, or fail as the test says.
final class ChatConnector: Connector {
    let kind = "chat"
    private let state = Mutex<(sent: [OutboundMessage], failures: [ConnectorError])>(([], []))

    var sent: [OutboundMessage] { state.withLock { $0.sent } }
    /// The next sends fail with these, in order.
    func failNext(_ errors: ConnectorError...) { state.withLock { $0.failures += errors } }

    func prepareCredentials(_ submitted: [String: String]) throws(ConnectorError) -> PreparedCredentials {
        PreparedCredentials(stored: submitted)
    }

    func verify(_ delivery: WebhookDelivery, credentials: ChannelCredentials) throws(ConnectorError) {
        guard let secret = delivery.headers[HTTPField.Name("x-secret")!], secret == credentials["secret"] else {
            throw ConnectorError(.unauthorized, "wrong secret")
        }
    }

    func parse(_ delivery: WebhookDelivery, credentials: ChannelCredentials) throws(ConnectorError) -> [InboundEvent] {
        struct Body: Decodable { var id: String, from: String, text: String }
        guard let body = try? JSONDecoder().decode(Body.self, from: Data(delivery.body)) else {
            throw ConnectorError(.malformed, "not a chat message", field: "text")
        }
        return [InboundEvent(
            kind: .message, eventID: body.id, messageID: body.id, sender: .init(externalID: body.from),
            chat: .init(externalID: body.from, kind: .direct), text: body.text
        )]
    }

    func send(_ message: OutboundMessage, credentials: ChannelCredentials, http: any OutboundHTTPClient) async throws(ConnectorError) -> SendReceipt {
        let failure: ConnectorError? = state.withLock { state in
            state.failures.isEmpty ? nil : state.failures.removeFirst()
        }
        if let failure { throw failure }
        return state.withLock { state in
            state.sent.append(message)
            return SendReceipt(externalIDs: ["out-\(state.sent.count)"])
        }
    }
}

/// No HTTP leaves a pipeline test: the chat connector makes none.
struct NoHTTP: OutboundHTTPClient {
    func execute(_ request: HTTPRequest, body: [UInt8]?) async throws -> (HTTPResponse, [UInt8]) {
        throw ConnectorError(.sendFailed, "no HTTP in pipeline tests")
    }
}

/// A model provider's HTTP in memory, speaking OpenAI's chat completion format: each call
/// takes the next scripted answer (the last one repeats).
final class ScriptedModel: ProviderTransport {
    enum Answer: Sendable {
        case text(String, input: Int, output: Int)
        case status(Int)
    }

    private let state: Mutex<(answers: [Answer], calls: Int)>
    init(_ answers: Answer...) { state = Mutex((answers, 0)) }
    var calls: Int { state.withLock { $0.calls } }

    func send(_ request: ProviderHTTPRequest, timeout: Duration) async throws -> ProviderHTTPResponse {
        let answer = state.withLock { state in
            state.calls += 1
            return state.answers.count > 1 ? state.answers.removeFirst() : state.answers[0]
        }
        switch answer {
        case .text(let text, let input, let output):
            let body: [String: Any] = [
                "id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-test",
                "choices": [["index": 0, "finish_reason": "stop", "message": ["role": "assistant", "content": text]]],
                "usage": ["prompt_tokens": input, "completion_tokens": output, "total_tokens": input + output],
            ]
            return ProviderHTTPResponse(
                status: 200, headers: [("content-type", "application/json")], body: Array(try JSONSerialization.data(withJSONObject: body))
            )
        case .status(let status):
            return ProviderHTTPResponse(status: status, body: Array(#"{"error":{"message":"scripted failure"}}"#.utf8))
        }
    }

    func stream(
        _ request: ProviderHTTPRequest, timeout: Duration
    ) async throws -> (ProviderHTTPResponseHead, AsyncThrowingStream<[UInt8], any Error>) {
        throw ModelProviderError(.badRequest, "the pipeline does not stream")
    }
}

/// One tenant with one chat channel and its agent, on the in-memory stores.
struct PipelineFixture {
    let store = InMemoryStore()
    let clock = TestClock()
    let connector = ChatConnector()
    let secrets = SecretBox(masterKey: SymmetricKey(size: .bits256))
    let tenant = TenantID()
    let route: ChannelRoute
    let providerID = ProviderID()
    let agent: AgentSettings
    let model: ScriptedModel
    static let logger = Logger(label: "pipeline-test")
    /// A million micro-credits per million tokens each way: one credit-micro per token.
    static let price = Price(
        providerKind: .openai, model: "gpt-test", inputPerMillion: 1_000_000, cachedInputPerMillion: 1_000_000,
        outputPerMillion: 1_000_000, reasoningPerMillion: 1_000_000, messageFee: Credits(micros: 100)
    )

    init(
        model: ScriptedModel = ScriptedModel(.text("Hello from the agent", input: 20, output: 5)), credits: Int64 = 1_000_000,
        agent configure: (inout AgentSettings) -> Void = { _ in }
    ) async throws {
        let channelID = ChannelID()
        let sealed = try secrets.sealCredentials(["secret": "s3cret"], tenant: tenant, channel: channelID)
        route = ChannelRoute(channelID: channelID, tenantID: tenant, kind: "chat", enabled: true, sealedCredentials: sealed)
        var settings = AgentSettings(name: "Agent", providerID: providerID, model: "gpt-test", systemPrompt: "Be brief.", maxOutputTokens: 100)
        configure(&settings)
        agent = settings
        self.model = model
        await store.addChannel(route, agent: (AgentID(), settings))
        await store.addProvider(tenant, ReplyContext.ProviderEntry(id: providerID, name: "OpenAI", kind: .openai, baseURL: "https://api.openai.com/v1"))
        await store.setPrices(tenant, PriceBook([Self.price]))
        await store.credit(tenant, Credits(micros: credits))
    }

    var connectors: ConnectorRegistry { ConnectorRegistry([connector]) }

    func runner(_ configure: (inout JobPolicy) -> Void = { _ in }, worker: String = "test-worker") -> JobRunner {
        var policy = JobPolicy()
        configure(&policy)
        // Retries without waiting: the router's backoff sleeps are not the pipeline's to test.
        return JobRunner(
            queue: store, replies: store, ledger: store, secrets: secrets, connectors: connectors, http: NoHTTP(), transport: model,
            router: ModelRouter(sleep: { _ in }), policy: policy, now: clock.now, sleep: { _ in try await Task.sleep(for: .seconds(3600)) },
            worker: worker, logger: Self.logger
        )
    }

    func ingest(batcher: IngestBatcher? = nil) -> Ingest {
        Ingest(
            channels: store, store: store, batcher: batcher ?? IngestBatcher(store: store), cache: ChannelRouteCache(),
            connectors: connectors, secrets: secrets
        )
    }

    /// A delivery as the chat platform would send it.
    func delivery(id: String, from: String = "customer-1", text: String, secret: String = "s3cret") -> WebhookDelivery {
        var headers = HTTPFields()
        headers[HTTPField.Name("x-secret")!] = secret
        let body = try! JSONSerialization.data(withJSONObject: ["id": id, "from": from, "text": text])
        return WebhookDelivery(headers: headers, body: Array(body), receivedAt: clock.now())
    }

    /// Receives a delivery through the ingest, as the webhook route does.
    @discardableResult
    func receive(id: String, from: String = "customer-1", text: String) async throws -> [IngestResult] {
        let ingest = ingest()
        guard let channel = try await ingest.resolve(route.channelID, logger: Self.logger) else { throw InMemoryStoreError.unknownChannel }
        return try await ingest.accept(delivery(id: id, from: from, text: text), contentType: "application/json", on: channel, logger: Self.logger)
    }
}
