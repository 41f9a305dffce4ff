import Foundation
public import SwitchboardPipeline
public import Prometheus

/// The operator's metrics, exposed at `/metrics` in Prometheus text. Labels never carry a
/// tenant id (a label per tenant would grow the series without bound): routes are templates (`/v1/api-keys/{id}`), not concrete paths.
public struct AppMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
    }

    static let durationBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5),
    ]

    static var requests: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "switchboard", subsystem: "http", metricName: "requests", unitName: "total",
        helpText: "HTTP requests answered, by method, route template and status."
    ) }
    static var requestDuration: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "switchboard", subsystem: "http", metricName: "request_duration", unitName: "seconds",
        helpText: "Time to answer an HTTP request, by method and route template."
    ) }

    func recordRequest(method: String, route: String, status: Int, duration: Duration) {
        registry.makeCounter(
            descriptor: Self.requests, labels: [("method", method), ("route", route), ("status", String(status))]
        ).increment()
        registry.makeDurationHistogram(
            descriptor: Self.requestDuration, labels: [("method", method), ("route", route)], buckets: Self.durationBuckets
        ).recordNanoseconds(duration.nanoseconds)
    }

    static var deliveries: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "switchboard", subsystem: "webhook", metricName: "deliveries", unitName: "total",
        helpText: "Webhook deliveries by channel kind and outcome (stored, duplicate, rejected, dead_letter)."
    ) }

    func recordDelivery(kind: String, outcome: String) {
        registry.makeCounter(descriptor: Self.deliveries, labels: [("kind", kind), ("outcome", outcome)]).increment()
    }

    static var providerCalls: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "switchboard", subsystem: "provider", metricName: "calls", unitName: "total",
        helpText: "Model provider calls by provider kind and outcome (ok, or the error kind: rate_limited, server, timeout, ...)."
    ) }
    static var fallbacks: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "switchboard", subsystem: "provider", metricName: "fallbacks", unitName: "total",
        helpText: "Replies answered by a fallback provider rather than the agent's first."
    ) }
    static var ledgerRefusals: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "switchboard", subsystem: "ledger", metricName: "refusals", unitName: "total",
        helpText: "Ledger operations refused for want of credits, by operation."
    ) }
    static var jobs: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "switchboard", subsystem: "jobs", metricName: "count",
        helpText: "Jobs in the queue by kind and status (queued, running), read when scraped."
    ) }
    static var jobAge: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "switchboard", subsystem: "jobs", metricName: "oldest_ready_age", unitName: "seconds",
        helpText: "How long the oldest ready job of each kind has waited, read when scraped."
    ) }

    static var deadJobs: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "switchboard", subsystem: "jobs", metricName: "dead", unitName: "total",
        helpText: "Jobs given up after their last attempt ended unfinished (worker died or ran past the deadline), by kind."
    ) }

    public func recordDeadJob(kind: String) {
        registry.makeCounter(descriptor: Self.deadJobs, labels: [("kind", kind)]).increment()
    }

    public func recordProviderCall(kind: String, outcome: String) {
        registry.makeCounter(descriptor: Self.providerCalls, labels: [("provider_kind", kind), ("outcome", outcome)]).increment()
    }

    static var underReportedUsage: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "switchboard", subsystem: "provider", metricName: "usage_underreported", unitName: "total",
        helpText: "Replies whose provider reported under half the locally estimated tokens; charged at the estimate. By provider kind."
    ) }

    public func recordUnderReportedUsage(kind: String) {
        registry.makeCounter(descriptor: Self.underReportedUsage, labels: [("provider_kind", kind)]).increment()
    }

    public func recordFallback() {
        registry.makeCounter(descriptor: Self.fallbacks).increment()
    }

    public func recordLedgerRefusal(operation: String) {
        registry.makeCounter(descriptor: Self.ledgerRefusals, labels: [("operation", operation)]).increment()
    }

    /// The queue as the scrape finds it: counts by kind and status, and the oldest ready
    /// job's wait by kind.
    func recordQueue(_ queue: [(kind: String, status: String, count: Int, oldestReady: Double)]) {
        var ages: [String: Double] = [:]
        for row in queue {
            registry.makeGauge(descriptor: Self.jobs, labels: [("kind", row.kind), ("status", row.status)]).set(to: Double(row.count))
            if row.status == "queued" { ages[row.kind] = max(ages[row.kind] ?? 0, row.oldestReady) }
        }
        for kind in ["reply", "send"] {
            if queue.allSatisfy({ $0.kind != kind || $0.status != "queued" }) {
                registry.makeGauge(descriptor: Self.jobs, labels: [("kind", kind), ("status", "queued")]).set(to: 0.0)
            }
            registry.makeGauge(descriptor: Self.jobAge, labels: [("kind", kind)]).set(to: ages[kind] ?? 0)
        }
    }

    static var analyticsStaleness: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "switchboard", subsystem: "analytics", metricName: "staleness", unitName: "seconds",
        helpText: "Time since the analytics rollups were last brought up to date, read when scraped (-1: never)."
    ) }
    static var analyticsRefresh: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "switchboard", subsystem: "analytics", metricName: "refresh_duration", unitName: "seconds",
        helpText: "How long the last refresh of the analytics rollups took."
    ) }

    /// The rollups as the scrape finds them: how old, and how long the last refresh took.
    func recordAnalytics(refreshedAt: Date?, lastDuration: Double?, now: Date) {
        registry.makeGauge(descriptor: Self.analyticsStaleness).set(to: refreshedAt.map { max(now.timeIntervalSince($0), 0) } ?? -1)
        registry.makeGauge(descriptor: Self.analyticsRefresh).set(to: lastDuration ?? 0)
    }

    /// The Prometheus text exposition of every metric.
    public func exposition() -> String {
        registry.emitToString()
    }
}

extension Duration {
    var nanoseconds: Int64 {
        components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000
    }
}

extension AppMetrics: PipelineMetrics {}
