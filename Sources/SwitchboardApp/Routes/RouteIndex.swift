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

    /// The methods served at a concrete request path. Where several templates match, the
    /// router takes the one whose literal segment comes first (`/v1/users/invitations`
    /// before `/v1/users/{id}`), and so does this.
    func methods(matching path: String) -> [String] {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        let matches: [(route: Route, literals: [Bool])] = storage.withLock { routes in
            routes.compactMap { route in
                let template = route.path.split(separator: "/", omittingEmptySubsequences: true)
                guard template.count == segments.count else { return nil }
                var literals: [Bool] = []
                for (pattern, segment) in zip(template, segments) {
                    if pattern.hasPrefix("{") || pattern == "*" {
                        literals.append(false)
                    } else if pattern == segment {
                        literals.append(true)
                    } else {
                        return nil
                    }
                }
                return (route, literals)
            }
        }
        guard let best = matches.map(\.literals).max(by: { $0.lexicographicallyPrecedes($1) { !$0 && $1 } }) else { return [] }
        return matches.filter { $0.literals == best }.map(\.route.method)
    }
}
