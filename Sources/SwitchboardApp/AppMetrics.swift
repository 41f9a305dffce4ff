import Foundation
public import Prometheus

/// The operator's metrics, exposed at `/metrics` in Prometheus text. Labels never carry a
/// tenant id (STYLE.md): routes are templates (`/v1/api-keys/{id}`), not concrete paths.
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
