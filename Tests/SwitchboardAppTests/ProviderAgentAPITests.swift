import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import SwitchboardApp
import SwitchboardTestSupport
import Testing

@Suite("Providers and agents API: write-only keys, validation, tenancy, conflicts")
struct ProviderAgentAPITests {
    @Test("a provider's API key is write-only: never answered, sealed at rest")
    func apiKeyIsWriteOnly() async throws {
        try await withApp { client in
            let tenant = try await createTenant(client)
            let created = try await client.execute(
                uri: "/v1/providers", method: .post, headers: headers(bearer: tenant.key),
                body: json(["name": "OpenAI", "kind": "openai", "api_key": "sk-live-very-secret-123", "region": "us"])
            ) { $0 }
            #expect(created.status == .created)
            let body = String(buffer: created.body)
            #expect(!body.contains("sk-live-very-secret-123"))
            let provider = try object(created)
            #expect(provider["has_api_key"] as? Bool == true)
            #expect(provider["base_url"] as? String == "https://api.openai.com/v1")
            #expect(provider["region"] as? String == "us")
            let id = try #require(provider["id"] as? String)
            let fetched = try await client.execute(uri: "/v1/providers/\(id)", method: .get, headers: headers(bearer: tenant.key)) { String(buffer: $0.body) }
            #expect(!fetched.contains("sk-live-very-secret-123"))
            #expect(try await ownerCount("SELECT count(*)::int FROM providers WHERE id = '\(id)' AND position('sk-live-very-secret-123' in encode(api_key, 'escape')) > 0") == 0)
            #expect(try await ownerCount("SELECT count(*)::int FROM providers WHERE id = '\(id)' AND api_key IS NOT NULL") == 1)

            let list = try await listData(client, "/v1/providers", key: tenant.key)
            #expect(list.map { $0["id"] as? String } == [id])
        }
    }

    @Test("bad provider input is refused naming the field")
    func providerValidation() async throws {
        try await withApp { client in
            let tenant = try await createTenant(client)
            let cases: [([String: Any], String)] = [
                (["name": "x", "kind": "llama", "region": "us"], "kind"),
                (["name": "x", "kind": "openai", "region": "us"], "api_key"),
                (["name": "x", "kind": "openai_compatible", "region": "us"], "base_url"),
                (["name": "x", "kind": "openai_compatible", "base_url": "http://127.0.0.1:11434/v1", "region": "us"], "base_url"),
                (["name": "x", "kind": "openai_compatible", "base_url": "http://10.0.0.5/v1", "region": "us"], "base_url"),
                // Numeric forms only the resolver reads as loopback and link-local.
                (["name": "x", "kind": "openai_compatible", "base_url": "http://2130706433:11434/v1", "region": "us"], "base_url"),
                (["name": "x", "kind": "openai_compatible", "base_url": "http://0251.0376.0251.0376/v1", "region": "us"], "base_url"),
                (["name": "x", "kind": "openai_compatible", "base_url": "ftp://models.example.com", "region": "us"], "base_url"),
                (["name": "x", "kind": "anthropic", "api_key": "k"], "region"),
                (["name": "x", "kind": "anthropic", "api_key": "k", "region": "Europe West"], "region"),
                (["name": "x", "kind": "local", "api_key": "k"], "api_key"),
                (["name": "", "kind": "local"], "name"),
                (["name": "x", "kind": "local", "tenant_id": "t"], "tenant_id"),
                (["name": "x", "kind": "local", "has_api_key": true], "has_api_key"),
            ]
            for (fields, field) in cases {
                let response = try await client.execute(uri: "/v1/providers", method: .post, headers: headers(bearer: tenant.key), body: json(fields)) { $0 }
                try expectError(response, .badRequest, "invalid_request", field: field)
            }
        }
    }

    @Test("agents: created on the tenant's providers; another tenant's provider or agent is not found")
    func agentTenancy() async throws {
        try await withApp { client in
            let a = try await createTenant(client)
            let b = try await createTenant(client)
            let providerA = try await createProvider(client, key: a.key, ["name": "FAQ", "kind": "local"])
            let providerB = try await createProvider(client, key: b.key, ["name": "FAQ", "kind": "local"])
            let agent: [String: Any] = [
                "name": "Bot", "provider_id": providerA, "model": "faq", "system_prompt": "Be kind.", "temperature": 0.3,
                "max_output_tokens": 500, "handoff_keywords": ["operator"], "faq": [["question": "Hours?", "answer": "9-21"]],
                "out_of_credits_reply": "We will answer soon.",
            ]
            let created = try await client.execute(uri: "/v1/agents", method: .post, headers: headers(bearer: a.key), body: json(agent)) { $0 }
            #expect(created.status == .created)
            let body = try object(created)
            let agentID = try #require(body["id"] as? String)
            #expect(body["temperature"] as? Double == 0.3)
            #expect(body["history_messages"] as? Int == 20)
            #expect((body["faq"] as? [[String: String]])?.first?["answer"] == "9-21")

            var foreign = agent
            foreign["provider_id"] = providerB
            let refused = try await client.execute(uri: "/v1/agents", method: .post, headers: headers(bearer: a.key), body: json(foreign)) { $0 }
            try expectError(refused, .notFound, "not_found", field: "provider_id")
            let fallback = try await client.execute(
                uri: "/v1/agents/\(agentID)", method: .patch, headers: headers(bearer: a.key),
                body: json(["fallbacks": [["provider_id": providerB, "model": "m"]]])
            ) { $0 }
            try expectError(fallback, .notFound, "not_found", field: "fallbacks[0].provider_id")
            for method in [HTTPRequest.Method.get, .delete] {
                let response = try await client.execute(uri: "/v1/agents/\(agentID)", method: method, headers: headers(bearer: b.key)) { $0 }
                try expectError(response, .notFound, "not_found")
            }
            // A channel may point only at the tenant's own agent.
            let channel = try await client.execute(
                uri: "/v1/channels", method: .post, headers: headers(bearer: b.key),
                body: json(["kind": "telegram", "name": "Bot", "agent_id": agentID, "credentials": ["bot_token": botToken]])
            ) { $0 }
            try expectError(channel, .notFound, "not_found", field: "agent_id")
        }
    }

    @Test("bad agent input is refused naming the field")
    func agentValidation() async throws {
        try await withApp { client in
            let tenant = try await createTenant(client)
            let provider = try await createProvider(client, key: tenant.key, ["name": "FAQ", "kind": "local"])
            let base: [String: Any] = ["name": "Bot", "provider_id": provider, "model": "faq", "system_prompt": ""]
            let cases: [([String: Any], String)] = [
                (["temperature": 2.5], "temperature"),
                (["max_output_tokens": 0], "max_output_tokens"),
                (["history_messages": 500], "history_messages"),
                (["handoff_keywords": [""]], "handoff_keywords[0]"),
                (["faq": [["question": "q", "answer": ""]]], "faq[0].answer"),
                (["provider_id": "not-an-id"], "provider_id"),
                (["max_output_tokens": "many"], "max_output_tokens"),
                (["created_at": "2026-01-01T00:00:00Z"], "created_at"),
            ]
            for (override, field) in cases {
                let fields = base.merging(override) { $1 }
                let response = try await client.execute(uri: "/v1/agents", method: .post, headers: headers(bearer: tenant.key), body: json(fields)) { $0 }
                try expectError(response, field == "provider_id" ? .notFound : .badRequest, field == "provider_id" ? "not_found" : "invalid_request", field: field)
            }
            let missing = try await client.execute(
                uri: "/v1/agents", method: .post, headers: headers(bearer: tenant.key), body: json(["name": "Bot", "provider_id": provider])
            ) { $0 }
            try expectError(missing, .badRequest, "invalid_request", field: "model")
        }
    }

    @Test("a provider used by an agent, and an agent used by a channel, cannot be deleted (409)")
    func deleteInUseConflicts() async throws {
        try await withApp { client in
            let tenant = try await createTenant(client)
            let provider = try await createProvider(client, key: tenant.key, ["name": "FAQ", "kind": "local"])
            let spare = try await createProvider(client, key: tenant.key, ["name": "Spare", "kind": "local"])
            let agent = try await createAgent(
                client, key: tenant.key,
                ["name": "Bot", "provider_id": provider, "model": "faq", "system_prompt": "", "fallbacks": [["provider_id": spare, "model": "faq"]]]
            )
            let channel = try await client.execute(
                uri: "/v1/channels", method: .post, headers: headers(bearer: tenant.key),
                body: json(["kind": "telegram", "name": "Bot", "agent_id": agent, "credentials": ["bot_token": botToken]])
            ) { $0 }
            #expect(channel.status == .created)
            #expect(try object(channel)["agent_id"] as? String == agent)
            let channelID = try #require(try object(channel)["id"] as? String)

            for uri in ["/v1/providers/\(provider)", "/v1/providers/\(spare)", "/v1/agents/\(agent)"] {
                let response = try await client.execute(uri: uri, method: .delete, headers: headers(bearer: tenant.key)) { $0 }
                try expectError(response, .conflict, "conflict")
            }
            // Detach the channel, then everything can go, in order.
            let detached = try await client.execute(
                uri: "/v1/channels/\(channelID)", method: .patch, headers: headers(bearer: tenant.key), body: json(["agent_id": NSNull()])
            ) { $0 }
            #expect(detached.status == .ok)
            for uri in ["/v1/agents/\(agent)", "/v1/providers/\(provider)", "/v1/providers/\(spare)"] {
                let response = try await client.execute(uri: uri, method: .delete, headers: headers(bearer: tenant.key)) { $0 }
                #expect(response.status == .ok, "\(uri): \(String(buffer: response.body))")
            }
        }
    }

    @Test("another tenant's provider is not found by any route; a patch is validated and cannot drop a required key")
    func providerTenancyAndPatch() async throws {
        try await withApp { client in
            let a = try await createTenant(client)
            let b = try await createTenant(client)
            let provider = try await createProvider(
                client, key: a.key, ["name": "OpenAI", "kind": "openai", "api_key": "sk-a", "region": "us"]
            )
            for method in [HTTPRequest.Method.get, .patch, .delete] {
                let response = try await client.execute(
                    uri: "/v1/providers/\(provider)", method: method, headers: headers(bearer: b.key),
                    body: method == .patch ? json(["name": "taken"]) : nil
                ) { $0 }
                try expectError(response, .notFound, "not_found")
            }
            let cases: [([String: Any], String)] = [
                (["api_key": NSNull()], "api_key"),
                (["region": "Not a region"], "region"),
                (["base_url": "http://192.168.1.10/v1"], "base_url"),
                (["kind": "anthropic"], "kind"),
                (["name": ""], "name"),
            ]
            for (fields, field) in cases {
                let response = try await client.execute(
                    uri: "/v1/providers/\(provider)", method: .patch, headers: headers(bearer: a.key), body: json(fields)
                ) { $0 }
                try expectError(response, .badRequest, "invalid_request", field: field)
            }
            let renamed = try await client.execute(
                uri: "/v1/providers/\(provider)", method: .patch, headers: headers(bearer: a.key),
                body: json(["name": "OpenAI EU", "region": "eu", "api_key": "sk-rotated"])
            ) { $0 }
            #expect(renamed.status == .ok)
            let body = try object(renamed)
            #expect(body["name"] as? String == "OpenAI EU")
            #expect(body["region"] as? String == "eu")
            #expect(body["has_api_key"] as? Bool == true)
            #expect(!String(buffer: renamed.body).contains("sk-rotated"))
            // Another tenant's agent cannot be patched either, nor point at this provider.
            let agent = try await createAgent(client, key: a.key, ["name": "Bot", "provider_id": provider, "model": "gpt-4o-mini", "system_prompt": ""])
            let foreignPatch = try await client.execute(
                uri: "/v1/agents/\(agent)", method: .patch, headers: headers(bearer: b.key), body: json(["name": "x"])
            ) { $0 }
            try expectError(foreignPatch, .notFound, "not_found")
            let unchanged = try await client.execute(uri: "/v1/agents/\(agent)", method: .get, headers: headers(bearer: a.key)) { try object($0) }
            #expect(unchanged["name"] as? String == "Bot")
        }
    }
}
