import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import SwitchboardApp
import SwitchboardTestSupport
import Testing

/// A tenant with a Telegram channel and the given senders' first messages delivered.
func seededTenant(_ client: any TestClientProtocol, senders: [(id: Int, name: String)]) async throws -> (tenant: (id: String, key: String), channel: String) {
    let tenant = try await createTenant(client)
    let channel = try await createChannel(client, key: tenant.key, kind: "telegram", credentials: ["bot_token": botToken])
    let secret = try #require(channel.revealed["secret_token"])
    for (index, sender) in senders.enumerated() {
        let body = telegramUpdate(updateID: 1000 + index, userID: sender.id, messageID: index, text: "hello from \(sender.name)", name: sender.name)
        #expect(try await deliver(client, channel: channel.id, body: body, headers: telegramHeaders(secret)).status == .ok)
    }
    return (tenant, channel.id)
}

@Suite("CRM API")
struct CRMTests {
    @Test("contacts: search by name, phone and platform id; rectify with null clearing; tags")
    func contacts() async throws {
        try await withApp { client in
            let seeded = try await seededTenant(client, senders: [(111_001, "Dana"), (111_002, "Arman"), (111_003, "Aruzhan")])
            let key = seeded.tenant.key
            #expect(try await listData(client, "/v1/contacts", key: key).count == 3)
            #expect(try await listData(client, "/v1/contacts?q=ar", key: key).count == 2)
            #expect(try await listData(client, "/v1/contacts?q=111002", key: key).first?["display_name"] as? String == "Arman")
            #expect(try await listData(client, "/v1/contacts?q=%25", key: key).isEmpty, "LIKE wildcards are literal")

            let dana = try #require(try await listData(client, "/v1/contacts?q=Dana", key: key).first?["id"] as? String)
            try await client.execute(
                uri: "/v1/contacts/\(dana)", method: .patch, headers: headers(bearer: key),
                body: json(["phone": "+7 701 123 45 67", "email": "dana@example.kz", "tags": ["vip", "almaty", "vip"]])
            ) { response in
                #expect(response.status == .ok)
                let body = try object(response)
                #expect(body["phone"] as? String == "+7 701 123 45 67")
                #expect(body["tags"] as? [String] == ["almaty", "vip"])
            }
            #expect(try await listData(client, "/v1/contacts?q=701%20123", key: key).count == 1)
            try await client.execute(uri: "/v1/contacts/\(dana)", method: .patch, headers: headers(bearer: key), body: ByteBuffer(string: #"{"email": null}"#)) { response in
                let body = try object(response)
                #expect(body["email"] is NSNull)
                #expect(body["phone"] as? String == "+7 701 123 45 67", "fields not sent are kept")
            }
            for (patch, field) in [(#"{"email": "not-an-email"}"#, "email"), (#"{"phone": "call me"}"#, "phone"), (#"{"identities": []}"#, "identities")] {
                try await client.execute(uri: "/v1/contacts/\(dana)", method: .patch, headers: headers(bearer: key), body: ByteBuffer(string: patch)) { response in
                    try expectError(response, .badRequest, "invalid_request", field: field)
                }
            }
        }
    }

    @Test("merging keeps every identity and conversation, and is recorded")
    func merge() async throws {
        try await withApp { client in
            let seeded = try await seededTenant(client, senders: [(222_001, "Dana"), (222_002, "Dana B")])
            let key = seeded.tenant.key
            let contacts = try await listData(client, "/v1/contacts", key: key)
            let target = try #require(contacts.first?["id"] as? String)
            let source = try #require(contacts.last?["id"] as? String)
            _ = try await client.execute(uri: "/v1/contacts/\(source)/notes", method: .post, headers: headers(bearer: key), body: json(["body": "prefers calls"])) { $0 }

            try await client.execute(uri: "/v1/contacts/\(target)/merge", method: .post, headers: headers(bearer: key), body: json(["contact_id": source])) { response in
                #expect(response.status == .ok)
                let merged = try object(response)
                let identities = try #require(merged["identities"] as? [[String: Any]])
                #expect(Set(identities.compactMap { $0["external_id"] as? String }) == ["222001", "222002"])
            }
            #expect(try await listData(client, "/v1/contacts", key: key).count == 1)
            #expect(try await listData(client, "/v1/conversations?contact_id=\(target)", key: key).count == 2)
            #expect(try await listData(client, "/v1/contacts/\(target)/notes", key: key).first?["body"] as? String == "prefers calls")
            try await client.execute(uri: "/v1/contacts/\(source)", method: .get, headers: headers(bearer: key)) { response in
                try expectError(response, .notFound, "not_found")
            }
            #expect(try await ownerCount(
                "SELECT count(*)::int FROM contact_merges WHERE tenant_id = '\(seeded.tenant.id)' AND source_contact_id = '\(source)' AND (moved->>'conversations')::int = 1"
            ) == 1)
            try await client.execute(uri: "/v1/contacts/\(target)/merge", method: .post, headers: headers(bearer: key), body: json(["contact_id": target])) { response in
                try expectError(response, .badRequest, "invalid_request", field: "contact_id")
            }
        }
    }

    @Test("conversations: filters, close, reopen, a conflict when the chat has another open one")
    func conversations() async throws {
        try await withApp(.live) { client in
            let tenant = try await createTenant(client)
            let key = tenant.key
            let channel = try await createChannel(client, key: key, kind: "telegram", credentials: ["bot_token": botToken])
            let secret = try #require(channel.revealed["secret_token"])
            let first = telegramUpdate(updateID: 3001, userID: 333_001, messageID: 1, text: "first")
            #expect(try await deliver(client, channel: channel.id, body: first, headers: telegramHeaders(secret)).status == .ok)
            let old = try #require(try await listData(client, "/v1/conversations?status=open", key: key).first?["id"] as? String)
            _ = try await client.execute(uri: "/v1/conversations/\(old)/close", method: .post, headers: headers(bearer: key, json: false)) { $0 }
            #expect(try await listData(client, "/v1/conversations?status=open", key: key).isEmpty)
            #expect(try await listData(client, "/v1/conversations?status=closed", key: key).count == 1)
            try await client.execute(uri: "/v1/conversations?status=pending", method: .get, headers: headers(bearer: key)) { response in
                try expectError(response, .badRequest, "invalid_request", field: "status")
            }

            // The chat writes again: a new conversation opens, so the old one cannot reopen.
            let second = telegramUpdate(updateID: 3002, userID: 333_001, messageID: 2, text: "second")
            #expect(try await deliver(client, channel: channel.id, body: second, headers: telegramHeaders(secret)).status == .ok)
            let open = try await listData(client, "/v1/conversations?status=open", key: key)
            #expect(open.count == 1)
            #expect(open.first?["id"] as? String != old)
            try await client.execute(uri: "/v1/conversations/\(old)/reopen", method: .post, headers: headers(bearer: key, json: false)) { response in
                try expectError(response, .conflict, "conflict")
            }
            // Closing the new one lets the old one reopen.
            let newer = try #require(open.first?["id"] as? String)
            _ = try await client.execute(uri: "/v1/conversations/\(newer)/close", method: .post, headers: headers(bearer: key, json: false)) { $0 }
            try await client.execute(uri: "/v1/conversations/\(old)/reopen", method: .post, headers: headers(bearer: key, json: false)) { response in
                #expect(response.status == .ok)
                let body = try object(response)
                #expect(body["status"] as? String == "open")
                #expect(body["closed_at"] is NSNull)
            }
        }
    }

    @Test("messages page by cursor in the order they were stored")
    func messagePaging() async throws {
        try await withApp(.live) { client in
            let tenant = try await createTenant(client)
            let channel = try await createChannel(client, key: tenant.key, kind: "telegram", credentials: ["bot_token": botToken])
            let secret = try #require(channel.revealed["secret_token"])
            for index in 0..<5 {
                let body = telegramUpdate(updateID: 5000 + index, userID: 444_001, messageID: index, text: "m\(index)")
                _ = try await deliver(client, channel: channel.id, body: body, headers: telegramHeaders(secret))
            }
            let conversation = try #require(try await listData(client, "/v1/conversations", key: tenant.key).first?["id"] as? String)
            var texts: [String] = []
            var cursor: String?
            repeat {
                let uri = "/v1/conversations/\(conversation)/messages?limit=2" + (cursor.map { "&cursor=\($0)" } ?? "")
                let page = try object(try await client.execute(uri: uri, method: .get, headers: headers(bearer: tenant.key)) { $0 })
                texts += ((page["data"] as? [[String: Any]]) ?? []).compactMap { $0["text"] as? String }
                cursor = page["next_cursor"] as? String
            } while cursor != nil
            #expect(texts == ["m0", "m1", "m2", "m3", "m4"])
        }
    }

    @Test("deals: create, change, delete; amounts in minor units with a currency")
    func deals() async throws {
        try await withApp { client in
            let seeded = try await seededTenant(client, senders: [(555_001, "Dana")])
            let key = seeded.tenant.key
            let contact = try #require(try await listData(client, "/v1/contacts", key: key).first?["id"] as? String)
            let created = try object(try await client.execute(
                uri: "/v1/deals", method: .post, headers: headers(bearer: key),
                body: json(["contact_id": contact, "title": "Sofa delivery", "amount_minor": 4_500_000, "currency": "KZT"])
            ) { $0 })
            let deal = try #require(created["id"] as? String)
            #expect(created["stage"] as? String == "new")
            #expect(created["amount_minor"] as? Int == 4_500_000)
            try await client.execute(uri: "/v1/deals/\(deal)", method: .patch, headers: headers(bearer: key), body: json(["stage": "won"])) { response in
                let body = try object(response)
                #expect(body["stage"] as? String == "won")
            }
            #expect(try await listData(client, "/v1/deals?contact_id=\(contact)", key: key).count == 1)
            for (body, field) in [
                (#"{"contact_id": "\#(contact)", "title": "x", "amount_minor": 100}"#, "currency"),
                (#"{"contact_id": "\#(contact)", "title": "x", "amount_minor": -1, "currency": "KZT"}"#, "amount_minor"),
                (#"{"contact_id": "\#(contact)", "title": "x", "amount_minor": 1, "currency": "tenge"}"#, "currency"),
                (#"{"contact_id": "\#(contact)", "title": "x", "amount_minor": 1.5, "currency": "KZT"}"#, "amount_minor"),
                (#"{"title": "x"}"#, "contact_id"),
            ] {
                try await client.execute(uri: "/v1/deals", method: .post, headers: headers(bearer: key), body: ByteBuffer(string: body)) { response in
                    try expectError(response, .badRequest, "invalid_request", field: field)
                }
            }
            try await client.execute(uri: "/v1/deals/\(deal)", method: .delete, headers: headers(bearer: key, json: false)) { response in
                #expect(response.status == .ok)
            }
            try await client.execute(uri: "/v1/deals/\(deal)", method: .get, headers: headers(bearer: key)) { response in
                try expectError(response, .notFound, "not_found")
            }
        }
    }

    @Test("another tenant's ids are 404 on every CRM route, and change nothing")
    func otherTenantIsNotFound() async throws {
        try await withApp { client in
            let owner = try await seededTenant(client, senders: [(666_001, "Dana")])
            let intruder = try await createTenant(client)
            let contact = try #require(try await listData(client, "/v1/contacts", key: owner.tenant.key).first?["id"] as? String)
            let conversation = try #require(try await listData(client, "/v1/conversations", key: owner.tenant.key).first?["id"] as? String)
            let deal = try #require(try object(try await client.execute(
                uri: "/v1/deals", method: .post, headers: headers(bearer: owner.tenant.key), body: json(["contact_id": contact, "title": "Owner's deal"])
            ) { $0 })["id"] as? String)
            let intruderContact = try await seededTenant(client, senders: [(666_002, "Intruder")])

            let attempts: [(HTTPRequest.Method, String, ByteBuffer?)] = [
                (.get, "/v1/contacts/\(contact)", nil),
                (.patch, "/v1/contacts/\(contact)", json(["display_name": "hijacked"])),
                (.get, "/v1/contacts/\(contact)/notes", nil),
                (.post, "/v1/contacts/\(contact)/notes", json(["body": "planted"])),
                (.post, "/v1/contacts/\(contact)/merge", json(["contact_id": contact])),
                (.get, "/v1/conversations/\(conversation)", nil),
                (.get, "/v1/conversations/\(conversation)/messages", nil),
                (.post, "/v1/conversations/\(conversation)/close", nil),
                (.post, "/v1/conversations/\(conversation)/reopen", nil),
                (.get, "/v1/conversations?contact_id=\(contact)", nil),
                (.get, "/v1/conversations?channel_id=\(owner.channel)", nil),
                (.get, "/v1/deals/\(deal)", nil),
                (.patch, "/v1/deals/\(deal)", json(["stage": "lost"])),
                (.delete, "/v1/deals/\(deal)", nil),
                (.get, "/v1/deals?contact_id=\(contact)", nil),
                (.post, "/v1/deals", json(["contact_id": contact, "title": "stolen"])),
            ]
            for (method, uri, body) in attempts {
                try await client.execute(uri: uri, method: method, headers: headers(bearer: intruder.key, json: body != nil), body: body) { response in
                    #expect(response.status == .notFound, "\(method) \(uri)")
                    try expectError(response, .notFound, "not_found")
                }
            }
            // Merging another tenant's contact into one's own is 404 too.
            let own = try #require(try await listData(client, "/v1/contacts", key: intruderContact.tenant.key).first?["id"] as? String)
            try await client.execute(uri: "/v1/contacts/\(own)/merge", method: .post, headers: headers(bearer: intruderContact.tenant.key), body: json(["contact_id": contact])) { response in
                try expectError(response, .notFound, "not_found", field: "contact_id")
            }
            // Nothing changed for the owner.
            let after = try object(try await client.execute(uri: "/v1/contacts/\(contact)", method: .get, headers: headers(bearer: owner.tenant.key)) { $0 })
            #expect(after["display_name"] as? String == "Dana")
            #expect(try await listData(client, "/v1/contacts/\(contact)/notes", key: owner.tenant.key).isEmpty)
            #expect(try await listData(client, "/v1/deals", key: owner.tenant.key).first?["stage"] as? String == "new")
        }
    }
}
