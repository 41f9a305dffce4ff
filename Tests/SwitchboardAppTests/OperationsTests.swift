import Foundation
import HTTPTypes
import NIOCore
import HummingbirdTesting
import SwitchboardApp
import Testing

@Suite("Operations routes")
struct OperationsTests {
    @Test("/health and /ready answer 200 on a migrated database")
    func healthAndReady() async throws {
        try await withApp { client in
            try await client.execute(uri: "/health", method: .get) { response in
                #expect(response.status == .ok)
                let body = try object(response)
                #expect(body["status"] as? String == "ok")
            }
            try await client.execute(uri: "/ready", method: .get) { response in
                #expect(response.status == .ok)
                let body = try object(response)
                #expect(body["status"] as? String == "ready")
            }
        }
    }

    @Test("/metrics is Prometheus text with request counts and no tenant ids")
    func metrics() async throws {
        try await withApp { client in
            let tenant = try await createTenant(client)
            try await client.execute(uri: "/v1/tenant", method: .get, headers: headers(bearer: tenant.key)) { _ in }
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType]?.hasPrefix("text/plain") == true)
                let text = String(decoding: response.body.readableBytesView, as: UTF8.self)
                #expect(text.contains("switchboard_http_requests_total{"))
                #expect(text.contains(#"route="/v1/tenant""#))
                #expect(!text.contains(tenant.id))
            }
        }
    }

    @Test("every response carries a request id, and each is different")
    func requestIDs() async throws {
        try await withApp { client in
            let first = try await client.execute(uri: "/health", method: .get) { $0.headers[HTTPField.Name("X-Request-Id")!] }
            let second = try await client.execute(uri: "/health", method: .get) { $0.headers[HTTPField.Name("X-Request-Id")!] }
            #expect(first != nil)
            #expect(first != second)
        }
    }

    @Test("unknown routes answer 404 and known paths with another method 405 with Allow, in the envelope")
    func unknownRoutesAndMethods() async throws {
        try await withApp { client in
            try await client.execute(uri: "/no/such/route", method: .get) { response in
                try expectError(response, .notFound, "not_found")
            }
            try await client.execute(uri: "/health", method: .put) { response in
                try expectError(response, .methodNotAllowed, "method_not_allowed")
                #expect(response.headers[.allow] == "GET")
            }
            try await client.execute(uri: "/v1/api-keys/\(UUID().uuidString.lowercased())", method: .get) { response in
                try expectError(response, .methodNotAllowed, "method_not_allowed")
                #expect(response.headers[.allow] == "DELETE")
            }
        }
    }

    @Test("the OpenAPI document is 3.1 and names exactly the routes the server serves")
    func openAPIMatchesRoutes() async throws {
        let routes = RouteIndex()
        let response = try await withApp(routes: routes) { client in
            try await client.execute(uri: "/openapi.json", method: .get) { $0 }
        }
        #expect(response.status == .ok)
        let document = try object(response)
        #expect((document["openapi"] as? String)?.hasPrefix("3.1") == true)
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        let methods: Set<String> = ["get", "post", "put", "patch", "delete"]
        var documented: Set<String> = []
        for (path, operations) in paths {
            for method in operations.keys where methods.contains(method) { documented.insert("\(method.uppercased()) \(path)") }
        }
        let served = Set(routes.routes.map(\.description))
        #expect(!served.isEmpty)
        #expect(served.subtracting(documented).isEmpty, "served but undocumented: \(served.subtracting(documented).sorted())")
        #expect(documented.subtracting(served).isEmpty, "documented but not served: \(documented.subtracting(served).sorted())")
    }
}
