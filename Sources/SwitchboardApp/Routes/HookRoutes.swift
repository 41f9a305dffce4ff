import ConnectorKit
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import SwitchboardCore
import SwitchboardPipeline

/// `POST /hooks/{channel_id}`: a messenger's delivery, as raw bytes. Verified, parsed and
/// stored in one statement before the 200; a duplicate is 200 and changes nothing; a bad
/// signature is 401 and leaves no trace but a counter and a log line; a verified body that
/// cannot be parsed is 400 and kept as a dead letter; a kind we do not handle is 200 and
/// recorded as ignored. `GET /hooks/{channel_id}` answers Meta's verification challenge.
struct HookRoutes: Sendable {
    /// Webhook bodies over 4 MiB are refused with 413 (the published limit: README, "Limits").
    static let maximumSize = 4 << 20

    /// The message path's ingest: the channel's lookup, its connector's verify and parse,
    /// and the group commit.
    let ingest: Ingest
    let metrics: AppMetrics
    /// Refusals (unknown channel, failed signature) by source address: a spent allowance
    /// makes further refusals 429, and ids not cached are then not looked up.
    let failures: RateLimiter<String>
    /// Verified deliveries per channel, generous: a platform sends a busy channel's traffic
    /// from a few addresses, so only the channel, never the address, limits verified traffic.
    let perChannel: RateLimiter<ChannelID>
    let now: @Sendable () -> Date

    func add(to router: Router<AppRequestContext>) {
        router.post("/hooks/{channel_id}") { request, context in
            try await receive(request, context: context)
        }
        router.get("/hooks/{channel_id}") { request, context in
            try await verifyChallenge(request, context: context)
        }
    }

    /// The live channel of the URL, its connector and opened credentials; 404 otherwise
    /// (deleted and disabled channels included: Telegram then stops retrying).
    func resolve(_ context: AppRequestContext) async throws -> ResolvedChannel {
        // The source's text is made only where a refusal needs it, not for every delivery.
        guard let id = context.parameters.get("channel_id").flatMap({ ChannelID($0) }),
              let channel = try await ingest.resolve(
                  id, logger: context.logger,
                  // A lookup the cache cannot answer costs a query: not for a source that
                  // keeps asking for channels that do not exist.
                  beforeLookup: { try failures.limited(context.sourceAddress).check(Self.refusals) }
              )
        else {
            try failures.acquire(context.sourceAddress).check(Self.refusals)
            throw SwitchboardError.notFound("channel")
        }
        return channel
    }

    static let refusals = "refused webhook deliveries from this address"

    func receive(_ request: Request, context: AppRequestContext) async throws -> Response {
        let channel = try await resolve(context)
        let route = channel.route
        var logger = context.logger
        logger[metadataKey: "channel.kind"] = "\(route.kind)"
        let body = try await request.body.collect(upTo: Self.maximumSize)
        let delivery = WebhookDelivery(headers: request.headers, body: Array(body.readableBytesView), receivedAt: now())
        let results: [IngestResult]
        do {
            results = try await ingest.accept(
                delivery, contentType: request.headers[.contentType], on: channel, logger: logger,
                // Counted once verified: unsigned requests cannot spend a channel's allowance.
                verified: { try perChannel.acquire(route.channelID).check("deliveries to this channel") }
            )
        } catch DeliveryRefusal.unverified(let reason) {
            metrics.recordDelivery(kind: route.kind, outcome: "rejected")
            logger.warning("webhook delivery failed verification", metadata: ["channel.id": "\(route.channelID)", "reason": "\(reason)"])
            try failures.acquire(context.sourceAddress).check(Self.refusals)
            throw SwitchboardError(.unauthorized, "the delivery's signature or secret does not match this channel")
        } catch DeliveryRefusal.unreadable(let reason, let field) {
            metrics.recordDelivery(kind: route.kind, outcome: "dead_letter")
            logger.warning("webhook delivery kept as a dead letter", metadata: ["channel.id": "\(route.channelID)", "reason": "\(reason)"])
            throw SwitchboardError(.invalidRequest, "the delivery could not be read: \(reason)", field: field)
        }
        let duplicates = results.filter { !$0.created }.count
        metrics.recordDelivery(kind: route.kind, outcome: duplicates == results.count && !results.isEmpty ? "duplicate" : "stored")
        return try JSONBody.response(DeliveryResponse(received: results.count, duplicates: duplicates))
    }

    func verifyChallenge(_ request: Request, context: AppRequestContext) async throws -> Response {
        let channel = try await resolve(context)
        let (route, connector, credentials) = (channel.route, channel.connector, channel.credentials)
        var query: [String: String] = [:]
        for (name, value) in request.uri.queryParameters { query[String(name)] = String(value) }
        let answer: String?
        do {
            answer = try connector.answerVerification(query: query, credentials: credentials)
        } catch {
            metrics.recordDelivery(kind: route.kind, outcome: "rejected")
            try failures.acquire(context.sourceAddress).check(Self.refusals)
            throw SwitchboardError(.unauthorized, "the verification request does not match this channel")
        }
        guard let answer else { throw SwitchboardError(.notFound, "this channel kind has no verification request") }
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; charset=utf-8"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: answer)))
    }

    /// The answer to a platform's delivery: how many updates it held, and how many were
    /// already stored (a retry).
    struct DeliveryResponse: APIResource {
        var received: Int
        var duplicates: Int

        enum CodingKeys: String, CodingKey { case received, duplicates }
    }
}
