import ConnectorKit
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import SwitchboardCore
import SwitchboardPostgres

/// `POST /hooks/{channel_id}`: a messenger's delivery, as raw bytes. Verified, parsed and
/// stored in one statement before the 200; a duplicate is 200 and changes nothing; a bad
/// signature is 401 and leaves no trace but a counter and a log line; a verified body that
/// cannot be parsed is 400 and kept as a dead letter; a kind we do not handle is 200 and
/// recorded as ignored. `GET /hooks/{channel_id}` answers Meta's verification challenge.
struct HookRoutes: Sendable {
    /// Webhook bodies over 4 MiB are refused with 413 (the published limit: README, "Limits").
    static let maximumSize = 4 << 20

    let channels: PostgresChannelStore
    let ingest: PostgresIngestStore
    let batcher: IngestBatcher
    let cache: ChannelRouteCache
    let connectors: ConnectorRegistry
    let secrets: SecretBox
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
    func resolve(_ context: AppRequestContext) async throws -> (ChannelRoute, any Connector, ChannelCredentials) {
        // The source's text is made only where a refusal needs it, not for every delivery.
        guard let id = context.parameters.get("channel_id").flatMap({ ChannelID($0) }),
              let (route, credentials) = try await cache.resolve(
                  id,
                  load: {
                      // A lookup the cache cannot answer costs a query: not for a source
                      // that keeps asking for channels that do not exist.
                      try failures.limited(context.sourceAddress).check(Self.refusals)
                      return try await channels.route(id)
                  },
                  open: { try secrets.openCredentials($0.sealedCredentials, tenant: $0.tenantID, channel: $0.channelID) }
              ),
              route.enabled,
              let connector = connectors[route.kind]
        else {
            try failures.acquire(context.sourceAddress).check(Self.refusals)
            throw SwitchboardError.notFound("channel")
        }
        return (route, connector, ChannelCredentials(credentials))
    }

    static let refusals = "refused webhook deliveries from this address"

    func receive(_ request: Request, context: AppRequestContext) async throws -> Response {
        let (route, connector, credentials) = try await resolve(context)
        var logger = context.logger
        logger[metadataKey: "channel.kind"] = "\(route.kind)"
        let body = try await request.body.collect(upTo: Self.maximumSize)
        let delivery = WebhookDelivery(headers: request.headers, body: Array(body.readableBytesView), receivedAt: now())

        do {
            try connector.verify(delivery, credentials: credentials)
        } catch {
            metrics.recordDelivery(kind: route.kind, outcome: "rejected")
            logger.warning("webhook delivery failed verification", metadata: ["channel.id": "\(route.channelID)", "reason": "\(error.message)"])
            try failures.acquire(context.sourceAddress).check(Self.refusals)
            throw SwitchboardError(.unauthorized, "the delivery's signature or secret does not match this channel")
        }
        // Counted once verified: unsigned requests cannot spend a channel's allowance.
        try perChannel.acquire(route.channelID).check("deliveries to this channel")

        let events: [InboundEvent]
        do {
            events = try connector.parse(delivery, credentials: credentials)
        } catch {
            try await ingest.deadLetter(route, reason: error.message, contentType: request.headers[.contentType], body: delivery.body)
            metrics.recordDelivery(kind: route.kind, outcome: "dead_letter")
            logger.warning("webhook delivery kept as a dead letter", metadata: ["channel.id": "\(route.channelID)", "reason": "\(error.message)"])
            throw SwitchboardError(.invalidRequest, "the delivery could not be read: \(error.message)", field: error.field)
        }

        let results = try await batcher.ingest(
            PostgresIngestStore.Delivery(
                route: route, payload: StorableText.sanitize(String(decoding: delivery.body, as: UTF8.self)),
                events: events.map(IngestEvent.init)
            )
        )
        let duplicates = results.filter { !$0.created }.count
        metrics.recordDelivery(kind: route.kind, outcome: duplicates == results.count && !results.isEmpty ? "duplicate" : "stored")
        return try JSONBody.response(
            JSONValue.object(["received": .integer(Int64(results.count)), "duplicates": .integer(Int64(duplicates))])
        )
    }

    func verifyChallenge(_ request: Request, context: AppRequestContext) async throws -> Response {
        let (route, connector, credentials) = try await resolve(context)
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
}
