import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PostgresNIO
import SwitchboardApp
import SwitchboardPostgres
import SwitchboardTestSupport
import Testing

@Suite("Roles and key scopes: every route family allowed and refused; limits across replicas; another tenant's ids")
struct RoleScopeTests {
    /// One route of each family, with a body that a permitted caller gets past the scope
    /// check with (its answer may still be 400 or 404: only 403 means refused).
    nonisolated(unsafe) static let probes: [(HTTPRequest.Method, String, [String: Any]?, scope: String)] = [
        (.get, "/v1/conversations", nil, "crm:read"),
        (.get, "/v1/contacts", nil, "crm:read"),
        (.post, "/v1/deals", ["contact_id": UUID().uuidString.lowercased(), "title": "T", "stage": "new"], "crm:write"),
        (.post, "/v1/conversations/\(UUID().uuidString.lowercased())/close", nil, "crm:write"),
        (.get, "/v1/analytics/summary", nil, "analytics:read"),
        (.get, "/v1/credits", nil, "analytics:read"),
        (.post, "/v1/agents", [:], "agents:write"),
        (.post, "/v1/providers", [:], "agents:write"),
        (.post, "/v1/channels", [:], "channels:write"),
        (.get, "/v1/privacy/processing-record", nil, "privacy:write"),
        (.get, "/v1/audit-log", nil, "privacy:write"),
        (.delete, "/v1/contacts/\(UUID().uuidString.lowercased())", nil, "privacy:write"),
        (.post, "/v1/api-keys", ["name": "k"], "admin"),
        (.get, "/v1/users", nil, "admin"),
        (.get, "/v1/login-events", nil, "admin"),
    ]

    /// What each role may do, by the scope its probe needs.
    static let allowed: [String: Set<String>] = [
        "owner": ["crm:read", "crm:write", "analytics:read", "agents:write", "channels:write", "privacy:write", "admin"],
        "admin": ["crm:read", "crm:write", "analytics:read", "agents:write", "channels:write", "privacy:write", "admin"],
        "operator": ["crm:read", "crm:write"],
        "analyst": ["analytics:read"],
    ]

    @Test("each role × each route family: allowed, or 403 insufficient_scope naming the scope")
    func roleMatrix() async throws {
        try await withTeamApp { client in
            let owner = try await signUp(client, email: uniqueEmail("owner"))
            var people = ["owner": owner]
            for role in ["admin", "operator", "analyst"] {
                people[role] = try await invite(client, by: owner, email: uniqueEmail(role), role: role)
            }
            for (role, person) in people.sorted(by: { $0.key < $1.key }) {
                for (method, path, body, scope) in Self.probes {
                    let response = try await call(client, person, method, path, body: body)
                    if Self.allowed[role]!.contains(scope) {
                        #expect(response.status != .forbidden, "\(role) \(method) \(path): \(String(buffer: response.body))")
                    } else {
                        try expectError(response, .forbidden, "insufficient_scope")
                        let message = try #require((try object(response)["error"] as? [String: Any])?["message"] as? String)
                        #expect(message.contains(scope), "\(role) \(method) \(path): \(message)")
                    }
                }
            }
        }
    }

    @Test("owners are made, changed and removed by owners only; the last owner stays")
    func owners() async throws {
        try await withTeamApp { client in
            let owner = try await signUp(client, email: uniqueEmail("owner"))
            let admin = try await invite(client, by: owner, email: uniqueEmail("admin"), role: "admin")
            try expectError(
                try await call(client, admin, .post, "/v1/users/invitations", body: ["email": uniqueEmail(), "role": "owner"]),
                .forbidden, "insufficient_scope"
            )
            try expectError(
                try await call(client, admin, .patch, "/v1/users/\(owner.userID)", body: ["role": "operator"]), .forbidden, "insufficient_scope"
            )
            try expectError(try await call(client, admin, .delete, "/v1/users/\(owner.userID)"), .forbidden, "insufficient_scope")
            try expectError(try await call(client, owner, .patch, "/v1/users/\(owner.userID)", body: ["role": "admin"]), .conflict, "conflict")
            try expectError(try await call(client, owner, .delete, "/v1/users/\(owner.userID)"), .conflict, "conflict")
            // Promoting the admin ends the admin's sessions (the new role takes effect at once).
            let promoted = try await call(client, owner, .patch, "/v1/users/\(admin.userID)", body: ["role": "owner", "name": "Aida"])
            #expect(try object(promoted)["role"] as? String == "owner" && (try object(promoted)["name"] as? String) == "Aida")
            try expectError(try await call(client, admin, .get, "/v1/me"), .unauthorized, "unauthorized")
            #expect(try await call(client, owner, .patch, "/v1/users/\(owner.userID)", body: ["role": "admin"]).status == .ok)
            try expectError(
                try await call(client, owner, .patch, "/v1/users/\(owner.userID)", body: ["role": "bogus"]), .unauthorized, "unauthorized"
            )
        }
    }

    @Test("keys: scopes, expiry, refusals naming the field; a key without scopes is admin")
    func keyScopes() async throws {
        try await withTeamApp { client in
            let tenant = try await createTenant(client)
            func create(_ fields: [String: Any]) async throws -> TestResponse {
                try await client.execute(uri: "/v1/api-keys", method: .post, headers: headers(bearer: tenant.key), body: json(fields)) { $0 }
            }
            let reader = try object(try await create(["name": "reader", "scopes": ["crm:read"]]))
            #expect(reader["scopes"] as? [String] == ["crm:read"])
            let key = try #require(reader["key"] as? String)
            #expect(try await client.execute(uri: "/v1/contacts", method: .get, headers: headers(bearer: key)) { $0.status } == .ok)
            let write = try await client.execute(
                uri: "/v1/deals", method: .post, headers: headers(bearer: key),
                body: json(["contact_id": UUID().uuidString.lowercased(), "title": "T", "stage": "new"])
            ) { $0 }
            try expectError(write, .forbidden, "insufficient_scope")
            #expect(write.headers[.wwwAuthenticate]?.contains("insufficient_scope") == true)
            let all = try object(try await create(["name": "all"]))
            #expect(all["scopes"] as? [String] == ["admin"] && all["expires_at"] is NSNull)
            try expectError(try await create(["scopes": ["crm:read", "root"]]), .badRequest, "invalid_request", field: "scopes")
            try expectError(try await create(["scopes": []]), .badRequest, "invalid_request", field: "scopes")
            try expectError(try await create(["expires_at": "2001-01-01T00:00:00Z"]), .badRequest, "invalid_request", field: "expires_at")
            try expectError(try await create(["rate_limit_per_minute": 0]), .badRequest, "invalid_request", field: "rate_limit_per_minute")
            try expectError(try await create(["rate_limit_per_minute": 1e30]), .badRequest, "invalid_request")
            // A key past its expiry: 401 saying so.
            let soon = try object(try await create(["name": "soon", "expires_at": "2999-01-01T00:00:00Z"]))
            let soonKey = try #require(soon["key"] as? String)
            let owner = try await TestDatabase.shared.sharedDatabase()
            let id = try #require(soon["id"] as? String)
            try await PostgresAdministration.withConnection(owner, logger: TestDatabase.logger) { connection in
                try await connection.query(
                    "UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = \(UUID(uuidString: id)!)", logger: TestDatabase.logger
                )
            }
            let expired = try await client.execute(uri: "/v1/tenant", method: .get, headers: headers(bearer: soonKey)) { $0 }
            try expectError(expired, .unauthorized, "unauthorized")
            #expect(String(buffer: expired.body).contains("expired"))
        }
    }

    @Test("a key's per-minute limit holds across two servers on one database, with RateLimit headers and Retry-After")
    func limitAcrossReplicas() async throws {
        let (key, _) = try await withTeamApp { client in
            let tenant = try await createTenant(client)
            let created = try await client.execute(
                uri: "/v1/api-keys", method: .post, headers: headers(bearer: tenant.key), body: json(["rate_limit_per_minute": 4])
            ) { try object($0) }
            return (try #require(created["key"] as? String), tenant.id)
        }
        // Two servers, built and run as production builds them, sharing the test database.
        // Nine calls against four a minute: even if a minute turns between two of them,
        // one side of the turn holds five, so at least one is refused.
        let statuses: [(HTTPResponse.Status, String?, String?, String?)] = try await withTeamApp { first in
            try await withTeamApp { second in
                var statuses: [(HTTPResponse.Status, String?, String?, String?)] = []
                for index in 0..<9 {
                    let client = index.isMultiple(of: 2) ? first : second
                    statuses.append(try await client.execute(uri: "/v1/tenant", method: .get, headers: headers(bearer: key)) {
                        ($0.status, $0.headers[HTTPField.Name("RateLimit-Remaining")!], $0.headers[.retryAfter],
                         $0.headers[HTTPField.Name("RateLimit-Limit")!])
                    })
                }
                return statuses
            }
        }
        let refused = statuses.filter { $0.0 == .tooManyRequests }
        #expect(statuses.allSatisfy { $0.3 == "4" }, "\(statuses)")
        #expect(refused.count >= 1, "nine calls against a limit of four, over two servers: \(statuses)")
        #expect(Set(statuses.map(\.0)) == [.ok, .tooManyRequests], "\(statuses)")
        #expect(refused.allSatisfy { Int($0.2 ?? "") ?? 0 >= 1 && $0.1 == "0" }, "\(statuses)")
        #expect(statuses.first?.1 == "3", "\(statuses)")
    }

    @Test("another tenant's people are 404 everywhere; a cookie naming another tenant is no session")
    func otherTenant() async throws {
        try await withTeamApp { client in
            let a = try await signUp(client, email: uniqueEmail("a"))
            let b = try await signUp(client, email: uniqueEmail("b"))
            let bOperator = try await invite(client, by: b, email: uniqueEmail("bop"), role: "operator")
            for (method, body) in [(HTTPRequest.Method.get, nil), (.patch, ["role": "analyst"]), (.delete, nil)] as [(HTTPRequest.Method, [String: Any]?)] {
                try expectError(try await call(client, a, method, "/v1/users/\(bOperator.userID)", body: body), .notFound, "not_found")
            }
            let users = try object(try await call(client, a, .get, "/v1/users"))
            #expect((users["data"] as? [[String: Any]])?.map { $0["id"] as? String } == [a.userID])
            let events = try object(try await call(client, a, .get, "/v1/login-events?limit=200"))
            #expect(try #require(events["data"] as? [[String: Any]]).allSatisfy { $0["user_id"] as? String == a.userID })
            // B's session secret under A's tenant id: no session.
            let secret = b.cookie.split(separator: ".", maxSplits: 1)[1]
            var forged = a
            forged.cookie = "sb_session=\(a.tenantID).\(secret)"
            try expectError(try await call(client, forged, .get, "/v1/me"), .unauthorized, "unauthorized")
        }
    }

    @Test("a person's actions are journaled with the person as the actor; the journal filters by actor and time")
    func journal() async throws {
        try await withTeamApp { client in
            let owner = try await signUp(client, email: uniqueEmail("owner"))
            let op = try await invite(client, by: owner, email: uniqueEmail("op"), role: "operator")
            #expect(try await call(client, op, .get, "/v1/contacts").status == .ok)
            let mine = try object(try await call(client, owner, .get, "/v1/audit-log?actor=user:\(owner.userID)"))
            let entries = try #require(mine["data"] as? [[String: Any]])
            #expect(entries.contains { $0["action"] as? String == "POST /v1/users/invitations" })
            #expect(entries.allSatisfy { $0["actor"] as? String == "user:\(owner.userID)" })
            let theirs = try object(try await call(client, owner, .get, "/v1/audit-log?actor=user:\(op.userID)"))
            #expect((theirs["data"] as? [[String: Any]])?.contains { $0["action"] as? String == "GET /v1/contacts" } == true)
            let future = try object(try await call(client, owner, .get, "/v1/audit-log?from=2999-01-01T00:00:00Z"))
            #expect((future["data"] as? [Any])?.isEmpty == true)
            try expectError(try await call(client, owner, .get, "/v1/audit-log?from=yesterday"), .badRequest, "invalid_request", field: "from")
        }
    }

    @Test("405 names the methods of the route the router would take: a literal segment before a parameter")
    func allowPrefersLiteral() async throws {
        try await withTeamApp { client in
            let tenant = try await createTenant(client)
            try await client.execute(uri: "/v1/users/invitations", method: .get, headers: headers(bearer: tenant.key)) { response in
                try expectError(response, .methodNotAllowed, "method_not_allowed")
                #expect(response.headers[.allow] == "POST")
            }
            try await client.execute(uri: "/v1/users/\(UUID().uuidString.lowercased())", method: .post, headers: headers(bearer: tenant.key)) { response in
                try expectError(response, .methodNotAllowed, "method_not_allowed")
                #expect(response.headers[.allow] == "DELETE, GET, PATCH")
            }
        }
    }
}
