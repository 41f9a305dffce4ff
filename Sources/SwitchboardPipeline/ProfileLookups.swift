public import ConnectorKit
public import Foundation
public import Logging
public import SwitchboardCore

/// Looks up, once, the name and username of contacts who arrived as bare platform ids
/// (Instagram's IGSID, Messenger's PSID), through the channel they wrote on. The message
/// was stored without them; a look-up that fails is tried again with backoff (a minute,
/// doubling, up to a day), and given up after `maximumAttempts`.
public struct ProfileLookups: Sendable {
    let store: any ProfileStore
    let connectors: ConnectorRegistry
    let secrets: SecretBox
    let http: any OutboundHTTPClient
    /// Contacts looked up per run.
    let batch: Int
    public static let maximumAttempts = 10

    public init(store: any ProfileStore, connectors: ConnectorRegistry, secrets: SecretBox, http: any OutboundHTTPClient, batch: Int = 20) {
        self.store = store
        self.connectors = connectors
        self.secrets = secrets
        self.http = http
        self.batch = batch
    }

    /// The chore: every 30 seconds, the due look-ups.
    public var chore: Maintenance.Chore {
        Maintenance.Chore(name: "profile look-ups", interval: .seconds(30)) { now, logger in
            let done = try await run(now: now, logger: logger)
            return done.found + done.failed == 0 ? nil : "profiles looked up: \(done.found) found, \(done.failed) to retry"
        }
    }

    /// One run: answers how many were found and how many failed.
    @discardableResult
    public func run(now: Date, logger: Logger) async throws -> (found: Int, failed: Int) {
        let due = try await store.dueProfiles(now: now, limit: batch, lease: .seconds(300), logger: logger)
        var found = 0, failed = 0
        for contact in due {
            guard let connector = connectors[contact.channelKind], connector.looksUpProfiles, let externalID = contact.externalID else {
                try await store.recordProfile(contact, name: nil, username: nil, retryAt: nil, logger: logger)
                continue
            }
            do {
                let credentials = try secrets.openCredentials(contact.sealedCredentials, tenant: contact.tenantID, channel: contact.channelID)
                let profile = try await connector.profile(of: externalID, credentials: ChannelCredentials(credentials), http: http)
                try await store.recordProfile(
                    contact, name: profile?.name.map(StorableText.sanitize), username: profile?.username.map(StorableText.sanitize),
                    retryAt: nil, logger: logger
                )
                found += 1
            } catch let error as ConnectorError where !error.retryable && error.code != .credentialsRejected {
                // The platform has no profile to give (a deleted account): asking again will not help.
                try await store.recordProfile(contact, name: nil, username: nil, retryAt: nil, logger: logger)
                logger.info("no profile to look up", metadata: ["contact.id": "\(contact.contactID)", "error": "\(error.code)"])
            } catch {
                failed += 1
                let attempts = contact.attempts + 1
                let retryAt = attempts >= Self.maximumAttempts
                    ? nil : now.addingTimeInterval(Self.backoff(after: attempts))
                try await store.recordProfile(contact, name: nil, username: nil, retryAt: retryAt, logger: logger)
                logger.warning("profile look-up failed", metadata: ["contact.id": "\(contact.contactID)", "attempt": "\(attempts)"])
            }
        }
        return (found, failed)
    }

    /// A minute after the first failure, doubling, at most a day.
    static func backoff(after attempts: Int) -> TimeInterval {
        min(60 * pow(2, Double(min(attempts, 20) - 1)), 86400)
    }
}
