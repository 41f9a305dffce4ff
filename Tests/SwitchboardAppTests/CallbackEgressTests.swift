import ConnectorKit
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import NIOPosix
import Synchronization
import SwitchboardApp
import SwitchboardEgress
import Testing
import WebhookConnector

/// A webhook channel's `callback_url` at connect time: through the egress gate, and with
/// one tenant-visible text for every connection that could not be made.
@Suite("Callback egress", .timeLimit(.minutes(3)))
struct CallbackEgressTests {
    static let reply = OutboundMessage(chatExternalID: "c1", text: "Hello", idempotencyKey: "k1")

    /// The error the webhook connector reports for a send to `callback` (nil if it was sent).
    func sendError(_ callback: String, allowPrivate: Bool) async throws -> ConnectorError? {
        let gate = EgressGate(.init(allowPrivate: allowPrivate), logger: Logger(label: "callback-egress"))
        let http = AsyncHTTPOutboundClient(gate: gate)
        let credentials = ChannelCredentials(["callback_url": callback, "signing_secret": "whsec-test"])
        var failure: ConnectorError?
        do {
            _ = try await WebhookConnector().send(Self.reply, credentials: credentials, http: http)
        } catch {
            failure = error
        }
        try await http.shutdown()
        await gate.shutdown()
        return failure
    }

    @Test("a refused address, a closed port and a name with no address read the same; an HTTP answer is reported")
    func oneTextForConnectionFailures() async throws {
        let router = Router()
        router.post("/in") { _, _ in Response(status: .notFound) }
        let received = RequestLog()
        router.post("/seen") { _, _ -> Response in
            received.append(.init(method: "POST", path: "/seen", body: []))
            return Response(status: .notFound)
        }
        try await serveLoopback(router) { port in
            // Private egress off: the numeric form is loopback to the resolver, so refused.
            let refused = try await sendError("http://2130706433:\(port)/seen", allowPrivate: false)
            // Private egress on (so the gate tries): nothing listens on port 1.
            let closed = try await sendError("http://127.0.0.1:1/in", allowPrivate: true)
            let unresolved = try await sendError("http://no-such-host.invalid/in", allowPrivate: true)
            let answered = try await sendError("http://127.0.0.1:\(port)/in", allowPrivate: true)

            #expect(received.all.isEmpty, "the refused callback reached nothing")
            let failures = [refused, closed, unresolved]
            #expect(failures.allSatisfy { $0?.message == "could not reach the callback_url" }, "\(failures)")
            #expect(Set(failures.map { $0?.retryable }) == [true])
            #expect(answered?.message == "the callback_url answered 404")
        }
    }

    @Test("a callback name that resolves public when saved and to loopback when sent reaches nothing; the stored error is the generic one")
    func rebindingBetweenSaveAndSend() async throws {
        let router = Router()
        let received = RequestLog()
        router.post("/in") { _, _ -> Response in
            received.append(.init(method: "POST", path: "/in", body: []))
            return Response(status: .ok)
        }
        try await serveLoopback(router) { port in
            let resolver = RebindingResolver(name: "crm.rebind.test", first: "93.184.216.34", then: "127.0.0.1")
            try await withAgentApp(telegramBase: "http://127.0.0.1:9", allowPrivate: false, resolver: resolver) { client, harness in
                let tenant = try await createTenant(client)
                let provider = try await createProvider(client, key: tenant.key, ["name": "FAQ", "kind": "local"])
                let text = "Hello, I'd like to change my order."
                let agent = try await createAgent(
                    client, key: tenant.key,
                    ["name": "Bot", "provider_id": provider, "model": "faq", "system_prompt": "You answer from the FAQ.",
                     "faq": [["question": text, "answer": "Of course."]]])
                // A numeric loopback form is refused when saved…
                let refused = try await client.execute(
                    uri: "/v1/channels", method: .post, headers: headers(bearer: tenant.key),
                    body: json(["kind": "webhook", "name": "Hook", "agent_id": agent, "credentials": ["callback_url": "http://2130706433:\(port)/in"]])
                ) { $0 }
                try expectError(refused, .badRequest, "invalid_request", field: "credentials.callback_url")
                // …the name passes (it resolves to a public address then) and is stored.
                let created = try await client.execute(
                    uri: "/v1/channels", method: .post, headers: headers(bearer: tenant.key),
                    body: json(["kind": "webhook", "name": "Hook", "agent_id": agent, "credentials": ["callback_url": "http://crm.rebind.test:\(port)/in"]])
                ) { $0 }
                #expect(created.status == .created, "body: \(String(buffer: created.body))")
                let channel = try object(created)
                let id = try #require(channel["id"] as? String)
                let secret = try #require((channel["credentials"] as? [String: String])?["signing_secret"])
                let body = Array(#"{"event_id": "evt_rebind_1", "sender": {"id": "crm-customer-1"}, "text": "\#(text)"}"#.utf8)
                var signed = HTTPFields()
                signed[HTTPField.Name("X-Switchboard-Signature")!] = WebhookConnector.signatureHeader(
                    secret: secret, timestamp: harness.clock.now(), body: body)
                #expect(try await deliver(client, channel: id, body: body, headers: signed).status == .ok)
                #expect(try await harness.drain() == 1)

                // When sending, the gate looked the name up again, found loopback, refused.
                #expect(resolver.lookups == 2)
                #expect(received.all.isEmpty, "nothing reached the loopback server")
                let (_, messages) = try await conversationMessages(client, key: tenant.key)
                #expect(messages.last?["text"] as? String == "Of course.")
                #expect(messages.last?["delivery_error"] as? String == "could not reach the callback_url")
            }
        }
    }
}

/// Answers `name` with `first` once, then with `then`; any other host with the system's
/// `getaddrinfo`.
final class RebindingResolver: EgressResolver {
    let system = GetaddrinfoResolver(threadPool: .singleton)
    let name: String
    let first: String
    let then: String
    private let count = Mutex(0)

    init(name: String, first: String, then: String) {
        self.name = name
        self.first = first
        self.then = then
    }

    var lookups: Int { count.withLock { $0 } }

    func addresses(of host: String, port: Int) async throws -> [SocketAddress] {
        guard host == name else { return try await system.addresses(of: host, port: port) }
        let index = count.withLock { count in
            defer { count += 1 }
            return count
        }
        return [try SocketAddress(ipAddress: index == 0 ? first : then, port: port)]
    }
}
