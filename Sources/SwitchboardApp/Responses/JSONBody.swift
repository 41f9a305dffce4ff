import Foundation
public import HTTPTypes
public import Hummingbird
import SwitchboardCore

/// A request body the API accepts: its `CodingKeys` list every field a caller may send,
/// so unknown fields are refused by name.
public protocol RequestBody: Decodable, Sendable {
    associatedtype CodingKeys: CodingKey & CaseIterable
}

/// Reading request bodies strictly and writing JSON responses.
public enum JSONBody {
    /// Request bodies over 1 MiB are refused with 413 (the published limit: README, "Limits").
    public static let maximumSize = 1 << 20

    /// Fields no caller may set, whatever the route: refused as "may not be set".
    static let readOnlyFields: Set<String> = [
        "id", "tenant_id", "created_at", "updated_at", "balance_micros", "held_micros", "prefix", "key",
        "last_used_at", "revoked_at",
    ]

    /// Decodes `T` from the request body: 415 unless it is JSON, 413 over the limit, 400
    /// for malformed JSON, unknown or read-only fields, and wrong types (naming the field).
    /// An empty body decodes as `{}`, so a body whose fields are all optional may be left out.
    public static func decode<T: RequestBody>(
        _ type: T.Type, from request: Request, context: some RequestContext
    ) async throws -> T {
        var request = request
        let buffer = try await request.collectBody(upTo: maximumSize)
        var data = Data(buffer.readableBytesView)
        if data.isEmpty {
            data = Data("{}".utf8)
        } else {
            let mediaType = request.headers[.contentType].flatMap { MediaType(from: $0) }
            guard let mediaType, mediaType.isType(.applicationJson) else {
                throw SwitchboardError(.unsupportedMediaType, "the request body must be JSON (Content-Type: application/json)")
            }
        }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            throw SwitchboardError.invalid("the request body is not valid JSON")
        }
        guard let fields = object as? [String: Any] else {
            throw SwitchboardError.invalid("the request body must be a JSON object")
        }
        let allowed = Set(T.CodingKeys.allCases.map(\.stringValue))
        for name in fields.keys.sorted() where !allowed.contains(name) {
            if readOnlyFields.contains(name) {
                throw SwitchboardError.invalid("\(name) is set by Switchboard and may not be sent", field: name)
            }
            throw SwitchboardError.invalid("unknown field \(name)", field: name)
        }
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch let error as DecodingError {
            var described = describe(error)
            // Foundation reports a number that fits no integer type without a coding path:
            // every integer field of this API is an exact Int64, so name the one that is not.
            if described.field == nil, let name = fields.keys.sorted().first(where: { isInexactInteger(fields[$0]) }) {
                described = .invalid("\(name) must be an integer that fits in 64 bits", field: name)
            }
            throw described
        }
    }

    static func isInexactInteger(_ value: Any?) -> Bool {
        guard let number = value as? NSNumber, !(value is Bool) else { return false }
        let double = number.doubleValue
        return double != double.rounded() || abs(double) >= 9.2e18
    }

    static func describe(_ error: DecodingError) -> SwitchboardError {
        func path(_ context: DecodingError.Context) -> String? {
            let names = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
            return names.isEmpty ? nil : names.joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
        }
        switch error {
        case .keyNotFound(let key, let context):
            let parent = path(context)
            let name = parent.map { "\($0).\(key.stringValue)" } ?? key.stringValue
            return .invalid("\(name) is required", field: name)
        case .typeMismatch(let type, let context):
            let name = path(context)
            return .invalid("\(name ?? "the body") must be \(describe(type))", field: name)
        case .valueNotFound(let type, let context):
            let name = path(context)
            return .invalid("\(name ?? "the body") must be \(describe(type)), not null", field: name)
        case .dataCorrupted(let context):
            let name = path(context)
            return .invalid("\(name ?? "the body") has an invalid value", field: name)
        @unknown default:
            return .invalid("the request body is invalid")
        }
    }

    static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int64.Type, is Int.Type, is Int32.Type: "an integer"
        case is Bool.Type: "true or false"
        case is Double.Type: "a number"
        default: "of another type"
        }
    }

    /// The one way an answer of the API is written: JSON with the API's conventions
    /// (snake_case keys, RFC 3339 UTC times), with its status; an answer that carries a
    /// secret shown once (an API key, a generated channel secret) also says
    /// `Cache-Control: no-store`, so neither caches nor Idempotency-Key replays keep it.
    static func response(_ value: some APIResource, status: HTTPResponse.Status = .ok, secret: Bool = false) throws -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        if secret { headers[.cacheControl] = "no-store" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
    }

    /// No key strategy: each answer's `CodingKeys` name its fields in snake_case, and the
    /// keys of the dictionaries it carries are data, written as they are.
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()
}

extension Request {
    /// The page a list call asks for (`limit`, `cursor`).
    func pageRequest() throws -> PageRequest {
        let query = uri.queryParameters
        return try PageRequest.parse(
            limit: query["limit"].map(String.init),
            cursor: query["cursor"].map(String.init)
        )
    }
}
