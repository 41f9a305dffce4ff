public import ConnectorKit
public import Foundation
import IMAPClient
import MailMIME
import MailTransport
import NIOSSL
import SMTPClient

/// A mailbox as a channel: its IMAP inbox is watched (IDLE where the server offers it, a
/// poll otherwise) and what arrives is fetched by UID into the same ingest as a webhook's
/// deliveries; replies go out by SMTP submission with the headers that keep the thread.
///
/// The connector is a value shared by every mailbox channel; the settings of one come in
/// with each call (`EmailCredentials`). What it keeps between calls is only what a mail
/// client would: the open IMAP sessions (`IMAPSessions`) and OAuth access tokens
/// (`OAuthTokens`). Every connection tunnels through the egress gate.
public final class EmailConnector: PullingConnector, DescribedConnector {
    public static let description = ConnectorDescription(
        kind: "email", apiBase: nil,
        // The tenant's own mail provider (Gmail, Microsoft 365, Yandex, its own server).
        subProcessor: .init(name: "The tenant's mail provider", region: nil), arrival: .pulled
    )

    public let kind = "email"
    let options: MailTransportOptions
    let now: @Sendable () -> Date
    let sessions: IMAPSessions
    let tokens: OAuthTokens
    /// Mails fetched per pull at most, and the bytes of one mail fetched at most (a larger
    /// one is read to here: its text and the names of the attachments that begin before).
    /// A pull holds at most their product in memory (100 MiB, for a backlog of large mail).
    let batchLimit: Int
    let maximumMailBytes: Int

    public init(
        egressProxy: ConnectorEnvironment.EgressProxy?, extraTrustRootsFile: String? = nil, now: @escaping @Sendable () -> Date = Date.init,
        batchLimit: Int = 100, maximumMailBytes: Int = 1 << 20
    ) {
        var options = MailTransportOptions(proxy: egressProxy.map { MailProxy(host: $0.host, port: $0.port, authorization: $0.authorization) })
        if let extraTrustRootsFile { options.additionalTrustRoots = [.file(extraTrustRootsFile)] }
        self.options = options
        self.now = now
        self.sessions = IMAPSessions(now: now)
        self.tokens = OAuthTokens(now: now)
        self.batchLimit = batchLimit
        self.maximumMailBytes = maximumMailBytes
    }

    public static func make(apiBase: URL?, now: @escaping @Sendable () -> Date) -> EmailConnector {
        EmailConnector(egressProxy: nil, now: now)
    }

    public static func make(_ environment: ConnectorEnvironment) -> EmailConnector {
        EmailConnector(egressProxy: environment.egressProxy, extraTrustRootsFile: environment.extraTrustRootsFile, now: environment.now)
    }

    // MARK: Credentials

    public func prepareCredentials(_ submitted: [String: String]) throws(ConnectorError) -> PreparedCredentials {
        _ = try EmailCredentials(submitted)
        return PreparedCredentials(stored: EmailCredentials.stored(submitted))
    }

    /// Logs in to both servers before the channel is stored, and says which refused.
    public func register(webhookURL: String, credentials: ChannelCredentials, http: any OutboundHTTPClient) async throws(ConnectorError) {
        let settings = try EmailCredentials(credentials.values)
        let session = try await openIMAP(settings, http: http, forCheck: true)
        await session.session.logout()
        let smtp = try await openSMTP(settings, http: http, forCheck: true)
        await smtp.quit()
    }

    // MARK: Pushed deliveries: none

    public func verify(_ delivery: WebhookDelivery, credentials: ChannelCredentials) throws(ConnectorError) {
        throw ConnectorError(.unauthorized, "a mailbox channel is fetched by the server; nothing is delivered to it")
    }

    public func parse(_ delivery: WebhookDelivery, credentials: ChannelCredentials) throws(ConnectorError) -> [InboundEvent] {
        throw ConnectorError(.malformed, "a mailbox channel is fetched by the server; nothing is delivered to it")
    }

    // MARK: Fetching

    public func pull(
        after cursor: String?, credentials: ChannelCredentials, http: any OutboundHTTPClient, wait: Duration
    ) async throws(ConnectorError) -> PulledBatch {
        let settings = try EmailCredentials(credentials.values)
        var entry: IMAPSessions.Entry
        if let open = sessions.take(settings) {
            entry = open
        } else {
            entry = try await openIMAP(settings, http: http, forCheck: false)
        }
        let session = entry.session
        do {
            // A cancelled pull (the channel stopped, the server shuts down) closes its
            // connection, so an IDLE in progress ends now.
            let batch = try await withTaskCancellationHandler {
                try await pull(entry: &entry, settings: settings, after: EmailCursor(cursor), wait: wait)
            } onCancel: {
                Task { await session.close() }
            }
            if Task.isCancelled {
                await session.close()
            } else {
                sessions.put(settings, entry)
            }
            return batch
        } catch {
            await session.logout()
            throw Self.failure(anyError: error, side: "IMAP")
        }
    }

    /// One pull on an open session: the mails after the cursor, or, with none waiting,
    /// IDLE (or a NOOP poll) until some arrive or `wait` passes, and then those.
    func pull(entry: inout IMAPSessions.Entry, settings: EmailCredentials, after cursor: EmailCursor?, wait: Duration) async throws(IMAPError) -> PulledBatch {
        let validity = entry.status.uidValidity
        var start: EmailCursor
        if let cursor, cursor.uidValidity == validity {
            start = cursor
        } else if cursor == nil && !settings.importExisting {
            // A new channel answers what arrives from now on.
            start = EmailCursor(uidValidity: validity, lastUID: (entry.status.uidNext ?? 1) &- 1)
        } else {
            // The mailbox was made anew (or the tenant asked for its mail): every UID counts
            // again; mail stored before is known by its Message-ID and stored once.
            start = EmailCursor(uidValidity: validity, lastUID: 0)
        }
        var uids = try await entry.session.uids(after: start.lastUID, limit: batchLimit)
        if uids.isEmpty && wait > .zero {
            let arrived = entry.session.supportsIdle ? try await entry.session.idle(wait: wait) : try await entry.session.noop()
            if arrived { uids = try await entry.session.uids(after: start.lastUID, limit: batchLimit) }
        }
        guard !uids.isEmpty else {
            return PulledBatch(events: [], payload: [], cursor: start.description)
        }
        let mails = try await entry.session.fetch(uids: uids, maximumBytes: maximumMailBytes)
        let events = mails.map { InboundEvent(mail: $0, uidValidity: validity, mailbox: settings.address) }
        start.lastUID = max(start.lastUID, uids.max() ?? 0)
        return PulledBatch(events: events, payload: [], cursor: start.description)
    }

    func openIMAP(_ settings: EmailCredentials, http: any OutboundHTTPClient, forCheck: Bool) async throws(ConnectorError) -> IMAPSessions.Entry {
        let login: IMAPLogin
        switch settings.secret {
        case .password(let imap, _): login = IMAPLogin(user: settings.imapUser, secret: .password(imap))
        case .oauth(let client): login = IMAPLogin(user: settings.imapUser, secret: .oauth2AccessToken(try await tokens.accessToken(client, http: http)))
        }
        do throws(IMAPError) {
            let session = try await IMAPSession.connect(to: settings.imap, login: login, options: options)
            do throws(IMAPError) {
                let status = try await session.select(settings.mailbox)
                return IMAPSessions.Entry(session: session, status: status, lastUsed: now())
            } catch {
                await session.logout()
                throw error
            }
        } catch {
            if case .oauth(let client) = settings.secret, error.kind == .authenticationFailed { tokens.forget(client) }
            throw Self.failure(error, side: "IMAP", forCheck: forCheck)
        }
    }

    // MARK: Sending

    public func send(_ message: OutboundMessage, credentials: ChannelCredentials, http: any OutboundHTTPClient) async throws(ConnectorError) -> SendReceipt {
        let settings = try EmailCredentials(credentials.values)
        let recipient = message.context["contact_external_id"] ?? message.chatExternalID
        guard MailAddressCheck.isAddress(recipient) else {
            throw ConnectorError(.sendFailed, "the conversation has no mail address to answer", retryable: false)
        }
        let domain = settings.address.split(separator: "@").last.map(String.init) ?? "switchboard.invalid"
        let id = "\(message.idempotencyKey)@\(domain)"
        let answered = message.context["reply_to_external_id"]
        var references: [String] = []
        if message.chatExternalID.contains("@"), message.chatExternalID != recipient { references.append(message.chatExternalID) }
        if let answered, !references.contains(answered) { references.append(answered) }
        let mail = OutgoingMail(
            from: MailAddress(name: settings.displayName, address: settings.address), to: [MailAddress(name: nil, address: recipient)],
            subject: OutgoingMail.replySubject(message.context["chat_title"]), text: message.text, messageID: id,
            inReplyTo: answered, references: references, date: now(), isAutomatic: message.context["ai_generated"] == "true"
        )
        let session = try await openSMTP(settings, http: http, forCheck: false)
        do {
            _ = try await session.send(mail.rendered(), envelope: SMTPEnvelope(sender: settings.address, recipients: [recipient]))
        } catch {
            await session.quit()
            throw Self.failure(error)
        }
        await session.quit()
        return SendReceipt(externalIDs: [id])
    }

    func openSMTP(_ settings: EmailCredentials, http: any OutboundHTTPClient, forCheck: Bool) async throws(ConnectorError) -> SMTPSession {
        let secret: SMTPAuthentication.Secret
        switch settings.secret {
        case .password(_, let smtp): secret = .password(smtp)
        case .oauth(let client): secret = .oauth2AccessToken(try await tokens.accessToken(client, http: http))
        }
        do {
            return try await SMTPSession.connect(
                to: settings.smtp, authentication: SMTPAuthentication(user: settings.smtpUser, secret: secret),
                clientName: settings.address.split(separator: "@").last.map(String.init) ?? "localhost", options: options
            )
        } catch {
            if case .oauth(let client) = settings.secret, error.kind == .authenticationFailed { tokens.forget(client) }
            if forCheck {
                throw ConnectorError(
                    .credentialsRejected, "SMTP (\(settings.smtp.host):\(settings.smtp.port)): \(error.description)",
                    field: error.kind == .authenticationFailed ? "smtp_password" : "smtp_host"
                )
            }
            throw Self.failure(error)
        }
    }

    // MARK: Errors

    static func failure(_ error: IMAPError, side: String, forCheck: Bool = false) -> ConnectorError {
        let message = "\(side): \(error.description)"
        switch error.kind {
        case .authenticationFailed:
            return ConnectorError(.credentialsRejected, message, field: "password", retryable: !forCheck)
        case .mailboxMissing:
            return ConnectorError(.credentialsRejected, message, field: "mailbox", retryable: !forCheck)
        default:
            return forCheck
                ? ConnectorError(.credentialsRejected, message, field: "imap_host")
                : ConnectorError(.sendFailed, message, retryable: true)
        }
    }

    static func failure(anyError error: any Error, side: String) -> ConnectorError {
        if let error = error as? IMAPError { return failure(error, side: side, forCheck: false) }
        if let error = error as? ConnectorError { return error }
        return ConnectorError(.sendFailed, "\(side): \(error)", retryable: true)
    }

    static func failure(_ error: SMTPError) -> ConnectorError {
        ConnectorError(.sendFailed, "SMTP: \(error.description)", retryable: !error.isPermanent)
    }
}
