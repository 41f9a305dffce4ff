public import ConnectorKit
public import Foundation
public import Logging
public import SwitchboardCore
public import SwitchboardPostgres
public import SwitchboardProviders

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

    func delay(after attempt: Int, hint: Duration? = nil) -> Duration {
        let doubled = backoff * (1 << min(max(attempt, 1) - 1, 16))
        let hinted = min(max(hint ?? .zero, .zero), maximumRetryHint)
        return max(min(doubled, maximumBackoff), hinted)
    }
}

/// Runs the outbox's jobs: a reply job asks the channel's agent for an answer and stores
/// it with a send job; a send job delivers a stored message through its channel.
///
/// Every step ends in one transaction that also finishes the job, fenced by the attempt
/// that took it: a worker that died is replaced by the next attempt after its lease, and
/// a stored answer or a recorded send is never made twice.
public struct JobProcessor: Sendable {
    let jobs: PostgresJobStore
    let replies: PostgresReplyStore
    let credits: PostgresCreditStore
    let privacy: PostgresPrivacyStore
    /// Holds go through group commit: a busy tenant's many workers share its row lock.
    let ledger: LedgerBatcher
    let secrets: SecretBox
    let connectors: ConnectorRegistry
    let http: any OutboundHTTPClient
    let transport: any ProviderTransport
    let router: ModelRouter
    let policy: JobPolicy
    let now: @Sendable () -> Date
    /// How the lease keeper waits between renewals (tests step it by hand).
    let sleep: @Sendable (Duration) async throws -> Void
    let worker: String
    let logger: Logger
    let metrics: AppMetrics?

    public init(
        database: Database, secrets: SecretBox, connectors: ConnectorRegistry, http: any OutboundHTTPClient,
        transport: any ProviderTransport, router: ModelRouter = ModelRouter(), policy: JobPolicy = JobPolicy(),
        now: @escaping @Sendable () -> Date = Date.init,
        sleep: @escaping @Sendable (Duration) async throws -> Void = { try await DeadlineWatch.shared.sleep(for: $0) },
        worker: String = JobProcessor.defaultWorkerName(), metrics: AppMetrics? = nil, logger: Logger
    ) {
        self.metrics = metrics
        self.sleep = sleep
        self.jobs = PostgresJobStore(database: database)
        self.replies = PostgresReplyStore(database: database)
        self.credits = PostgresCreditStore(database: database)
        self.privacy = PostgresPrivacyStore(database: database)
        self.ledger = LedgerBatcher(store: credits)
        self.secrets = secrets
        self.connectors = connectors
        self.http = http
        self.transport = transport
        self.router = router
        self.policy = policy
        self.now = now
        self.worker = worker
        self.logger = logger
    }

    public static func defaultWorkerName() -> String {
        "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8))"
    }

    /// Takes one ready job and runs it; false when none was ready.
    public func runNext(kinds: [ClaimedJob.Kind] = ClaimedJob.Kind.allCases) async throws -> Bool {
        guard let (job, document) = try await claim(kinds: kinds, limit: 1).first else { return false }
        await run(job, document)
        return true
    }

    /// Takes up to `limit` ready jobs of `kinds` under this worker's lease, each with the
    /// context its run reads first. Jobs the claim found out of attempts are counted and
    /// logged here.
    public func claim(
        kinds: [ClaimedJob.Kind] = ClaimedJob.Kind.allCases, limit: Int
    ) async throws -> [(job: ClaimedJob, document: JobDocument)] {
        let claim = try await jobs.claimWithDocuments(
            kinds: kinds, limit: limit, now: now(), lease: policy.lease, worker: worker, maximumAttempts: policy.maximumAttempts
        )
        for job in claim.dead {
            metrics?.recordDeadJob(kind: job.kind.rawValue)
            logger.error(
                "job gave up: no attempt finished",
                metadata: ["job.id": "\(job.id)", "job.kind": "\(job.kind.rawValue)", "tenant.id": "\(job.tenantID)", "job.attempts": "\(job.attempt)"]
            )
        }
        return claim.taken
    }

    /// Runs ready jobs until none is left (tests drive the queue with it); answers how
    /// many ran.
    @discardableResult
    public func drain(kinds: [ClaimedJob.Kind] = ClaimedJob.Kind.allCases) async throws -> Int {
        var count = 0
        while try await runNext(kinds: kinds) { count += 1 }
        return count
    }

    /// Runs one taken job. Failures are recorded on the job, never thrown: a job that
    /// cannot even record its failure is left to its lease and taken again.
    public func run(_ job: ClaimedJob, _ document: JobDocument = .unread) async {
        var logger = self.logger
        logger[metadataKey: "job.id"] = "\(job.id)"
        logger[metadataKey: "job.kind"] = "\(job.kind.rawValue)"
        logger[metadataKey: "tenant.id"] = "\(job.tenantID)"
        let jobLogger = logger
        do {
            try await withLeaseKept(job) { [self] in
                switch job.kind {
                case .reply: try await reply(job, document, logger: jobLogger)
                case .send: try await send(job, document, logger: jobLogger)
                }
            }
        } catch is JobLeaseLost {
            logger.warning("job was taken over by a later attempt; its work stands")
        } catch is JobDeadlinePassed {
            // Its lease ends now: the next claim takes the job as its next attempt, or buries
            // it when this was the last.
            logger.error("job ran past its deadline and was stopped", metadata: ["job.deadline": "\(policy.runDeadline)"])
            _ = try? await jobs.extendLease(job, until: now())
        } catch is CancellationError {
            logger.info("job interrupted by shutdown; it is taken again when its lease runs out")
        } catch {
            logger.error("job failed", metadata: ["error": "\(error)"])
        }
    }

    /// Runs `body` while renewing the job's lease every third of it, so a slow provider
    /// chain (three tries of a 60 s timeout, then the fallbacks) is not taken over by
    /// another worker while this one still works; a process that dies stops renewing.
    ///
    /// Renewals never reach past the attempt's deadline (`runDeadline` from now): the first
    /// wake-up past it cancels `body` and throws ``JobDeadlinePassed``, so a server that
    /// answers one byte at a time cannot keep a worker, or a lease, for ever.
    func withLeaseKept(_ job: ClaimedJob, _ body: @escaping @Sendable () async throws -> Void) async throws {
        let deadline = now().addingTimeInterval(Self.seconds(policy.runDeadline))
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                try await body()
                return true
            }
            group.addTask {
                while true {
                    let left = deadline.timeIntervalSince(now())
                    try await sleep(left > 0 ? min(policy.lease / 3, .milliseconds(Int64(left * 1000) + 1)) : .zero)
                    let time = now()
                    if time >= deadline { throw JobDeadlinePassed() }
                    let until = min(time.addingTimeInterval(Self.seconds(policy.lease)), deadline)
                    guard try await jobs.extendLease(job, until: until) else { return false }
                }
            }
            defer { group.cancelAll() }
            // The body's end ends the keeper; the keeper's end (the lease was taken over)
            // leaves the body to find out when it records its outcome.
            while let finished = try await group.next() {
                if finished { return }
            }
        }
    }

    // MARK: Reply

    func reply(_ job: ClaimedJob, _ document: JobDocument, logger: Logger) async throws {
        guard var context = try await replies.context(for: job, document) else {
            try await jobs.fail(job, error: "the message no longer exists")
            return
        }
        if job.attempt == 1 { await acknowledge(context, tenant: job.tenantID, logger: logger) }
        if context.answered {
            try await replies.settle(job, context: context, replyStatus: nil)
            return
        }
        guard let agent = context.agent, context.target.channelLive else {
            try await replies.settle(job, context: context, replyStatus: .skipped, error: "the channel has no agent")
            return
        }
        guard context.target.mode == .ai else {
            try await replies.settle(job, context: context, replyStatus: .skipped, error: "a person is answering this conversation")
            return
        }
        // The contact's rights and the tenant's policy come before any processing.
        let privacyContext = context.privacy, regions = context.providerRegions
        if privacyContext.restricted {
            try await replies.settle(
                job, context: context, replyStatus: .skipped, error: "the contact is restricted: its data is kept, not processed"
            )
            return
        }
        if !privacyContext.allows(.aiProcessing) {
            try await replies.settle(
                job, context: context, replyStatus: .handedOff, error: "the contact withdrew consent to AI processing",
                handoffReason: .consentWithdrawn
            )
            logger.info("conversation handed off: no consent to AI processing")
            return
        }
        // A voice note becomes its transcript, where the agent transcribes and the
        // contact's voice consent allows; the audio itself is never stored.
        if let transcribed = try await transcribeVoice(
            job, context: context, agent: agent.settings, privacy: privacyContext, regions: regions, logger: logger
        ) {
            context = transcribed
        }
        if agent.settings.asksForPerson(context.inboundText) {
            try await replies.settle(job, context: context, replyStatus: .handedOff, handoffReason: .keyword)
            logger.info("conversation handed off by keyword")
            return
        }
        let chain = try targets(
            for: agent.settings, context: context, tenant: job.tenantID,
            allowed: { id in regions[id].map(privacyContext.mayReach(region:)) ?? false }
        )
        guard !chain.isEmpty else {
            let reason = privacyContext.allows(.crossBorder)
                ? "no provider of the agent is in a region the tenant's policy allows"
                : "the contact did not consent to cross-border transfer and no provider of the agent is in \(privacyContext.policy.homeRegion)"
            try await replies.settle(
                job, context: context, replyStatus: .failed, error: reason, handoffReason: .regionPolicy, jobStatus: .failed
            )
            logger.warning("no provider may receive this conversation", metadata: ["reason": "\(reason)"])
            return
        }
        // Identifiers are masked before they leave, the same one the same way throughout
        // the conversation; the answer gets them back for the person reading it.
        var redactor = PIIRedactor()
        var messages = Self.history(context.history)
        if privacyContext.policy.redactPII {
            messages = messages.map { ModelMessage(role: $0.role, text: redactor.redact($0.text)) }
        }
        let request = ModelRequest(
            model: agent.settings.model, systemPrompt: agent.settings.systemPrompt.isEmpty ? nil : agent.settings.systemPrompt,
            messages: messages, maxOutputTokens: agent.settings.maxOutputTokens ?? Agent.defaultMaxOutputTokens,
            temperature: agent.settings.temperature
        )
        let kinds = context.providers.mapValues(\.kind)
        // Calls are charged at the prices of whoever serves them: a base URL on a known
        // vendor's host is that vendor, whatever kind the tenant declared.
        let billedKinds = context.providers.mapValues { ProviderBilling.billedKind(declared: $0.kind, baseURL: $0.baseURL) }

        // Admission: hold the chain's worst case before any provider is called.
        var prices = context.prices
        if billedKinds.values.contains(where: { kind in !prices.prices.contains { $0.providerKind == kind } }) {
            // The context carries the prices of the declared kinds only.
            prices = try await credits.priceBook(job.tenantID)
        }
        let reference = LedgerReference(
            kind: "message", id: context.inboundID.description, agentID: agent.id, channelID: context.target.channelID,
            messageID: context.inboundID
        )
        let worstCase = Self.worstCase(of: request, chain: chain, kinds: billedKinds, prices: prices)
        var holdID: UUID?
        if worstCase > .zero {
            let held = try await ledger.apply(job.tenantID, .hold(
                reference: "reply:\(job.messageID):\(job.attempt)", amount: worstCase,
                expiresAt: now().addingTimeInterval(Self.seconds(policy.holdLifetime)), reason: "the worst case of a reply",
                for: reference
            ))
            guard held.outcome == .held || held.outcome == .duplicate, let id = held.holdID else {
                metrics?.recordLedgerRefusal(operation: "hold")
                try await outOfCredits(job, context: context, agent: agent.settings, needed: worstCase, logger: logger)
                return
            }
            holdID = id
        }

        let routed: RoutedResponse
        do {
            routed = try await router.complete(request, chain: chain)
        } catch {
            countCalls(error.attempts, kinds: kinds)
            let calls = Self.records(error.attempts, kinds: kinds)
            let reason = Self.describe(error.lastError)
            if error.isRetryable, job.attempt < min(policy.maximumReplyAttempts, policy.maximumAttempts) {
                let runAfter = now().addingTimeInterval(Self.seconds(policy.delay(after: job.attempt, hint: error.lastError.retryAfter)))
                try await replies.settle(
                    job, context: context, replyStatus: nil, error: reason, calls: calls, jobStatus: .queued, runAfter: runAfter,
                    holdID: holdID
                )
                logger.warning("no provider answered; the reply is retried later", metadata: ["error": "\(reason)"])
            } else {
                try await replies.settle(
                    job, context: context, replyStatus: .failed, error: reason, handoffReason: .providerError, calls: calls,
                    jobStatus: .failed, holdID: holdID
                )
                logger.error("no provider answered; the conversation goes to a person", metadata: ["error": "\(reason)"])
            }
            return
        }
        countCalls(routed.attempts, kinds: kinds)
        if routed.providerID != agent.settings.providerID.description { metrics?.recordFallback() }
        let calls = Self.records(routed.attempts, kinds: kinds)
        var text = routed.response.text.trimmingCharacters(in: .whitespacesAndNewlines)
        for (placeholder, original) in redactor.replacements {
            text = text.replacingOccurrences(of: placeholder, with: original)
        }
        guard let providerID = ProviderID(routed.providerID) else { throw SwitchboardError(.internalError, "unknown provider") }
        let usage = routed.response.usage
        let tokens = TokenCounts(
            input: usage.input, cachedInput: usage.cachedInput, output: usage.output, reasoning: usage.reasoning,
            latencyMilliseconds: Self.milliseconds(routed.response.latency)
        )
        let handedOff = routed.response.finishReason == .handoff || text.isEmpty
        // The usage the provider reported, checked against what was sent and received (the
        // local FAQ uses no model: it has no tokens to count).
        let assessment = kinds[providerID] == .local
            ? UsageAssessment(billed: tokens, underReported: false)
            : TokenEstimate(prompt: [request.systemPrompt ?? ""] + request.messages.map(\.text), answer: routed.response.text)
                .assess(tokens)
        if assessment.underReported {
            metrics?.recordUnderReportedUsage(kind: kinds[providerID]?.rawValue ?? "unknown")
            logger.warning("the provider reported less usage than the call sent and received; charged at the local estimate", metadata: [
                "provider.id": "\(providerID)", "usage.reported_input": "\(tokens.input + tokens.cachedInput)",
                "usage.reported_output": "\(tokens.output + tokens.reasoning)",
                "usage.billed_input": "\(assessment.billed.input + assessment.billed.cachedInput)",
                "usage.billed_output": "\(assessment.billed.output + assessment.billed.reasoning)",
            ])
        }
        let capture = holdID.map { hold in
            let kind = billedKinds[providerID]
            let price = kind.flatMap { prices.price(kind: $0, model: routed.model) }
            var target = reference
            target.providerKind = kind
            target.model = routed.model
            target.tokens = assessment.billed
            // The message fee is for an agent's message: a call that produced none pays its tokens only.
            let cost = price?.cost(of: assessment.billed, withMessageFee: !handedOff) ?? .zero
            let reason = assessment.underReported
                ? "reply by \(routed.model); usage raised to the local estimate: the provider reported under half of it"
                : "reply by \(routed.model)"
            return LedgerOperation.capture(holdID: hold, amount: cost, reason: reason, reference: target)
        }
        if handedOff {
            try await replies.settle(
                job, context: context, replyStatus: .handedOff, handoffReason: .noAnswer, calls: calls, capture: capture, holdID: holdID
            )
            logger.info("conversation handed off: the agent had no answer")
            return
        }
        if let label = privacyContext.policy.aiLabel { text += "\n\n" + label }
        let send = try await replies.storeAnswer(
            job, context: context, text: text, providerID: providerID, model: routed.model, usage: tokens,
            calls: calls, worker: worker, now: now(), lease: policy.lease, capture: capture, holdID: holdID
        )
        try await deliverInline(send, text: text, context: context, logger: logger)
    }

    /// Downloads the inbound voice note from the platform into memory, has the agent's
    /// provider transcribe it, keeps the transcript as the message's text, and answers the
    /// context anew; nil (the agent then sees `[voice]`) when the agent has no
    /// speech-to-text model, its provider cannot transcribe or may not receive this
    /// contact's data, the contact did not consent to voice processing, or a step failed.
    func transcribeVoice(
        _ job: ClaimedJob, context: ReplyContext, agent: AgentSettings, privacy: PrivacyContext, regions: [ProviderID: String],
        logger: Logger
    ) async throws -> ReplyContext? {
        guard let model = agent.speechToTextModel, (context.inboundText ?? "").isEmpty, privacy.allows(.voice),
              let provider = context.providers[agent.providerID], provider.kind == .openai || provider.kind == .openaiCompatible,
              regions[provider.id].map(privacy.mayReach(region:)) ?? false
        else { return nil }
        let attachments = try await replies.inboundAttachments(job)
        guard let voice = attachments.first(where: { $0.kind == "voice" || $0.kind == "audio" }), let reference = voice.reference,
              let sealed = context.target.sealedCredentials, let connector = connectors[context.target.channelKind]
        else { return nil }
        do {
            let credentials = try secrets.openCredentials(sealed, tenant: job.tenantID, channel: context.target.channelID)
            let audio = try await connector.download(reference: reference, credentials: ChannelCredentials(credentials), http: http)
            let key = try provider.sealedAPIKey.map { try secrets.openAPIKey($0, tenant: job.tenantID, provider: provider.id) }
            let transcriber = OpenAIChatProvider(
                endpoint: ProviderEndpoint(kind: provider.kind, baseURL: provider.baseURL, apiKey: key), transport: transport
            )
            let text = try await transcriber.transcribe(
                audio: audio, fileName: voice.kind == "voice" ? "voice.ogg" : (voice.name ?? "audio"),
                mimeType: voice.mimeType ?? "audio/ogg", model: model
            ).trimmingCharacters(in: .whitespacesAndNewlines)
            guard !text.isEmpty else { return nil }
            try await replies.storeTranscript(job, text)
            logger.info("voice note transcribed", metadata: ["audio.bytes": "\(audio.count)"])
            return try await replies.context(for: job)
        } catch {
            logger.warning("the voice note was not transcribed; the agent sees it as [voice]", metadata: ["error": "\(error)"])
            // Not silently: the message says why, for the people reading the conversation.
            let reason = switch error {
            case let error as ConnectorError where error.code == .fileTooLarge:
                "the voice note is too large to transcribe: \(error.message)"
            case is ConnectorError: "the voice note could not be downloaded from the platform"
            default: "the voice note could not be transcribed"
            }
            try? await replies.noteUntranscribed(job, reason: reason)
            return nil
        }
    }

    /// The send job a reply worker stored already taken by itself: sent now, without a trip
    /// through the queue. Should this process die first, the lease runs out and another
    /// worker sends it.
    func deliverInline(_ send: ClaimedJob?, text: String, context: ReplyContext, logger: Logger) async throws {
        guard let send, policy.sendInline else { return }
        try await deliver(
            send,
            SendContext(messageID: send.messageID, text: text, deliveryStatus: "pending", aiGenerated: true, inReplyTo: context.inboundID, target: context.target),
            logger: logger
        )
    }

    /// The tenant's credits cannot cover the reply's worst case: no provider is called. The
    /// agent's out-of-credits reply is sent when it has one; otherwise a person takes over.
    func outOfCredits(_ job: ClaimedJob, context: ReplyContext, agent: AgentSettings, needed: Credits, logger: Logger) async throws {
        logger.warning("credits ran out: no provider is called", metadata: ["credits.needed": "\(needed.micros)"])
        guard let text = agent.outOfCreditsReply?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else {
            try await replies.settle(
                job, context: context, replyStatus: .handedOff, error: "the tenant's credits ran out", handoffReason: .outOfCredits
            )
            return
        }
        let send = try await replies.storeAnswer(
            job, context: context, text: text, providerID: nil, model: nil,
            usage: TokenCounts(input: 0, cachedInput: 0, output: 0, reasoning: 0, latencyMilliseconds: 0), calls: [], worker: worker,
            now: now(), lease: policy.lease, replyStatus: .outOfCredits
        )
        try await deliverInline(send, text: text, context: context, logger: logger)
    }

    /// The most the reply can cost: the dearest target of the chain at its worst case —
    /// every prompt byte counted as a token (no tokenizer makes more tokens than UTF-8
    /// bytes, plus a few per message for the framing) and every allowed output token.
    static func worstCase(of request: ModelRequest, chain: [RouteTarget], kinds: [ProviderID: ProviderKind], prices: PriceBook) -> Credits {
        let framing = 8
        let promptBytes = request.messages.reduce(request.systemPrompt?.utf8.count ?? 0) { $0 + $1.text.utf8.count + framing } + framing
        let output = request.maxOutputTokens ?? Agent.defaultMaxOutputTokens
        return chain.reduce(Credits.zero) { dearest, target in
            guard let kind = ProviderID(target.providerID).flatMap({ kinds[$0] }),
                  let price = prices.price(kind: kind, model: target.model)
            else { return dearest }
            return max(dearest, price.worstCase(inputTokens: promptBytes, maxOutputTokens: output))
        }
    }

    /// Tells the platform the inbound message arrived where it waits for that (a pressed
    /// Telegram button spins until answered), whoever answers it. Best effort: a failure
    /// is logged, and the reply goes on.
    func acknowledge(_ context: ReplyContext, tenant: TenantID, logger: Logger) async {
        guard let externalID = context.inboundExternalID, let sealed = context.target.sealedCredentials,
              let connector = connectors[context.target.channelKind], connector.needsAcknowledgement(messageID: externalID)
        else { return }
        do {
            let credentials = try secrets.openCredentials(sealed, tenant: tenant, channel: context.target.channelID)
            try await connector.acknowledge(messageID: externalID, credentials: ChannelCredentials(credentials), http: http)
        } catch {
            logger.warning("the platform did not take the acknowledgement", metadata: ["error": "\(error)"])
        }
    }

    /// The agent's provider, then its fallbacks, each with its key opened; only those
    /// `allowed` (by region) for this conversation.
    func targets(
        for agent: AgentSettings, context: ReplyContext, tenant: TenantID, allowed: (ProviderID) -> Bool = { _ in true }
    ) throws -> [RouteTarget] {
        let wanted = [(agent.providerID, agent.model)] + agent.fallbacks.map { ($0.providerID, $0.model) }
        return try wanted.compactMap { id, model in
            guard let provider = context.providers[id], allowed(id) else { return nil }
            let key = try provider.sealedAPIKey.map { try secrets.openAPIKey($0, tenant: tenant, provider: id) }
            let endpoint = ProviderEndpoint(kind: provider.kind, baseURL: provider.baseURL, apiKey: key)
            return RouteTarget(providerID: id.description, provider: makeModelProvider(endpoint, faq: agent.faq, transport: transport), model: model)
        }
    }

    /// The conversation as the model sees it: the person's messages as `user`, ours as
    /// `assistant`; attachments without text named by their kind; in a group, each
    /// person's message prefixed with their name.
    static func history(_ turns: [ReplyContext.Turn]) -> [ModelMessage] {
        turns.compactMap { turn in
            var text = turn.text ?? ""
            if text.isEmpty, !turn.attachmentKinds.isEmpty {
                text = turn.attachmentKinds.map { "[\($0)]" }.joined(separator: " ")
            }
            guard !text.isEmpty else { return nil }
            if let sender = turn.sender { text = "\(sender): \(text)" }
            return ModelMessage(role: turn.inbound ? .user : .assistant, text: text)
        }
    }

    /// Counts each call by its provider's kind and outcome, for the operator's metrics.
    func countCalls(_ attempts: [ModelAttempt], kinds: [ProviderID: ProviderKind]) {
        guard let metrics else { return }
        for attempt in attempts {
            let kind = ProviderID(attempt.providerID).flatMap { kinds[$0]?.rawValue } ?? "unknown"
            metrics.recordProviderCall(kind: kind, outcome: attempt.error?.kind.rawValue ?? "ok")
        }
    }

    static func records(_ attempts: [ModelAttempt], kinds: [ProviderID: ProviderKind]) -> [ModelCallRecord] {
        attempts.enumerated().map { index, attempt in
            let id = ProviderID(attempt.providerID)
            let usage = attempt.usage ?? .zero
            return ModelCallRecord(
                providerID: id, providerKind: id.flatMap { kinds[$0]?.rawValue }, model: attempt.model, attempt: index + 1,
                errorCode: attempt.error?.kind.rawValue, errorMessage: attempt.error.map { String($0.message.prefix(500)) },
                usage: TokenCounts(
                    input: usage.input, cachedInput: usage.cachedInput, output: usage.output, reasoning: usage.reasoning,
                    latencyMilliseconds: milliseconds(attempt.latency)
                )
            )
        }
    }

    /// The failure as a person reading the conversation should see it.
    static func describe(_ error: ModelProviderError) -> String {
        let status = error.status.map { " (\($0))" } ?? ""
        switch error.kind {
        case .unauthorized: return "the model provider rejected its API key\(status)"
        default: return "the model provider failed: \(error.kind.rawValue)\(status): \(error.message.prefix(300))"
        }
    }

    static func milliseconds(_ duration: Duration) -> Int {
        Int(duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000)
    }

    static func seconds(_ duration: Duration) -> TimeInterval {
        duration.timeInterval
    }

    // MARK: Send

    func send(_ job: ClaimedJob, _ document: JobDocument, logger: Logger) async throws {
        guard let context = try await replies.sendContext(for: job, document) else {
            try await jobs.fail(job, error: "the message no longer exists")
            return
        }
        if context.contactRestricted {
            try await replies.recordSend(job, sent: false, error: "the contact is restricted: nothing is sent", at: now())
            return
        }
        try await deliver(job, context, logger: logger)
    }

    /// Delivers a stored message through its channel and records the outcome with its job.
    func deliver(_ job: ClaimedJob, _ context: SendContext, logger: Logger) async throws {
        // The sent-marker: a message recorded as sent is never sent again.
        if let status = context.deliveryStatus, ["sent", "delivered", "read"].contains(status) {
            try await replies.recordSend(job, sent: true, at: now())
            return
        }
        let target = context.target
        guard let sealed = target.sealedCredentials, target.channelLive, let connector = connectors[target.channelKind] else {
            try await replies.recordSend(job, sent: false, error: "the channel was deleted or disabled", at: now())
            return
        }
        let credentials = try secrets.openCredentials(sealed, tenant: job.tenantID, channel: target.channelID)
        var extra = [
            "conversation_id": target.conversationID.description,
            "contact_id": target.contactID.description,
            "ai_generated": context.aiGenerated ? "true" : "false",
        ]
        extra["contact_external_id"] = target.contactExternalID
        extra["in_reply_to"] = context.inReplyTo?.description
        let outbound = OutboundMessage(
            chatExternalID: target.chatExternalID, text: context.text ?? "", idempotencyKey: context.messageID.description, context: extra
        )
        let receipt: SendReceipt
        do {
            receipt = try await connector.send(outbound, credentials: ChannelCredentials(credentials), http: http)
        } catch {
            let final = !error.retryable || job.attempt >= min(policy.maximumSendAttempts, policy.maximumAttempts)
            let hint = error.retryAfter.map { Duration.seconds($0) }
            let retryAt = final ? nil : now().addingTimeInterval(Self.seconds(policy.delay(after: job.attempt, hint: hint)))
            try await replies.recordSend(job, sent: false, error: String(error.message.prefix(500)), retryAt: retryAt, at: now())
            if final {
                logger.error("send failed for good", metadata: ["error": "\(error.code)"])
            } else {
                logger.warning("send failed; retried later", metadata: ["error": "\(error.code)"])
            }
            return
        }
        try await replies.recordSend(job, sent: true, externalID: receipt.externalIDs.first, at: now())
    }
}
