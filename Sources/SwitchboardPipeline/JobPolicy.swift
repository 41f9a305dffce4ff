/// How the workers pace themselves.
public struct JobPolicy: Sendable {
    /// How long a taken job is its worker's before another may take it over.
    public var lease: Duration = .seconds(120)
    /// Reply jobs whose providers all failed are tried this often in all.
    public var maximumReplyAttempts = 3
    /// Sends are tried this often before the message is `failed`.
    public var maximumSendAttempts = 5
    /// The most attempts any job gets, however each ended — a worker that died or ran past
    /// `runDeadline` leaves a lease that runs out, and the claim that finds it counts an
    /// attempt. A job out of attempts is `dead`, its message `failed` with the reason.
    public var maximumAttempts = 5
    /// The longest one attempt of a job may run, every provider call and send in it
    /// included. Past it the lease keeper stops renewing, the attempt is cancelled, and its
    /// lease ends, so the next claim takes the job again (or buries it). Shorter than
    /// `holdLifetime`, so a reply's hold is never swept while its worker still runs.
    public var runDeadline: Duration = .seconds(600)
    /// The first retry's delay; each further one doubles it, up to `maximumBackoff`.
    public var backoff: Duration = .seconds(2)
    public var maximumBackoff: Duration = .seconds(300)
    /// The longest wait a provider's or platform's retry hint can impose on a job: an hour.
    /// A hint is a number from outside; the parsers bound it already, and this bounds it
    /// again where it becomes a `Date` in the queue.
    public var maximumRetryHint: Duration = .seconds(3600)
    /// Whether a reply worker sends the answer it stored itself, at once (the default), or
    /// leaves its send job to the queue's lease — as a worker that dies between storing and
    /// sending does; tests stand for that process with `false`.
    public var sendInline = true
    /// Whether the ingest of a process with workers takes new messages' reply jobs for its
    /// free workers in the transaction that stores the messages (the default), rather than
    /// leaving every job to be notified and claimed.
    public var takeAtIngest = true
    /// How often idle workers look for work that no notification announced (retries whose
    /// time has come, leases that ran out, a notification lost with its connection).
    public var pollInterval: Duration = .seconds(1)
    /// How long a reply's credit hold outlives its start before the sweeper takes it for
    /// the hold of a dead worker: longer than the slowest provider chain (three tries of a
    /// 60 s timeout with backoff, for each fallback).
    public var holdLifetime: Duration = .seconds(1800)
    /// How often the sweeper looks for expired holds.
    public var sweepInterval: Duration = .seconds(60)
    /// How often the retention sweeper deletes what outlived the tenants' policies.
    public var retentionInterval: Duration = .seconds(3600)
    /// How often the analytics rollups are brought up to date: the bound on how stale the
    /// open hour's figures are.
    public var analyticsInterval: Duration = .seconds(60)

    public init() {}

    public func delay(after attempt: Int, hint: Duration? = nil) -> Duration {
        let doubled = backoff * (1 << min(max(attempt, 1) - 1, 16))
        let hinted = min(max(hint ?? .zero, .zero), maximumRetryHint)
        return max(min(doubled, maximumBackoff), hinted)
    }
}
