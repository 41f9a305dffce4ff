public import ConnectorKit
public import Foundation
public import Logging
public import SwitchboardCore
public import SwitchboardProviders

/// A reply job: the agent's answer to one inbound message, in the order the duties come —
/// the contact's rights and the tenant's policy first (`gate`), then the voice note's
/// transcript, the hand-off keyword, the providers the contact's data may reach, the
/// credits held for the worst case, the model call through the router, and the answer
/// stored with its exact charge and sent (`SendStep`).
public struct ReplyStep: Sendable {
    let queue: any JobQueue
    let replies: any ReplyStore
    /// Holds go through group commit: a busy tenant's many workers share its row lock.
    let ledger: LedgerBatcher
    /// The tenant's whole price book, when the context's does not cover a billed kind.
    let prices: any LedgerStore
    let secrets: SecretBox
    let connectors: ConnectorRegistry
    let http: any OutboundHTTPClient
    let transport: any ProviderTransport
    let router: ModelRouter
    let policy: JobPolicy
    let now: @Sendable () -> Date
    let worker: String
    let metrics: (any PipelineMetrics)?
    let sending: SendStep
    /// What the agent's tools act on; without it agents answer in a single call, tools or not.
    let tools: (any AgentToolStore)?

    /// The most model calls one reply makes when its agent has tools: a model still calling
    /// tools on the last round hands the conversation to a person.
    public static let maximumToolRounds = 4

    public init(
        queue: any JobQueue, replies: any ReplyStore, ledger: LedgerBatcher, prices: any LedgerStore, secrets: SecretBox,
        connectors: ConnectorRegistry, http: any OutboundHTTPClient, transport: any ProviderTransport, router: ModelRouter,
        policy: JobPolicy, now: @escaping @Sendable () -> Date, worker: String, metrics: (any PipelineMetrics)?, sending: SendStep,
        tools: (any AgentToolStore)? = nil
    ) {
        self.tools = tools
        self.queue = queue
        self.replies = replies
        self.ledger = ledger
        self.prices = prices
        self.secrets = secrets
        self.connectors = connectors
        self.http = http
        self.transport = transport
        self.router = router
        self.policy = policy
        self.now = now
        self.worker = worker
        self.metrics = metrics
        self.sending = sending
    }

    /// Whether the reply goes ahead with the channel's agent, or how it ends before
    /// anything is processed.
    enum Gate {
        case proceed(id: AgentID, settings: AgentSettings)
        case end(ReplySettlement, note: String?)
    }

    /// The checks that come before any processing: an answer already stored, a channel
    /// without an agent, a person answering, a message the contact withdrew, the channel's
    /// messaging window (`window`, checked at `now`: past it no model is called and nothing
    /// is charged), the contact's restriction and consent.
    static func gate(_ context: ReplyContext, window: MessagingWindow? = nil, now: Date = Date()) -> Gate {
        if context.answered { return .end(ReplySettlement(replyStatus: nil), note: nil) }
        guard let agent = context.agent, context.target.channelLive else {
            return .end(ReplySettlement(replyStatus: .skipped, error: "the channel has no agent"), note: nil)
        }
        guard context.target.mode == .ai else {
            return .end(ReplySettlement(replyStatus: .skipped, error: "a person is answering this conversation"), note: nil)
        }
        if context.inboundWithdrawn {
            return .end(ReplySettlement(replyStatus: .skipped, error: "the contact withdrew the message"), note: nil)
        }
        if let window, window.verdict(lastInbound: context.target.lastInboundAt, now: now, byPerson: false) != .open {
            return .end(
                ReplySettlement(replyStatus: .skipped, error: Self.windowClosed(window, kind: context.target.channelKind)),
                note: "not answered: the messaging window closed"
            )
        }
        if context.privacy.restricted {
            return .end(
                ReplySettlement(replyStatus: .skipped, error: "the contact is restricted: its data is kept, not processed"), note: nil
            )
        }
        if !context.privacy.allows(.aiProcessing) {
            return .end(
                ReplySettlement(
                    replyStatus: .handedOff, error: "the contact withdrew consent to AI processing", handoffReason: .consentWithdrawn
                ),
                note: "conversation handed off: no consent to AI processing"
            )
        }
        return .proceed(id: agent.id, settings: agent.settings)
    }

    public func run(_ job: ClaimedJob, _ document: JobDocument, logger: Logger) async throws {
        guard var context = try await replies.context(for: job, document, logger: logger) else {
            try await queue.fail(job, error: "the message no longer exists", logger: logger)
            return
        }
        if job.attempt == 1 { await acknowledge(context, tenant: job.tenantID, logger: logger) }
        let agentID: AgentID, agent: AgentSettings
        switch Self.gate(context, window: connectors[context.target.channelKind]?.messagingWindow, now: now()) {
        case .end(let settlement, let note):
            try await replies.settle(job, context: context, settlement, logger: logger)
            if let note { logger.info("\(note)") }
            return
        case .proceed(let id, let settings):
            (agentID, agent) = (id, settings)
        }
        let privacy = context.privacy, regions = context.providerRegions
        // A voice note becomes its transcript, where the agent transcribes and the
        // contact's voice consent allows; the audio itself is never stored.
        if let transcribed = try await transcribeVoice(job, context: context, agent: agent, logger: logger) {
            context = transcribed
        }
        if agent.asksForPerson(context.inboundText) {
            try await replies.settle(job, context: context, ReplySettlement(replyStatus: .handedOff, handoffReason: .keyword), logger: logger)
            logger.info("conversation handed off by keyword")
            return
        }
        let chain = try targets(
            for: agent, context: context, tenant: job.tenantID,
            allowed: { id in regions[id].map(privacy.mayReach(region:)) ?? false }
        )
        guard !chain.isEmpty else {
            let reason = privacy.allows(.crossBorder)
                ? "no provider of the agent is in a region the tenant's policy allows"
                : "the contact did not consent to cross-border transfer and no provider of the agent is in \(privacy.policy.homeRegion)"
            try await replies.settle(
                job, context: context,
                ReplySettlement(replyStatus: .failed, error: reason, handoffReason: .regionPolicy, jobStatus: .failed), logger: logger
            )
            logger.warning("no provider may receive this conversation", metadata: ["reason": "\(reason)"])
            return
        }
        // Identifiers are masked before they leave, the same one the same way throughout
        // the conversation; the answer gets them back for the person reading it.
        var redactor = PIIRedactor()
        var messages = Self.history(context.history)
        if privacy.policy.redactPII {
            messages = messages.map { ModelMessage(role: $0.role, text: redactor.redact($0.text)) }
        }
        let toolbox = tools.flatMap { store in agent.tools.isEmpty ? nil : (store, agent.tools.map(\.builtin)) }
        var request = ModelRequest(
            model: agent.model, systemPrompt: agent.systemPrompt.isEmpty ? nil : agent.systemPrompt,
            messages: messages, maxOutputTokens: agent.maxOutputTokens ?? Agent.defaultMaxOutputTokens,
            temperature: agent.temperature, tools: toolbox?.1.map(AgentToolbox.definition) ?? []
        )
        let kinds = context.providers.mapValues(\.kind)
        // Calls are charged at the prices of whoever serves them: a base URL on a known
        // vendor's host is that vendor, whatever kind the tenant declared.
        let billedKinds = context.providers.mapValues { ProviderBilling.billedKind(declared: $0.kind, baseURL: $0.baseURL) }
        var book = context.prices
        if billedKinds.values.contains(where: { kind in !book.prices.contains { $0.providerKind == kind } }) {
            // The context carries the prices of the declared kinds only.
            book = try await prices.priceBook(job.tenantID, logger: logger)
        }
        let reference = LedgerReference(
            kind: "message", id: context.inboundID.description, agentID: agentID, channelID: context.target.channelID,
            messageID: context.inboundID
        )

        // The agent loop: with tools, each answer that calls them has them run and their
        // results sent back, for at most `maximumToolRounds` calls. Each round is held and
        // charged like a single call; the message fee only on the round that answers.
        var closeAfterAnswer = false
        var round = 1
        while true {
            // Admission: hold the chain's worst case before any provider is called.
            let worstCase = Self.worstCase(of: request, chain: chain, kinds: billedKinds, prices: book)
            var holdID: UUID?
            if worstCase > .zero {
                let holdReference = round == 1 ? "reply:\(job.messageID):\(job.attempt)" : "reply:\(job.messageID):\(job.attempt):\(round)"
                let held = try await ledger.apply(job.tenantID, .hold(
                    reference: holdReference, amount: worstCase,
                    expiresAt: now().addingTimeInterval(policy.holdLifetime.timeInterval), reason: "the worst case of a reply",
                    for: reference
                ), logger: logger)
                guard held.outcome == .held || held.outcome == .duplicate, let id = held.holdID else {
                    metrics?.recordLedgerRefusal(operation: "hold")
                    try await outOfCredits(job, context: context, agent: agent, needed: worstCase, logger: logger)
                    return
                }
                holdID = id
            }

            let routed: RoutedResponse
            do {
                routed = try await router.complete(request, chain: chain)
            } catch {
                countCalls(error.attempts, kinds: kinds)
                try await settleFailure(
                    error, job: job, context: context, calls: Self.records(error.attempts, kinds: kinds), holdID: holdID, logger: logger
                )
                return
            }
            countCalls(routed.attempts, kinds: kinds)
            if routed.providerID != agent.providerID.description { metrics?.recordFallback() }
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
            let toolCalls = toolbox == nil ? [] : routed.response.toolCalls
            let handedOff = toolCalls.isEmpty && (routed.response.finishReason == .handoff || text.isEmpty)
            // The usage the provider reported, checked against what was sent and received (the
            // local FAQ uses no model: it has no tokens to count).
            let assessment = kinds[providerID] == .local
                ? UsageAssessment(billed: tokens, underReported: false)
                : TokenEstimate(prompt: Self.promptTexts(request), answer: routed.response.text).assess(tokens)
            if assessment.underReported {
                metrics?.recordUnderReportedUsage(kind: kinds[providerID]?.rawValue ?? "unknown")
                logger.warning("the provider reported less usage than the call sent and received; charged at the local estimate", metadata: [
                    "provider.id": "\(providerID)", "usage.reported_input": "\(tokens.input + tokens.cachedInput)",
                    "usage.reported_output": "\(tokens.output + tokens.reasoning)",
                    "usage.billed_input": "\(assessment.billed.input + assessment.billed.cachedInput)",
                    "usage.billed_output": "\(assessment.billed.output + assessment.billed.reasoning)",
                ])
            }
            let answers = toolCalls.isEmpty && !handedOff
            let capture = holdID.map { hold in
                let kind = billedKinds[providerID]
                let price = kind.flatMap { book.price(kind: $0, model: routed.model) }
                var target = reference
                target.providerKind = kind
                target.model = routed.model
                target.tokens = assessment.billed
                // The message fee is for an agent's message: a call that produced none pays its tokens only.
                let cost = price?.cost(of: assessment.billed, withMessageFee: answers) ?? .zero
                let reason = assessment.underReported
                    ? "reply by \(routed.model); usage raised to the local estimate: the provider reported under half of it"
                    : "reply by \(routed.model)"
                return LedgerOperation.capture(holdID: hold, amount: cost, reason: reason, reference: target)
            }
            if let (store, builtins) = toolbox, !toolCalls.isEmpty {
                guard round < Self.maximumToolRounds else {
                    try await replies.settle(
                        job, context: context,
                        ReplySettlement(
                            replyStatus: .handedOff, error: "the agent used its tool rounds without answering", handoffReason: .noAnswer,
                            calls: calls, capture: capture, holdID: holdID
                        ),
                        logger: logger
                    )
                    logger.info("conversation handed off: the agent used its tool rounds without answering")
                    return
                }
                // The round's charge and calls now, as a single call's would be with its answer.
                if let capture { _ = try await ledger.apply(job.tenantID, capture, logger: logger) }
                try await store.recordCalls(job.tenantID, inbound: context.inboundID, agent: agentID, calls, logger: logger)
                var results: [ModelToolResult] = []
                for call in toolCalls {
                    var arguments = call.arguments
                    for (placeholder, original) in redactor.replacements {
                        arguments = arguments.replacingOccurrences(of: placeholder, with: original)
                    }
                    let action = AgentToolbox.action(for: ModelToolCall(id: call.id, name: call.name, arguments: arguments), tools: builtins)
                    let outcome = try await store.perform(
                        job.tenantID,
                        AgentToolCall(
                            inboundID: context.inboundID, conversationID: context.target.conversationID, contactID: context.target.contactID,
                            round: round, callID: call.id.isEmpty ? "call_\(results.count)" : call.id, name: call.name,
                            arguments: arguments, action: try? action.get(),
                            refusal: { if case .failure(let refusal) = action { refusal.reason } else { nil } }()
                        ),
                        logger: logger
                    )
                    logger.info("the agent called a tool", metadata: [
                        "tool.name": "\(call.name.prefix(64))", "tool.round": "\(round)", "tool.error": "\(outcome.isError)",
                        "tool.repeated": "\(!outcome.performed)",
                    ])
                    if !outcome.isError, case .success(.handoff(let reason)) = action {
                        try await replies.settle(
                            job, context: context,
                            ReplySettlement(replyStatus: .handedOff, error: "the agent handed off: \(reason)", handoffReason: .noAnswer),
                            logger: logger
                        )
                        logger.info("conversation handed off by the agent's tool")
                        return
                    }
                    if !outcome.isError, case .success(.closeConversation) = action { closeAfterAnswer = true }
                    results.append(ModelToolResult(callID: call.id, name: call.name, content: outcome.result, isError: outcome.isError))
                }
                request.messages.append(ModelMessage(role: .assistant, text: routed.response.text, toolCalls: toolCalls))
                request.messages.append(ModelMessage(role: .user, toolResults: results))
                round += 1
                continue
            }
            if handedOff {
                try await replies.settle(
                    job, context: context,
                    ReplySettlement(replyStatus: .handedOff, handoffReason: .noAnswer, calls: calls, capture: capture, holdID: holdID),
                    logger: logger
                )
                if closeAfterAnswer, let store = toolbox?.0 {
                    try await store.closeConversation(job.tenantID, context.target.conversationID, logger: logger)
                }
                logger.info("conversation handed off: the agent had no answer")
                return
            }
            if let label = privacy.policy.aiLabel { text += "\n\n" + label }
            let send = try await replies.storeAnswer(
                job, context: context,
                StoredAnswer(
                    text: text, providerID: providerID, model: routed.model, usage: tokens, calls: calls, capture: capture, holdID: holdID
                ),
                worker: worker, now: now(), lease: policy.lease, logger: logger
            )
            if closeAfterAnswer, let store = toolbox?.0 {
                try await store.closeConversation(job.tenantID, context.target.conversationID, logger: logger)
                logger.info("conversation closed by the agent's tool")
            }
            try await deliverInline(send, text: text, context: context, logger: logger)
            return
        }
    }

    /// No provider answered: the reply is tried again later while attempts and the error
    /// allow, else the conversation goes to a person. Either way the hold is released.
    func settleFailure(
        _ failure: RoutingFailure, job: ClaimedJob, context: ReplyContext, calls: [ModelCallRecord], holdID: UUID?, logger: Logger
    ) async throws {
        let reason = Self.describe(failure.lastError)
        if failure.isRetryable, job.attempt < min(policy.maximumReplyAttempts, policy.maximumAttempts) {
            let runAfter = now().addingTimeInterval(policy.delay(after: job.attempt, hint: failure.lastError.retryAfter).timeInterval)
            try await replies.settle(
                job, context: context,
                ReplySettlement(replyStatus: nil, error: reason, calls: calls, jobStatus: .queued, runAfter: runAfter, holdID: holdID),
                logger: logger
            )
            logger.warning("no provider answered; the reply is retried later", metadata: ["error": "\(reason)"])
        } else {
            try await replies.settle(
                job, context: context,
                ReplySettlement(
                    replyStatus: .failed, error: reason, handoffReason: .providerError, calls: calls, jobStatus: .failed, holdID: holdID
                ),
                logger: logger
            )
            logger.error("no provider answered; the conversation goes to a person", metadata: ["error": "\(reason)"])
        }
    }

    /// Downloads the inbound voice note from the platform into memory, has the agent's
    /// provider transcribe it, keeps the transcript as the message's text, and answers the
    /// context anew; nil (the agent then sees `[voice]`) when the agent has no
    /// speech-to-text model, its provider cannot transcribe or may not receive this
    /// contact's data, the contact did not consent to voice processing, or a step failed.
    func transcribeVoice(_ job: ClaimedJob, context: ReplyContext, agent: AgentSettings, logger: Logger) async throws -> ReplyContext? {
        let privacy = context.privacy
        guard let model = agent.speechToTextModel, (context.inboundText ?? "").isEmpty, privacy.allows(.voice),
              let provider = context.providers[agent.providerID], provider.kind == .openai || provider.kind == .openaiCompatible,
              context.providerRegions[provider.id].map(privacy.mayReach(region:)) ?? false
        else { return nil }
        let attachments = try await replies.inboundAttachments(job, logger: logger)
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
            try await replies.storeTranscript(job, text, logger: logger)
            logger.info("voice note transcribed", metadata: ["audio.bytes": "\(audio.count)"])
            return try await replies.context(for: job, .unread, logger: logger)
        } catch {
            logger.warning("the voice note was not transcribed; the agent sees it as [voice]", metadata: ["error": "\(error)"])
            // Not silently: the message says why, for the people reading the conversation.
            let reason = switch error {
            case let error as ConnectorError where error.code == .fileTooLarge:
                "the voice note is too large to transcribe: \(error.message)"
            case is ConnectorError: "the voice note could not be downloaded from the platform"
            default: "the voice note could not be transcribed"
            }
            try? await replies.noteUntranscribed(job, reason: reason, logger: logger)
            return nil
        }
    }

    /// Why an answer past the window is not generated, and what a person can still do.
    static func windowClosed(_ window: MessagingWindow, kind: String) -> String {
        let hours = Int(window.freeForm / 3600)
        let still = window.tagged.map { "a person may still answer with the \($0.tag) tag within \(Int($0.until / 86400)) days" }
            ?? "only an approved template can reopen it"
        return "window_closed: the \(kind) messaging window closed \(hours) hours after the contact's last message; \(still)"
    }

    /// The send job a reply worker stored already taken by itself: sent now, without a trip
    /// through the queue. Should this process die first, the lease runs out and another
    /// worker sends it.
    func deliverInline(_ send: ClaimedJob?, text: String, context: ReplyContext, logger: Logger) async throws {
        guard let send, policy.sendInline else { return }
        try await sending.deliver(
            send,
            SendContext(
                messageID: send.messageID, text: text, deliveryStatus: .pending, aiGenerated: true, inReplyTo: context.inboundID,
                target: context.target, replyToExternalID: context.inboundExternalID
            ),
            logger: logger
        )
    }

    /// The tenant's credits cannot cover the reply's worst case: no provider is called. The
    /// agent's out-of-credits reply is sent when it has one; otherwise a person takes over.
    func outOfCredits(_ job: ClaimedJob, context: ReplyContext, agent: AgentSettings, needed: Credits, logger: Logger) async throws {
        logger.warning("credits ran out: no provider is called", metadata: ["credits.needed": "\(needed.micros)"])
        guard let text = agent.outOfCreditsReply?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else {
            try await replies.settle(
                job, context: context,
                ReplySettlement(replyStatus: .handedOff, error: "the tenant's credits ran out", handoffReason: .outOfCredits),
                logger: logger
            )
            return
        }
        let send = try await replies.storeAnswer(
            job, context: context,
            StoredAnswer(
                text: text, providerID: nil, model: nil,
                usage: TokenCounts(input: 0, cachedInput: 0, output: 0, reasoning: 0, latencyMilliseconds: 0), calls: [],
                replyStatus: .outOfCredits
            ),
            worker: worker, now: now(), lease: policy.lease, logger: logger
        )
        try await deliverInline(send, text: text, context: context, logger: logger)
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

    /// Counts each call by its provider's kind and outcome, for the operator's metrics.
    func countCalls(_ attempts: [ModelAttempt], kinds: [ProviderID: ProviderKind]) {
        guard let metrics else { return }
        for attempt in attempts {
            let kind = ProviderID(attempt.providerID).flatMap { kinds[$0]?.rawValue } ?? "unknown"
            metrics.recordProviderCall(kind: kind, outcome: attempt.error?.kind.rawValue ?? "ok")
        }
    }
}

// The pure parts of a reply: what the model sees, what the reply may cost, what is recorded.
extension ReplyStep {
    /// The most the reply can cost: the dearest target of the chain at its worst case —
    /// every prompt byte counted as a token (no tokenizer makes more tokens than UTF-8
    /// bytes, plus a few per message for the framing) and every allowed output token.
    static func worstCase(of request: ModelRequest, chain: [RouteTarget], kinds: [ProviderID: ProviderKind], prices: PriceBook) -> Credits {
        let framing = 8
        let toolBytes = request.tools.reduce(0) { $0 + $1.name.utf8.count + $1.description.utf8.count + $1.parameters.serialized.utf8.count }
        let promptBytes = request.messages.reduce(request.systemPrompt?.utf8.count ?? 0) { total, message in
            total + message.text.utf8.count + framing
                + message.toolCalls.reduce(0) { $0 + $1.id.utf8.count + $1.name.utf8.count + $1.arguments.utf8.count + framing }
                + message.toolResults.reduce(0) { $0 + $1.callID.utf8.count + $1.name.utf8.count + $1.content.utf8.count + framing }
        } + toolBytes + framing
        let output = request.maxOutputTokens ?? Agent.defaultMaxOutputTokens
        return chain.reduce(Credits.zero) { dearest, target in
            guard let kind = ProviderID(target.providerID).flatMap({ kinds[$0] }),
                  let price = prices.price(kind: kind, model: target.model)
            else { return dearest }
            return max(dearest, price.worstCase(inputTokens: promptBytes, maxOutputTokens: output))
        }
    }

    /// Every text a request sends: the system prompt, each message with its tool calls and
    /// results, and the tools' definitions.
    static func promptTexts(_ request: ModelRequest) -> [String] {
        var texts = [request.systemPrompt ?? ""]
        for message in request.messages {
            texts.append(message.text)
            for call in message.toolCalls { texts.append(call.id + call.name + call.arguments) }
            for result in message.toolResults { texts.append(result.callID + result.name + result.content) }
        }
        for tool in request.tools { texts.append(tool.name + tool.description + tool.parameters.serialized) }
        return texts
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
}
