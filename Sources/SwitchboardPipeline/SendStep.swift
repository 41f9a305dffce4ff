public import ConnectorKit
public import Foundation
public import Logging
public import SwitchboardCore

/// A send job: delivers a stored outbound message through its channel's connector and
/// records the outcome with the job — sent (the sent-marker: never sent again), retried
/// with backoff, or failed for good.
public struct SendStep: Sendable {
    let queue: any JobQueue
    let replies: any ReplyStore
    let secrets: SecretBox
    let connectors: ConnectorRegistry
    let http: any OutboundHTTPClient
    let policy: JobPolicy
    let now: @Sendable () -> Date

    public init(
        queue: any JobQueue, replies: any ReplyStore, secrets: SecretBox, connectors: ConnectorRegistry, http: any OutboundHTTPClient, policy: JobPolicy,
        now: @escaping @Sendable () -> Date
    ) {
        self.queue = queue
        self.replies = replies
        self.secrets = secrets
        self.connectors = connectors
        self.http = http
        self.policy = policy
        self.now = now
    }

    public func run(_ job: ClaimedJob, _ document: JobDocument, logger: Logger) async throws {
        guard let context = try await replies.sendContext(for: job, document, logger: logger) else {
            try await queue.fail(job, error: "the message no longer exists", logger: logger)
            return
        }
        if context.contactRestricted {
            try await replies.recordSend(job, SendOutcome(sent: false, error: "the contact is restricted: nothing is sent", at: now()), logger: logger)
            return
        }
        try await deliver(job, context, logger: logger)
    }

    /// Delivers a stored message through its channel and records the outcome with its job.
    func deliver(_ job: ClaimedJob, _ context: SendContext, logger: Logger) async throws {
        // The sent-marker: a message recorded as sent is never sent again.
        if context.deliveryStatus?.isSent == true {
            try await replies.recordSend(job, SendOutcome(sent: true, at: now()), logger: logger)
            return
        }
        let target = context.target
        guard let sealed = target.sealedCredentials, target.channelLive, let connector = connectors[target.channelKind] else {
            try await replies.recordSend(job, SendOutcome(sent: false, error: "the channel was deleted or disabled", at: now()), logger: logger)
            return
        }
        let credentials = try secrets.openCredentials(sealed, tenant: job.tenantID, channel: target.channelID)
        let receipt: SendReceipt
        do {
            receipt = try await connector.send(Self.outbound(context), credentials: ChannelCredentials(credentials), http: http)
        } catch {
            let final = !error.retryable || job.attempt >= min(policy.maximumSendAttempts, policy.maximumAttempts)
            let hint = error.retryAfter.map { Duration.seconds($0) }
            let retryAt = final ? nil : now().addingTimeInterval(policy.delay(after: job.attempt, hint: hint).timeInterval)
            try await replies.recordSend(
                job,
                SendOutcome(
                    sent: false, error: String(error.message.prefix(500)), retryAt: retryAt, at: now(),
                    errorCode: final ? error.code.rawValue : nil
                ),
                logger: logger
            )
            if final {
                logger.error("send failed for good", metadata: ["error": "\(error.code)"])
            } else {
                logger.warning("send failed; retried later", metadata: ["error": "\(error.code)"])
            }
            return
        }
        try await replies.recordSend(job, SendOutcome(sent: true, externalID: receipt.externalIDs.first, at: now()), logger: logger)
    }

    /// The message as its connector sends it: the stored message's id is the idempotency
    /// key, and the context names the conversation (the webhook channel's callback body).
    static func outbound(_ context: SendContext) -> OutboundMessage {
        let target = context.target
        var extra = [
            "conversation_id": target.conversationID.description,
            "contact_id": target.contactID.description,
            "ai_generated": context.aiGenerated ? "true" : "false",
        ]
        extra["contact_external_id"] = target.contactExternalID
        extra["in_reply_to"] = context.inReplyTo?.description
        extra["reply_to_external_id"] = context.replyToExternalID
        extra["chat_title"] = target.chatTitle
        return OutboundMessage(
            chatExternalID: target.chatExternalID, text: context.text ?? "", idempotencyKey: context.messageID.description, context: extra,
            tag: context.tag,
            template: context.template.map { TemplateMessage(name: $0.name, language: $0.language, parameters: $0.parameters) }
        )
    }
}
