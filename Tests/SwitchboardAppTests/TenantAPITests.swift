import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import NIOCore
import SwitchboardApp
import SwitchboardTestSupport
import Testing

@Suite("Tenant API")
struct TenantAPITests {
    @Test("a tenant key is required; malformed, unknown and operator tokens are refused")
    func keyRequired() async throws {
        try await withApp { client in
            let bad: [String?] = [nil, "sb_live_short", "sb_live_" + String(repeating: "A", count: 43), adminToken, "Basic abc"]
            for token in bad {
                try await client.execute(uri: "/v1/tenant", method: .get, headers: headers(bearer: token)) { response in
                    try expectError(response, .unauthorized, "unauthorized")
                    #expect(response.headers[.wwwAuthenticate] == "Bearer")
                }
            }
        }
    }

    @Test("keys: create shows the secret once, list never does, a revoked key is refused")
    func keyLifecycle() async throws {
        try await withApp { client in
            let tenant = try await createTenant(client)
            let createdResponse = try await client.execute(
                uri: "/v1/api-keys", method: .post, headers: headers(bearer: tenant.key), body: json(["name": "ci"])
            ) { $0 }
            #expect(createdResponse.status == .created)
            let created = try object(createdResponse)
            let secondKey = try #require(created["key"] as? String)
            let secondID = try #require(created["id"] as? String)
            #expect(created["name"] as? String == "ci")
            #expect(secondKey.hasPrefix(try #require(created["prefix"] as? String)))
            #expect(created.keys.contains("revoked_at"))

            let list = try object(try await client.execute(uri: "/v1/api-keys", method: .get, headers: headers(bearer: secondKey)) { $0 })
            let keys = try #require(list["data"] as? [[String: Any]])
            #expect(keys.count == 2)
            #expect(keys.allSatisfy { $0["key"] == nil })
            #expect(!String(describing: list).contains(secondKey))
            let firstID = try #require(keys.first { $0["id"] as? String != secondID }?["id"] as? String)

            // Revoke the first key with the second; the first is refused from then on.
            try await client.execute(uri: "/v1/api-keys/\(firstID)", method: .delete, headers: headers(bearer: secondKey, json: false)) { response in
                #expect(response.status == .ok)
                let body = try object(response)
                #expect(body["revoked_at"] is String)
            }
            try await client.execute(uri: "/v1/tenant", method: .get, headers: headers(bearer: tenant.key)) { response in
                try expectError(response, .unauthorized, "unauthorized")
            }
            // The remaining key is the last active one: it cannot be revoked.
            try await client.execute(uri: "/v1/api-keys/\(secondID)", method: .delete, headers: headers(bearer: secondKey, json: false)) { response in
                try expectError(response, .conflict, "conflict")
            }
        }
    }

    @Test("a POST without a body takes the defaults")
    func emptyBodyUsesDefaults() async throws {
        try await withApp { client in
            let tenant = try await createTenant(client)
            try await client.execute(uri: "/v1/api-keys", method: .post, headers: headers(bearer: tenant.key, json: false)) { response in
                #expect(response.status == .created)
                let body = try object(response)
                #expect(body["name"] as? String == "default")
            }
        }
    }

    @Test("another tenant's key id is 404, as is an id that is not one")
    func otherTenantIsNotFound() async throws {
        try await withApp { client in
            let a = try await createTenant(client)
            let b = try await createTenant(client)
            let bKeys = try object(try await client.execute(uri: "/v1/api-keys", method: .get, headers: headers(bearer: b.key)) { $0 })
            let bKeyID = try #require((bKeys["data"] as? [[String: Any]])?.first?["id"] as? String)
            _ = try await client.execute(uri: "/v1/api-keys", method: .post, headers: headers(bearer: a.key), body: json([:])) { $0.status }

            for id in [bKeyID, "not-an-id", UUID().uuidString.lowercased()] {
                try await client.execute(uri: "/v1/api-keys/\(id)", method: .delete, headers: headers(bearer: a.key, json: false)) { response in
                    try expectError(response, .notFound, "not_found")
                }
            }
            // B's key still works: A's attempt changed nothing.
            try await client.execute(uri: "/v1/tenant", method: .get, headers: headers(bearer: b.key)) { response in
                #expect(response.status == .ok)
                let body = try object(response)
                #expect(body["id"] as? String == b.id)
            }
        }
    }

    @Test("unknown and read-only fields are refused on tenant routes too")
    func strictBodies() async throws {
        try await withApp { client in
            let tenant = try await createTenant(client)
            for (body, field) in [(["name": "x", "scope": "all"], "scope"), (["key": "sb_live_mine"], "key"), (["tenant_id": tenant.id], "tenant_id")] {
                try await client.execute(uri: "/v1/api-keys", method: .post, headers: headers(bearer: tenant.key), body: json(body)) { response in
                    try expectError(response, .badRequest, "invalid_request", field: field)
                }
            }
        }
    }

    @Test("secrets never reach the logs: not the API keys, not the operator token")
    func secretsAreNotLogged() async throws {
        let recorded = RecordingLogHandler.Lines()
        let logger = Logger(label: "recorded") { _ in RecordingLogHandler(lines: recorded) }
        let secrets = try await withApp(logger: logger) { client in
            let tenant = try await createTenant(client)
            let created = try object(try await client.execute(uri: "/v1/api-keys", method: .post, headers: headers(bearer: tenant.key), body: json([:])) { $0 })
            let second = try #require(created["key"] as? String)
            try await client.execute(uri: "/v1/tenant", method: .get, headers: headers(bearer: second)) { _ in }
            try await client.execute(uri: "/v1/tenant", method: .get, headers: headers(bearer: second + "x")) { _ in }
            return [tenant.key, second, adminToken, TestDatabase.appRolePassword]
        }
        let lines = recorded.all
        #expect(lines.count >= 4, "the requests were logged")
        for secret in secrets {
            #expect(!lines.contains { $0.contains(secret) }, "a secret reached the logs")
        }
    }
}
