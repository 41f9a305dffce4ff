import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import SwitchboardApp
import SwitchboardTestSupport
import Testing
import WebhookConnector

@Suite("Idempotency-Key: a repeated mutating call answers the first result and runs nothing")
struct IdempotencyTests {
    func keyed(_ bearer: String, _ key: String) -> HTTPFields {
        var fields = headers(bearer: bearer)
        fields[HTTPField.Name("Idempotency-Key")!] = key
        return fields
    }

    /// A tenant with one conversation (from a signed webhook delivery); answers its id.
    func conversation(_ client: any TestClientProtocol, _ tenant: (id: String, key: String)) async throws -> String {
        let channel = try await createChannel(client, key: tenant.key, kind: "webhook", credentials: ["callback_url": "https://crm.example.kz/inbox"])
        let body = try fixture("webhook_generic")
        var signed = HTTPFields()
        signed[HTTPField.Name("X-Switchboard-Signature")!] = WebhookConnector.signatureHeader(
            secret: try #require(channel.revealed["signing_secret"]), timestamp: Date(), body: body
        )
        #expect(try await deliver(client, channel: channel.id, body: body, headers: signed).status == .ok)
        return try #require(try await listData(client, "/v1/conversations", key: tenant.key).first?["id"] as? String)
    }

    @Test("a person's message posted twice with one key is stored and queued once; the repeat is the first answer")
    func personMessageOnce() async throws {
        try await withApp { client in
            let tenant = try await createTenant(client)
            let id = try await conversation(client, tenant)
            let uri = "/v1/conversations/\(id)/messages"
            let first = try await client.execute(uri: uri, method: .post, headers: keyed(tenant.key, "msg-1"), body: json(["text": "Hello"])) { $0 }
            let again = try await client.execute(uri: uri, method: .post, headers: keyed(tenant.key, "msg-1"), body: json(["text": "Hello"])) { $0 }
            #expect(first.status == .accepted)
            #expect(again.status == .accepted)
            #expect(try object(again)["id"] as? String == (try object(first)["id"] as? String))
            #expect(again.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")
            #expect(first.headers[HTTPField.Name("Idempotent-Replayed")!] == nil)
            let messages = try await listData(client, "/v1/conversations/\(id)/messages", key: tenant.key)
            #expect(messages.filter { $0["direction"] as? String == "outbound" }.count == 1)
            #expect(try await ownerCount("SELECT count(*)::int FROM jobs WHERE tenant_id = '\(tenant.id)' AND kind = 'send'") == 1)

            // The same key with another body is refused; without a key, each call runs.
            let other = try await client.execute(uri: uri, method: .post, headers: keyed(tenant.key, "msg-1"), body: json(["text": "Bye"])) { $0 }
            try expectError(other, .conflict, "conflict")
            for _ in 0..<2 {
                let plain = try await client.execute(uri: uri, method: .post, headers: headers(bearer: tenant.key), body: json(["text": "Hello"])) { $0 }
                #expect(plain.status == .accepted)
            }
            #expect(try await ownerCount("SELECT count(*)::int FROM jobs WHERE tenant_id = '\(tenant.id)' AND kind = 'send'") == 3)
        }
    }

    @Test("a call that fails releases its key: the retry runs")
    func failureReleasesKey() async throws {
        try await withApp { client in
            let tenant = try await createTenant(client)
            _ = try await conversation(client, tenant)
            let contact = try #require(try await listData(client, "/v1/contacts", key: tenant.key).first?["id"] as? String)
            let refused = try await client.execute(
                uri: "/v1/deals", method: .post, headers: keyed(tenant.key, "deal-1"),
                body: json(["contact_id": UUID().uuidString.lowercased(), "title": "Sofa", "stage": "new"])
            ) { $0 }
            try expectError(refused, .notFound, "not_found")
            let created = try await client.execute(
                uri: "/v1/deals", method: .post, headers: keyed(tenant.key, "deal-1"), body: json(["contact_id": contact, "title": "Sofa", "stage": "new"])
            ) { $0 }
            #expect(created.status == .created, "body: \(String(buffer: created.body))")
        }
    }

    @Test("an answer with a secret shown once is never stored; its repeat is refused, not replayed")
    func secretsAreNotReplayed() async throws {
        try await withApp { client in
            let tenant = try await createTenant(client)
            let first = try await client.execute(uri: "/v1/api-keys", method: .post, headers: keyed(tenant.key, "key-1"), body: json(["name": "ci"])) { $0 }
            #expect(first.status == .created)
            #expect(first.headers[.cacheControl] == "no-store")
            let secret = try #require(try object(first)["key"] as? String)
            let again = try await client.execute(uri: "/v1/api-keys", method: .post, headers: keyed(tenant.key, "key-1"), body: json(["name": "ci"])) { $0 }
            try expectError(again, .conflict, "conflict")
            #expect(!String(buffer: again.body).contains(secret))
            #expect(try await listData(client, "/v1/api-keys", key: tenant.key).count == 2)
            #expect(try await ownerCount("SELECT count(*)::int FROM idempotency_keys WHERE scope = '\(tenant.id)' AND body IS NULL AND NOT replayable") == 1)

            // The operator's keys: a tenant is created once.
            let name = "Idem \(UUID().uuidString.prefix(8))"
            var operatorHeaders = headers(bearer: adminToken)
            operatorHeaders[HTTPField.Name("Idempotency-Key")!] = "tenant-\(UUID().uuidString)"
            let created = try await client.execute(uri: "/admin/tenants", method: .post, headers: operatorHeaders, body: json(["name": name])) { $0 }
            #expect(created.status == .created)
            let repeated = try await client.execute(uri: "/admin/tenants", method: .post, headers: operatorHeaders, body: json(["name": name])) { $0 }
            try expectError(repeated, .conflict, "conflict")
            #expect(try await ownerCount("SELECT count(*)::int FROM tenants WHERE name = '\(name)'") == 1)
        }
    }

    @Test("keys belong to their tenant, and a malformed key is refused")
    func scopedAndValidated() async throws {
        try await withApp { client in
            let a = try await createTenant(client)
            let b = try await createTenant(client)
            for tenant in [a, b] {
                let response = try await client.execute(
                    uri: "/v1/deals", method: .post, headers: keyed(tenant.key, "shared-key"), body: json(["contact_id": "x", "title": "T", "stage": "s"])
                ) { $0 }
                try expectError(response, .notFound, "not_found")
            }
            let bad = try await client.execute(
                uri: "/v1/api-keys", method: .post, headers: keyed(a.key, String(repeating: "k", count: 256)), body: json(["name": "x"])
            ) { $0 }
            try expectError(bad, .badRequest, "invalid_request")
        }
    }
}
