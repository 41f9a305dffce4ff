/// What the message path counts for the operator. The app's Prometheus registry conforms;
/// labels never carry a tenant.
public protocol PipelineMetrics: Sendable {
    /// A job given up after its last attempt ended unfinished, by kind.
    func recordDeadJob(kind: String)
    /// A model provider call, by the provider's kind and its outcome (`ok` or the error kind).
    func recordProviderCall(kind: String, outcome: String)
    /// A reply whose provider reported under half the locally estimated usage.
    func recordUnderReportedUsage(kind: String)
    /// A reply answered by a fallback rather than the agent's own provider.
    func recordFallback()
    /// A ledger operation refused (`hold`: the credits could not cover a reply).
    func recordLedgerRefusal(operation: String)
}
