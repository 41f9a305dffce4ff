import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import SwitchboardApp
import Testing

@Suite("Operator API")
struct OperatorAPITests {
    @Test("the operator token is required, and checked")
    func tokenRequired() async throws {
        try await withApp { client in
            try await client.execute(uri: "/admin/tenants", method: .get) { response in
                try expectError(response, .unauthorized, "unauthorized")
            }
            try await client.execute(uri: "/admin/tenants", method: .get, headers: headers(bearer: "wrong-token")) { response in
                try expectError(response, .unauthorized, "unauthorized")
            }
            try await client.execute(uri: "/admin/tenants", method: .post, headers: headers(bearer: "wrong-token"), body: json(["name": "x"])) { response in
                try expectError(response, .unauthorized, "unauthorized")
            }
        }
    }

    @Test("without SWITCHBOARD_ADMIN_TOKEN the operator API is off")
    func offWithoutToken() async throws {
        try await withApp(adminToken: nil) { client in
            try await client.execute(uri: "/admin/tenants", method: .get, headers: headers(bearer: "anything")) { response in
                try expectError(response, .notFound, "not_found")
            }
        }
    }

    @Test("creating a tenant answers 201 with the tenant and a working key shown once; the list has it")
    func createAndList() async throws {
        try await withApp { client in
            let name = "Acme \(UUID().uuidString.prefix(6))"
            let createdResponse = try await client.execute(
                uri: "/admin/tenants", method: .post, headers: headers(bearer: adminToken),
                body: json(["name": name, "trial_credits_micros": 5_000_000])
            ) { $0 }
            #expect(createdResponse.status == .created)
            let created = try object(createdResponse)
            let tenant = try #require(created["tenant"] as? [String: Any])
            let key = try #require(created["api_key"] as? String)
            #expect(key.hasPrefix("sb_live_"))
            #expect(tenant["name"] as? String == name)
            #expect(tenant["trial_credits_micros"] as? Int == 5_000_000)

            try await client.execute(uri: "/v1/tenant", method: .get, headers: headers(bearer: key)) { response in
                #expect(response.status == .ok)
                let body = try object(response)
                #expect(body["id"] as? String == tenant["id"] as? String)
            }

            var found = false
            var cursor: String?
            repeat {
                let uri = "/admin/tenants?limit=200" + (cursor.map { "&cursor=\($0)" } ?? "")
                let page = try object(try await client.execute(uri: uri, method: .get, headers: headers(bearer: adminToken)) { $0 })
                let data = try #require(page["data"] as? [[String: Any]])
                found = found || data.contains { $0["id"] as? String == tenant["id"] as? String }
                #expect(data.allSatisfy { $0["api_key"] == nil && $0["key"] == nil })
                cursor = page["next_cursor"] as? String
            } while cursor != nil && !found
            #expect(found)
        }
    }

    @Test("bad tenant bodies are refused with invalid_request naming the field", arguments: [
        (#"{"name": "x", "colour": "red"}"#, "colour"),
        (#"{"name": "x", "tenant_id": "6f1c0b52-7f43-4a55-9d6e-6b2c1d0e9a11"}"#, "tenant_id"),
        (#"{"name": "x", "balance_micros": 1000}"#, "balance_micros"),
        (#"{"name": "x", "id": "abc"}"#, "id"),
        (#"{"name": 42}"#, "name"),
        (#"{"name": "   "}"#, "name"),
        (#"{"name": null}"#, "name"),
        (#"{}"#, "name"),
        (#"{"name": "x", "trial_credits_micros": -1}"#, "trial_credits_micros"),
        (#"{"name": "x", "trial_credits_micros": 0.5}"#, "trial_credits_micros"),
        (#"{"name": "x", "trial_credits_micros": "100"}"#, "trial_credits_micros"),
        (#"{"name": "x", "trial_credits_micros": 99999999999999999999}"#, "trial_credits_micros"),
    ])
    func refusesBadBodies(body: String, field: String) async throws {
        try await withApp { client in
            try await client.execute(
                uri: "/admin/tenants", method: .post, headers: headers(bearer: adminToken), body: ByteBuffer(string: body)
            ) { response in
                try expectError(response, .badRequest, "invalid_request", field: field)
            }
        }
    }

    @Test("malformed JSON is 400, a non-JSON body 415, a body over 1 MiB 413")
    func refusesMalformedAndOversized() async throws {
        try await withApp { client in
            for body in [#"{"name": "x""#, "[1, 2]", "\"just a string\"", "nul"] {
                try await client.execute(
                    uri: "/admin/tenants", method: .post, headers: headers(bearer: adminToken), body: ByteBuffer(string: body)
                ) { response in
                    try expectError(response, .badRequest, "invalid_request")
                }
            }
            var textHeaders = headers(bearer: adminToken, json: false)
            textHeaders[.contentType] = "text/plain"
            try await client.execute(uri: "/admin/tenants", method: .post, headers: textHeaders, body: ByteBuffer(string: #"{"name":"x"}"#)) { response in
                try expectError(response, .unsupportedMediaType, "unsupported_media_type")
            }
            let huge = #"{"name": ""# + String(repeating: "a", count: (1 << 20) + 10) + #""}"#
            try await client.execute(uri: "/admin/tenants", method: .post, headers: headers(bearer: adminToken), body: ByteBuffer(string: huge)) { response in
                try expectError(response, .contentTooLarge, "payload_too_large")
            }
        }
    }

    @Test("list parameters are validated", arguments: ["limit=0", "limit=201", "limit=abc", "cursor=%21%21forged"])
    func listParameters(query: String) async throws {
        try await withApp { client in
            try await client.execute(uri: "/admin/tenants?\(query)", method: .get, headers: headers(bearer: adminToken)) { response in
                try expectError(response, .badRequest, "invalid_request")
            }
        }
    }
}
