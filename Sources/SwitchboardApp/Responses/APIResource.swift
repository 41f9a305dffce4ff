import Foundation
import Hummingbird
import SwitchboardCore

/// A JSON answer of the API: one type per resource, so its fields are named once, in its
/// `CodingKeys` (snake_case raw values: the encoder has no key strategy, so the keys of a
/// dictionary it carries — an attachment's `details`, a channel's credentials — go out as
/// the platform or the tenant wrote them). Every answer leaves through
/// `JSONBody.response`, whether a handler calls it (for a status or a secret) or returns
/// the value itself.
protocol APIResource: ResponseEncodable, Sendable {}

extension APIResource {
    func response(from request: Request, context: some RequestContext) throws -> Response {
        try JSONBody.response(self)
    }
}

/// An optional field that reads `null` when absent: synthesized `Encodable` leaves a
/// `nil` out, and the API shows every field of a resource, set or not.
@propertyWrapper
struct Nullable<Value: Encodable & Sendable>: Encodable, Sendable {
    var wrappedValue: Value?

    init(wrappedValue: Value?) { self.wrappedValue = wrappedValue }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let wrappedValue { try container.encode(wrappedValue) } else { try container.encodeNil() }
    }
}

/// A list answer: `{"data": [...], "next_cursor": "<opaque>" | null}`.
struct ListResponse<Element: Encodable & Sendable>: APIResource {
    var data: [Element]
    @Nullable var nextCursor: String?

    init(data: [Element], nextCursor: String?) {
        self.data = data
        self.nextCursor = nextCursor
    }

    init<Source>(_ page: Page<Source>, _ render: (Source) -> Element) {
        self.init(data: page.data.map(render), nextCursor: page.nextCursor)
    }

    enum CodingKeys: String, CodingKey { case data, nextCursor = "next_cursor" }
}

/// The answer of a delete: `{"id": …, "deleted": true}`, with what went with it
/// (`removed`, rows by table) when the caller asked for the data to go too.
struct DeletedResponse: APIResource {
    var id: String
    var deleted = true
    var removed: [String: Int]?

    init(_ id: some CustomStringConvertible, removed: [String: Int]? = nil) {
        self.id = id.description
        self.removed = removed
    }

    enum CodingKeys: String, CodingKey { case id, deleted, removed }
}

/// `{"status": "ok"}` of the health and readiness probes.
struct StatusResponse: APIResource {
    var status: String

    enum CodingKeys: String, CodingKey { case status }
}
