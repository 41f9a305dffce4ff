import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import SwitchboardApp
import SwitchboardTestSupport
import Testing

@Suite("Channels API")
struct ChannelAPITests {
    @Test("a telegram channel: created with a generated secret shown once, credentials never answered, sealed at rest")
    func telegramChannelLifecycle() async throws {
        try await withApp { client in
            let tenant = try await createTenant(client)
            let channel = try await createChannel(client, key: tenant.key, kind: "telegram", credentials: ["bot_token": botToken])
            let secret = try #require(channel.revealed["secret_token"])
            #expect(secret.count >= 32)
            #expect(channel.webhookURL.hasSuffix("/hooks/\(channel.id)"))

            let fetched = try await client.execute(uri: "/v1/channels/\(channel.id)", method: .get, headers: headers(bearer: tenant.key)) { $0 }
            let body = String(decoding: fetched.body.readableBytesView, as: UTF8.self)
            #expect(fetched.status == .ok)
            #expect(!body.contains(secret) && !body.contains(botToken), "credentials are write-only")
            #expect(body.contains("credential_fields"))

            // Sealed at rest: neither the token nor the secret appear in the stored bytes.
            #expect(try await ownerCount(
                "SELECT count(*)::int FROM channels WHERE id = '\(channel.id)' AND position(convert_to('\(botToken)', 'UTF8') in credentials) = 0 AND position(convert_to('\(secret)', 'UTF8') in credentials) = 0"
            ) == 1)

            let list = try await listData(client, "/v1/channels", key: tenant.key)
            #expect(list.map { $0["id"] as? String } == [channel.id])

            try await client.execute(
                uri: "/v1/channels/\(channel.id)", method: .patch, headers: headers(bearer: tenant.key), body: json(["name": "Shop bot", "enabled": false])
            ) { response in
                #expect(response.status == .ok)
                let patched = try object(response)
                #expect(patched["name"] as? String == "Shop bot")
                #expect(patched["enabled"] as? Bool == false)
            }
            try await client.execute(uri: "/v1/channels/\(channel.id)", method: .delete, headers: headers(bearer: tenant.key, json: false)) { response in
                #expect(response.status == .ok)
            }
            try await client.execute(uri: "/v1/channels/\(channel.id)", method: .get, headers: headers(bearer: tenant.key)) { response in
                try expectError(response, .notFound, "not_found")
            }
            #expect(try await ownerCount("SELECT count(*)::int FROM channels WHERE id = '\(channel.id)' AND credentials IS NULL") == 1)
        }
    }

    @Test("bad channel bodies name the field at fault", arguments: [
        (#"{"kind": "fax", "name": "x", "credentials": {}}"#, "kind"),
        (#"{"kind": "telegram", "name": "x", "credentials": {}}"#, "credentials.bot_token"),
        (#"{"kind": "telegram", "name": "x", "credentials": {"bot_token": "not-a-token"}}"#, "credentials.bot_token"),
        (#"{"kind": "telegram", "name": "x", "credentials": {"bot_token": 5}}"#, "credentials.bot_token"),
        (#"{"kind": "whatsapp", "name": "x", "credentials": {"phone_number_id": "1"}}"#, nil),
        (#"{"kind": "webhook", "name": "x", "credentials": {"callback_url": "http://127.0.0.1:9/in"}}"#, "credentials.callback_url"),
        (#"{"kind": "webhook", "name": "x", "credentials": {"callback_url": "http://10.1.2.3/in"}}"#, "credentials.callback_url"),
        // Forms a text check let through: the resolver reads them as loopback, 0.0.0.0, and
        // (octal) the cloud metadata address.
        (#"{"kind": "webhook", "name": "x", "credentials": {"callback_url": "http://2130706433/in"}}"#, "credentials.callback_url"),
        (#"{"kind": "webhook", "name": "x", "credentials": {"callback_url": "http://0/in"}}"#, "credentials.callback_url"),
        (#"{"kind": "webhook", "name": "x", "credentials": {"callback_url": "http://[0:0:0:0:0:ffff:7f00:1]/in"}}"#, "credentials.callback_url"),
        (#"{"kind": "webhook", "name": "x", "credentials": {"callback_url": "http://0251.0376.0251.0376/in"}}"#, "credentials.callback_url"),
        (#"{"kind": "webhook", "name": "x", "credentials": {"callback_url": "http://127.1:8080/in"}}"#, "credentials.callback_url"),
        (#"{"kind": "webhook", "name": "x", "credentials": {"signing_secret": "mine"}}"#, "credentials.signing_secret"),
        (#"{"kind": "webhook", "name": "", "credentials": {}}"#, "name"),
        (#"{"kind": "webhook", "name": "x", "webhook_url": "http://x"}"#, "webhook_url"),
    ] as [(String, String?)])
    func refusesBadBodies(body: String, field: String?) async throws {
        try await withApp { client in
            let tenant = try await createTenant(client)
            try await client.execute(uri: "/v1/channels", method: .post, headers: headers(bearer: tenant.key), body: ByteBuffer(string: body)) { response in
                try expectError(response, .badRequest, "invalid_request", field: field)
            }
            #expect(try await listData(client, "/v1/channels", key: tenant.key).isEmpty, "nothing half-stored")
        }
    }

    @Test("a guessable secret a tenant chooses is refused with the error envelope, at creation and at update, and nothing changes")
    func refusesShortSecrets() async throws {
        try await withApp { client in
            let tenant = try await createTenant(client)
            let whatsapp = ["phone_number_id": "106540352242922", "access_token": "EAAG-test", "app_secret": String(repeating: "a", count: 32),
                            "verify_token": String(repeating: "v", count: 16)]
            let refused: [(String, [String: String], String)] = [
                ("telegram", ["bot_token": botToken, "secret_token": "a"], "credentials.secret_token"),
                ("telegram", ["bot_token": botToken, "secret_token": String(repeating: "s", count: 15)], "credentials.secret_token"),
                ("whatsapp", whatsapp.merging(["verify_token": "v"]) { $1 }, "credentials.verify_token"),
                ("whatsapp", whatsapp.merging(["app_secret": "short-app-secret"]) { $1 }, "credentials.app_secret"),
            ]
            for (kind, credentials, field) in refused {
                try await client.execute(
                    uri: "/v1/channels", method: .post, headers: headers(bearer: tenant.key),
                    body: json(["kind": kind, "name": "x", "credentials": credentials])
                ) { response in
                    try expectError(response, .badRequest, "invalid_request", field: field)
                }
            }
            #expect(try await listData(client, "/v1/channels", key: tenant.key).isEmpty, "nothing stored")
            // The same minimums at the smallest lengths they take, and at update.
            let channel = try await createChannel(
                client, key: tenant.key, kind: "telegram", credentials: ["bot_token": botToken, "secret_token": String(repeating: "s", count: 16)]
            )
            _ = try await createChannel(client, key: tenant.key, kind: "whatsapp", credentials: whatsapp)
            try await client.execute(
                uri: "/v1/channels/\(channel.id)", method: .patch, headers: headers(bearer: tenant.key),
                body: json(["credentials": ["bot_token": botToken, "secret_token": "x"]])
            ) { response in
                try expectError(response, .badRequest, "invalid_request", field: "credentials.secret_token")
            }
        }
    }

    @Test("another tenant's channel is 404 on every channel route")
    func otherTenantsChannel() async throws {
        try await withApp { client in
            let a = try await createTenant(client)
            let b = try await createTenant(client)
            let channel = try await createChannel(client, key: b.key, kind: "webhook", credentials: [:])
            for (method, body) in [(HTTPRequest.Method.get, nil), (.patch, json(["name": "mine now"])), (.delete, nil)] as [(HTTPRequest.Method, ByteBuffer?)] {
                try await client.execute(uri: "/v1/channels/\(channel.id)", method: method, headers: headers(bearer: a.key), body: body) { response in
                    try expectError(response, .notFound, "not_found")
                }
            }
            try await client.execute(uri: "/v1/channels/\(channel.id)", method: .get, headers: headers(bearer: b.key)) { response in
                #expect(response.status == .ok)
                let body = try object(response)
                #expect(body["name"] as? String == "Channel")
            }
        }
    }

    @Test("with a public URL, Telegram creation checks the token with getMe and registers the webhook with its secret")
    func telegramRegistration() async throws {
        try await withFakeTelegram(validToken: botToken) { base, log in
            var configuration = try await testConfiguration()
            configuration.publicURL = "https://switchboard.example.kz"
            configuration.platformBases["telegram"] = try #require(URL(string: base))
            let bootstrap = try await Bootstrap.prepare(configuration, logger: TestDatabase.logger)
            let app = buildApplication(configuration, bootstrap: bootstrap, logger: TestDatabase.logger)
            try await app.test(.router) { client in
                let tenant = try await createTenant(client)
                let channel = try await createChannel(client, key: tenant.key, kind: "telegram", credentials: ["bot_token": botToken])
                let calls = log.all
                #expect(calls.map(\.path) == ["/bot\(botToken)/getMe", "/bot\(botToken)/setWebhook"])
                let registration = try #require(calls.last?.json)
                #expect(registration["url"] == "https://switchboard.example.kz/hooks/\(channel.id)")
                #expect(registration["secret_token"] == channel.revealed["secret_token"])

                // A token Telegram refuses is refused at creation, and nothing is stored.
                let refused = "7001:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
                try await client.execute(
                    uri: "/v1/channels", method: .post, headers: headers(bearer: tenant.key),
                    body: json(["kind": "telegram", "name": "bad", "credentials": ["bot_token": refused]])
                ) { response in
                    try expectError(response, .badRequest, "invalid_request")
                    #expect(!String(decoding: response.body.readableBytesView, as: UTF8.self).contains(refused), "no token in errors")
                }
                #expect(try await listData(client, "/v1/channels", key: tenant.key).count == 1)
            }
        }
    }
}
