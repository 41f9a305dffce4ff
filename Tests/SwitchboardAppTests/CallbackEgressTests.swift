import ConnectorKit
import Foundation
import Hummingbird
import Logging
import SwitchboardApp
import SwitchboardEgress
import Testing
import WebhookConnector

/// A webhook channel's `callback_url` at connect time: through the egress gate, and with
/// one tenant-visible text for every connection that could not be made.
@Suite("Callback egress", .timeLimit(.minutes(1)))
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
}
