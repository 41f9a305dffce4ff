import HTTPTypes
import Synchronization

/// The routes the router serves, as `METHOD /path/{param}` pairs: answers 405 (with
/// `Allow`) for a known path asked with another method, and is what the OpenAPI test
/// compares the document against.
public final class RouteIndex: Sendable {
    public struct Route: Hashable, Sendable, CustomStringConvertible, Comparable {
        public var method: String
        public var path: String
        public var description: String { "\(method) \(path)" }
        public static func < (lhs: Route, rhs: Route) -> Bool { (lhs.path, lhs.method) < (rhs.path, rhs.method) }
    }

    private let storage = Mutex<[Route]>([])

    public init() {}

    public var routes: [Route] { storage.withLock { $0 }.sorted() }

    func set(_ routes: [Route]) { storage.withLock { $0 = routes } }

    /// The methods served at a concrete request path.
    func methods(matching path: String) -> [String] {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        return storage.withLock { routes in
            routes.filter { route in
                let template = route.path.split(separator: "/", omittingEmptySubsequences: true)
                guard template.count == segments.count else { return false }
                return zip(template, segments).allSatisfy { pattern, segment in
                    pattern.hasPrefix("{") || pattern == "*" || pattern == segment
                }
            }.map(\.method)
        }
    }
}
