public import Foundation

/// A typed, opaque identifier: a UUID that remembers what it names.
///
/// Ids travel as lowercase UUID strings. A string that is not a UUID names nothing, so
/// callers map a failed parse to "not found", never to a different error (no oracle).
public struct Identifier<Tag>: Hashable, Sendable, Codable, CustomStringConvertible {
    public let uuid: UUID

    public init(_ uuid: UUID = UUID()) { self.uuid = uuid }

    /// Parses the wire form; `nil` when the string is not a UUID.
    public init?(_ string: String) {
        guard let uuid = UUID(uuidString: string) else { return nil }
        self.uuid = uuid
    }

    public var description: String { uuid.uuidString.lowercased() }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let string = try container.decode(String.self)
        guard let value = Identifier(string) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an id")
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

public enum TenantTag {}
public enum APIKeyTag {}

/// Names a tenant: the unit of isolation for every row Switchboard keeps.
public typealias TenantID = Identifier<TenantTag>
/// Names one API key of a tenant.
public typealias APIKeyID = Identifier<APIKeyTag>

public enum ChannelTag {}
public enum ContactTag {}
public enum ConversationTag {}
public enum MessageTag {}
public enum NoteTag {}
public enum DealTag {}

/// Names a messenger, mailbox or webhook channel of a tenant.
public typealias ChannelID = Identifier<ChannelTag>
/// Names a person a tenant talks to.
public typealias ContactID = Identifier<ContactTag>
/// Names a conversation: one chat of one channel, open or closed.
public typealias ConversationID = Identifier<ConversationTag>
/// Names one stored message, inbound or outbound.
public typealias MessageID = Identifier<MessageTag>
/// Names a note on a contact.
public typealias NoteID = Identifier<NoteTag>
/// Names a deal with a contact.
public typealias DealID = Identifier<DealTag>

public enum ProviderTag {}
public enum AgentTag {}
public enum JobTag {}

/// Names a model provider a tenant configured (its kind, endpoint and key).
public typealias ProviderID = Identifier<ProviderTag>
/// Names an agent: the model, prompt and rules that answer a channel's messages.
public typealias AgentID = Identifier<AgentTag>
/// Names one job of the outbox (a reply to generate, a message to send).
public typealias JobID = Identifier<JobTag>

public enum UserTag {}
/// Names a person of a tenant's team (who signs in to the workspace).
public typealias UserID = Identifier<UserTag>
