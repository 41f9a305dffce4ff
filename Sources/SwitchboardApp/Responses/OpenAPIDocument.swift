public import Foundation

/// The OpenAPI 3.1 description of the public surface, served at `/openapi.json`.
///
/// `Resources/openapi.json` holds the paths, shapes and prose, kept by hand beside the
/// routes; the constraints the validators enforce (lengths, patterns, the time-zone names)
/// are merged into it from the validators' own declarations (`OpenAPIConstraints`), so
/// the document cannot say other than what the server checks. Tests fail when a route is
/// served that the document lacks or the other way round, and when a constraint points at
/// nothing in the file.
public enum OpenAPIDocument {
    public static func data() throws -> Data {
        try served.get()
    }

    /// Built once: the file with the constraints merged in.
    static let served: Result<Data, any Error> = Result {
        let object = try JSONSerialization.jsonObject(with: try file())
        let merged = try OpenAPIConstraints.all.reduce(object) { document, constraint in
            try merge(constraint.schema.mapValues(\.any), into: document, at: constraint.pointer)
        }
        return try JSONSerialization.data(withJSONObject: merged, options: [.sortedKeys, .withoutEscapingSlashes])
    }

    /// The hand-kept file, as it is in the bundle.
    static func file() throws -> Data {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "json", subdirectory: "Resources")
            ?? Bundle.module.url(forResource: "openapi", withExtension: "json")
        else {
            throw ConfigurationError("openapi.json is missing from this build")
        }
        return try Data(contentsOf: url)
    }

    /// `node` with `keywords` set on the object at `pointer` (JSON Pointer segments; `@name`
    /// picks the element of an array whose `name` is `name`, as in a parameter list).
    static func merge(_ keywords: [String: Any], into node: Any, at pointer: String) throws -> Any {
        let segments = pointer.split(separator: "/", omittingEmptySubsequences: true).map {
            $0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
        }
        return try merge(keywords, into: node, segments[...], pointer: pointer)
    }

    private static func merge(_ keywords: [String: Any], into node: Any, _ segments: ArraySlice<String>, pointer: String) throws -> Any {
        guard let segment = segments.first else {
            guard var object = node as? [String: Any] else { throw ConfigurationError("openapi.json: \(pointer) is not an object") }
            object.merge(keywords) { _, new in new }
            return object
        }
        if var object = node as? [String: Any], let child = object[segment] {
            object[segment] = try merge(keywords, into: child, segments.dropFirst(), pointer: pointer)
            return object
        }
        if var array = node as? [Any], segment.hasPrefix("@"),
           let index = array.firstIndex(where: { ($0 as? [String: Any])?["name"] as? String == String(segment.dropFirst()) }) {
            array[index] = try merge(keywords, into: array[index], segments.dropFirst(), pointer: pointer)
            return array
        }
        throw ConfigurationError("openapi.json has nothing at \(pointer) (at \(segment))")
    }
}

extension JSONValue {
    /// The value as `JSONSerialization` takes it.
    var any: Any {
        switch self {
        case .string(let value): value
        case .integer(let value): NSNumber(value: value)
        case .number(let value): NSNumber(value: value)
        case .bool(let value): NSNumber(value: value)
        case .array(let values): values.map(\.any)
        case .object(let values): values.mapValues(\.any)
        case .null: NSNull()
        }
    }
}
