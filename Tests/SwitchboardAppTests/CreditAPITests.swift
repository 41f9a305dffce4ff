import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import SwitchboardApp
import SwitchboardTestSupport
import Testing

@Suite("Credits over the API: top-ups, the ledger, prices, the low-balance mark")
struct CreditAPITests {
    func admin(idempotencyKey: String? = nil) -> HTTPFields {
        var fields = headers(bearer: adminToken)
        if let idempotencyKey { fields[HTTPField.Name("Idempotency-Key")!] = idempotencyKey }
        return fields
    }

    func topUp(_ client: any TestClientProtocol, _ tenant: String, body: String, key: String? = nil) async throws -> TestResponse {
        try await client.execute(
            uri: "/admin/tenants/\(tenant)/credits", method: .post, headers: admin(idempotencyKey: key), body: ByteBuffer(string: body)
        ) { $0 }
    }

    func credits(_ client: any TestClientProtocol, _ key: String) async throws -> [String: Any] {
        try await client.execute(uri: "/v1/credits", method: .get, headers: headers(bearer: key)) { try object($0) }
    }

    @Test("hostile amounts to the operator API are refused with invalid_request naming the field, and change nothing")
    func hostileAmounts() async throws {
        try await withApp { client in
            let tenant = try await createTenant(client, trialMicros: 1_000)
            for amount in ["0", "-5", "9223372036854775808", "1e30", "1.5", "\"100\"", "null", "true", "[]"] {
                let response = try await topUp(client, tenant.id, body: #"{"amount_micros": \#(amount), "reason": "x"}"#)
                try expectError(response, .badRequest, "invalid_request", field: "amount_micros")
            }
            try expectError(try await topUp(client, tenant.id, body: #"{"reason": "x"}"#), .badRequest, "invalid_request", field: "amount_micros")
            try expectError(
                try await topUp(client, tenant.id, body: #"{"amount_micros": 5, "reason": "x", "balance_micros": 1}"#), .badRequest,
                "invalid_request", field: "balance_micros"
            )
            try expectError(
                try await topUp(client, tenant.id, body: #"{"amount_micros": 5, "reason": "x", "kind": "capture"}"#), .badRequest,
                "invalid_request", field: "kind"
            )
            try expectError(
                try await topUp(client, tenant.id, body: #"{"amount_micros": 5, "reason": "x", "expires_at": "2001-01-01T00:00:00Z"}"#),
                .badRequest, "invalid_request", field: "expires_at"
            )
            try expectError(
                try await topUp(client, UUID().uuidString.lowercased(), body: #"{"amount_micros": 5, "reason": "x"}"#), .notFound, "not_found"
            )
            #expect(try await credits(client, tenant.key)["balance_micros"] as? Int == 1_000)
            let entries = try await listData(client, "/v1/credits/ledger", key: tenant.key)
            #expect(entries.map { $0["kind"] as? String } == ["trial"])
        }
    }

    @Test("a top-up sent twice with one Idempotency-Key adds its credits once and answers the same entry")
    func topUpOnce() async throws {
        try await withApp { client in
            let tenant = try await createTenant(client)
            let body = #"{"amount_micros": 25000000, "reason": "invoice 2026-117"}"#
            let first = try await topUp(client, tenant.id, body: body, key: "inv-117")
            let again = try await topUp(client, tenant.id, body: body, key: "inv-117")
            #expect(first.status == .created)
            #expect(again.status == .created)
            let entry = try object(first)
            #expect(entry["kind"] as? String == "top_up")
            #expect(entry["amount_micros"] as? Int == 25_000_000)
            #expect(entry["balance_after_micros"] as? Int == 25_000_000)
            #expect(try object(again)["id"] as? String == entry["id"] as? String)
            // Another key is another top-up.
            #expect(try await topUp(client, tenant.id, body: body, key: "inv-118").status == .created)
            let account = try await credits(client, tenant.key)
            #expect(account["balance_micros"] as? Int == 50_000_000)
            #expect(account["held_micros"] as? Int == 0)
            #expect(account["available_micros"] as? Int == 50_000_000)
            let promotion = try await topUp(
                client, tenant.id, body: #"{"amount_micros": 1000, "reason": "promotion", "kind": "grant", "expires_at": "2099-01-01T00:00:00Z"}"#
            )
            #expect(promotion.status == .created)
            #expect(try object(promotion)["kind"] as? String == "grant")
            #expect(try object(promotion)["expires_at"] as? String == "2099-01-01T00:00:00Z")
            let listed = try await client.execute(uri: "/admin/tenants?limit=200", method: .get, headers: admin()) { try object($0) }
            let row = try #require((listed["data"] as? [[String: Any]])?.first { $0["id"] as? String == tenant.id })
            #expect(row["balance_micros"] as? Int == 50_001_000)
        }
    }

    @Test("the ledger pages newest first and filters by kind and time; bad filters name their parameter")
    func ledgerPages() async throws {
        try await withApp { client in
            let tenant = try await createTenant(client, trialMicros: 1_000)
            for index in 1...3 {
                _ = try await topUp(client, tenant.id, body: #"{"amount_micros": \#(index), "reason": "top-up \#(index)"}"#)
            }
            let first = try await client.execute(uri: "/v1/credits/ledger?limit=2", method: .get, headers: headers(bearer: tenant.key)) { try object($0) }
            let page = try #require(first["data"] as? [[String: Any]])
            #expect(page.map { $0["amount_micros"] as? Int } == [3, 2])
            let cursor = try #require(first["next_cursor"] as? String)
            let rest = try await listData(client, "/v1/credits/ledger?limit=2&cursor=\(cursor)", key: tenant.key)
            #expect(rest.map { $0["kind"] as? String } == ["top_up", "trial"])
            #expect(try await listData(client, "/v1/credits/ledger?kind=trial", key: tenant.key).count == 1)
            #expect(try await listData(client, "/v1/credits/ledger?kind=top_up,trial", key: tenant.key).count == 4)
            #expect(try await listData(client, "/v1/credits/ledger?from=2100-01-01T00:00:00Z", key: tenant.key).isEmpty)
            #expect(try await listData(client, "/v1/credits/ledger?to=2100-01-01T00:00:00Z", key: tenant.key).count == 4)
            for (query, field) in [
                ("kind=bogus", "kind"), ("from=yesterday", "from"), ("to=2026-13-01T00:00:00Z", "to"),
                ("from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", "from"), ("cursor=nonsense", "cursor"), ("limit=0", "limit"),
            ] {
                let response = try await client.execute(uri: "/v1/credits/ledger?\(query)", method: .get, headers: headers(bearer: tenant.key)) { $0 }
                try expectError(response, .badRequest, "invalid_request", field: field)
            }
            let usage = try await client.execute(uri: "/v1/credits/usage?group_by=planet", method: .get, headers: headers(bearer: tenant.key)) { $0 }
            try expectError(usage, .badRequest, "invalid_request", field: "group_by")
            let long = try await client.execute(
                uri: "/v1/credits/usage?from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z", method: .get, headers: headers(bearer: tenant.key)
            ) { $0 }
            try expectError(long, .badRequest, "invalid_request", field: "from")
        }
    }

    @Test("the low-balance threshold marks the account, visible in GET /v1/tenant, and clears after a top-up")
    func lowBalance() async throws {
        try await withApp { client in
            let tenant = try await createTenant(client, trialMicros: 1_000_000)
            let patched = try await client.execute(
                uri: "/v1/credits", method: .patch, headers: headers(bearer: tenant.key), body: json(["low_balance_threshold_micros": 2_000_000])
            ) { try object($0) }
            #expect(patched["low_balance"] as? Bool == true)
            var profile = try await client.execute(uri: "/v1/tenant", method: .get, headers: headers(bearer: tenant.key)) { try object($0) }
            #expect(profile["low_balance"] as? Bool == true)
            #expect(profile["balance_micros"] as? Int == 1_000_000)
            #expect(profile["low_balance_threshold_micros"] as? Int == 2_000_000)
            _ = try await topUp(client, tenant.id, body: #"{"amount_micros": 5000000, "reason": "top-up"}"#)
            profile = try await client.execute(uri: "/v1/tenant", method: .get, headers: headers(bearer: tenant.key)) { try object($0) }
            #expect(profile["low_balance"] as? Bool == false)
            for body in [#"{"low_balance_threshold_micros": -1}"#, #"{"low_balance_threshold_micros": 0.5}"#, #"{"balance_micros": 5}"#] {
                let response = try await client.execute(
                    uri: "/v1/credits", method: .patch, headers: headers(bearer: tenant.key), body: ByteBuffer(string: body)
                ) { $0 }
                #expect(response.status == .badRequest, "\(body)")
            }
        }
    }

    @Test("GET /v1/prices shows the platform's book with a tenant's own prices in their place, for that tenant only")
    func prices() async throws {
        try await withApp { client in
            let a = try await createTenant(client)
            let b = try await createTenant(client)
            func price(_ key: String, _ kind: String, _ model: String) async throws -> [String: Any]? {
                try await listData(client, "/v1/prices", key: key).first { $0["provider_kind"] as? String == kind && $0["model"] as? String == model }
            }
            let platform = try #require(try await price(a.key, "openai", "gpt-4o-mini"))
            #expect(platform["source"] as? String == "platform")
            #expect(platform["input_micros_per_million"] as? Int == 150_000)
            #expect(try await price(a.key, "local", "*")?["output_micros_per_million"] as? Int == 0)

            let set = try await client.execute(
                uri: "/admin/tenants/\(a.id)/prices", method: .put, headers: admin(),
                body: json(["provider_kind": "openai", "model": "gpt-4o-mini", "input_micros_per_million": 100_000, "output_micros_per_million": 400_000])
            ) { $0 }
            #expect(set.status == .ok)
            let own = try #require(try await price(a.key, "openai", "gpt-4o-mini"))
            #expect(own["source"] as? String == "tenant")
            #expect(own["input_micros_per_million"] as? Int == 100_000)
            #expect(own["cached_input_micros_per_million"] as? Int == 100_000)
            #expect(own["reasoning_micros_per_million"] as? Int == 400_000)
            #expect(try await listData(client, "/v1/prices", key: a.key).filter { $0["model"] as? String == "gpt-4o-mini" }.count == 1)
            #expect(try await price(b.key, "openai", "gpt-4o-mini")?["source"] as? String == "platform")

            for (fields, field) in [
                (["provider_kind": "bogus", "model": "m", "input_micros_per_million": 1, "output_micros_per_million": 1], "provider_kind"),
                (["provider_kind": "openai", "model": "m", "input_micros_per_million": -1, "output_micros_per_million": 1], "input_micros_per_million"),
                (["provider_kind": "openai", "model": "", "input_micros_per_million": 1, "output_micros_per_million": 1], "model"),
                (["provider_kind": "openai", "model": "m", "input_micros_per_million": 1], "output_micros_per_million"),
            ] as [([String: Any], String)] {
                let response = try await client.execute(uri: "/admin/prices", method: .put, headers: admin(), body: json(fields)) { $0 }
                try expectError(response, .badRequest, "invalid_request", field: field)
            }
            let tenantRoute = try await client.execute(uri: "/admin/prices", method: .get, headers: headers(bearer: a.key)) { $0 }
            #expect(tenantRoute.status == .unauthorized)
        }
    }
}
